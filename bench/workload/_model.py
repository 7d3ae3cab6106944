"""The shared Vision Transformer, in the shape of the Keras ViT example and the seed notebook.

patches -> projection + learned position embedding -> N blocks (LayerNorm -> multi-head
attention -> residual -> LayerNorm -> MLP -> residual) -> LayerNorm -> Flatten -> Dropout ->
MLP head -> output. Every MLP Dense layer carries the recipe's L2 kernel regularizer.
Built from ``keras.layers`` and ``keras.ops`` only. Its two layers of its own are
registered with Keras (package ``bench``), so a saved model loads with
``keras.saving.load_model`` alone, once bench is imported; each ``get_config`` holds
every argument of its constructor.
"""

from __future__ import annotations

from bench._keras import keras
from bench._schema import Task
from bench.workload._presets import Preset

layers, ops = keras.layers, keras.ops


@keras.saving.register_keras_serializable(package="bench")
class Patches(layers.Layer):
    """Cuts images into flattened, non-overlapping square patches.

    Example:
        >>> import numpy as np
        >>> tuple(Patches(4)(np.zeros((2, 16, 16, 3), "float32")).shape)
        (2, 16, 48)
    """

    def __init__(self, patch_size: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.patch_size = patch_size

    def call(self, images):
        patches = ops.image.extract_patches(images, size=self.patch_size)
        batch = ops.shape(patches)[0]
        rows, cols, dims = patches.shape[1], patches.shape[2], patches.shape[3]
        return ops.reshape(patches, (batch, rows * cols, dims))

    def get_config(self) -> dict:
        return {**super().get_config(), "patch_size": self.patch_size}


@keras.saving.register_keras_serializable(package="bench")
class PatchEncoder(layers.Layer):
    """Projects each patch and adds a learned position embedding.

    Example:
        >>> import numpy as np
        >>> tuple(PatchEncoder(16, 32)(np.zeros((2, 16, 48), "float32")).shape)
        (2, 16, 32)
    """

    def __init__(self, num_patches: int, projection_dim: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_patches = num_patches
        self.projection_dim = projection_dim
        self.projection = layers.Dense(projection_dim)
        self.position_embedding = layers.Embedding(num_patches, projection_dim)

    def build(self, input_shape) -> None:
        self.projection.build(input_shape)
        self.position_embedding.build((self.num_patches,))
        super().build(input_shape)

    def call(self, patches):
        positions = ops.expand_dims(ops.arange(0, self.num_patches), axis=0)
        return self.projection(patches) + self.position_embedding(positions)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_patches": self.num_patches,
            "projection_dim": self.projection_dim,
        }


def mlp(x, *, units: tuple[int, ...], dropout: float, regularizer, name: str):
    """Dense + GELU + Dropout per entry of ``units``, each Dense with the L2 regularizer.

    Example:
        >>> x = mlp(keras.Input((8,)), units=(16, 4), dropout=0.1, regularizer=None, name="m")
        >>> x.shape
        (None, 4)
    """
    for i, width in enumerate(units):
        x = layers.Dense(
            width, activation="gelu", kernel_regularizer=regularizer, name=f"{name}_dense{i}"
        )(x)
        x = layers.Dropout(dropout, name=f"{name}_dropout{i}")(x)
    return x


def augmentation(*, seed: int) -> keras.Sequential:
    """Random flip, rotation and zoom as in the Keras ViT example (training only).

    Example:
        >>> [type(layer).__name__ for layer in augmentation(seed=0).layers]
        ['RandomFlip', 'RandomRotation', 'RandomZoom']
    """
    return keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomRotation(factor=0.02, seed=seed),
            layers.RandomZoom(height_factor=0.2, width_factor=0.2, seed=seed),
        ],
        name="augmentation",
    )


def build_vit(
    preset: Preset,
    *,
    channels: int,
    num_outputs: int,
    task: Task,
    dropout: float = 0.1,
    head_dropout: float = 0.5,
    regularizer: keras.regularizers.Regularizer | None = None,
    augment: bool = False,
    seed: int = 0,
) -> keras.Model:
    """The shared ViT for inputs of ``preset.image_size`` squared with ``channels`` channels.

    The output is a sigmoid for ``binary`` and ``multilabel`` tasks and a softmax for
    ``multiclass``.

    Example:
        >>> from bench.workload import PRESETS
        >>> m = build_vit(PRESETS["tiny"], channels=1, num_outputs=10, task="multiclass")
        >>> m.input_shape, m.output_shape, m.get_layer("output").activation.__name__
        ((None, 16, 16, 1), (None, 10), 'softmax')
    """
    size = preset.image_size
    inputs = keras.Input(shape=(size, size, channels), name="image")
    x = augmentation(seed=seed)(inputs) if augment else inputs
    x = Patches(preset.patch_size, name="patches")(x)
    x = PatchEncoder(preset.num_patches, preset.projection_dim, name="patch_encoder")(x)
    for i in range(preset.num_layers):
        h = layers.LayerNormalization(epsilon=1e-6, name=f"block{i}_norm1")(x)
        h = layers.MultiHeadAttention(
            num_heads=preset.num_heads,
            key_dim=preset.projection_dim,
            dropout=dropout,
            name=f"block{i}_attention",
        )(h, h)
        x = layers.Add(name=f"block{i}_add1")([h, x])
        h = layers.LayerNormalization(epsilon=1e-6, name=f"block{i}_norm2")(x)
        h = mlp(
            h,
            units=preset.block_mlp_units,
            dropout=dropout,
            regularizer=regularizer,
            name=f"block{i}_mlp",
        )
        x = layers.Add(name=f"block{i}_add2")([h, x])
    x = layers.LayerNormalization(epsilon=1e-6, name="head_norm")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(head_dropout, name="head_dropout")(x)
    x = mlp(
        x, units=preset.head_units, dropout=head_dropout, regularizer=regularizer, name="head_mlp"
    )
    activation = "softmax" if task == "multiclass" else "sigmoid"
    outputs = layers.Dense(num_outputs, activation=activation, name="output")(x)
    return keras.Model(inputs, outputs, name=f"vit_{preset.name}")
