"""The shared ViT: its presets, its L2 penalty and the Keras example's parameter count."""

from __future__ import annotations

import numpy as np
import pytest

from bench._keras import keras
from bench.workload import PRESETS, build_vit


def _keras_io_reference(num_classes: int) -> keras.Model:
    """The Keras ViT example's classifier (72x72x3 input, patch 6, 8 layers), built apart."""
    layers, ops = keras.layers, keras.ops
    image_size, patch, dim, heads = 72, 6, 64, 4
    num_patches = (image_size // patch) ** 2

    class Patches(layers.Layer):
        def call(self, images):
            p = ops.image.extract_patches(images, size=patch)
            return ops.reshape(p, (ops.shape(p)[0], num_patches, p.shape[-1]))

    class Encoder(layers.Layer):
        def __init__(self):
            super().__init__()
            self.projection = layers.Dense(dim)
            self.position = layers.Embedding(num_patches, dim)

        def call(self, x):
            return self.projection(x) + self.position(ops.arange(num_patches))

    def mlp(x, units, rate):
        for u in units:
            x = layers.Dropout(rate)(layers.Dense(u, activation="gelu")(x))
        return x

    inputs = keras.Input((image_size, image_size, 3))
    x = Encoder()(Patches()(inputs))
    for _ in range(8):
        h = layers.LayerNormalization(epsilon=1e-6)(x)
        h = layers.MultiHeadAttention(num_heads=heads, key_dim=dim, dropout=0.1)(h, h)
        x = layers.Add()([h, x])
        h = mlp(layers.LayerNormalization(epsilon=1e-6)(x), [dim * 2, dim], 0.1)
        x = layers.Add()([h, x])
    x = layers.Dropout(0.5)(layers.Flatten()(layers.LayerNormalization(epsilon=1e-6)(x)))
    x = mlp(x, [2048, 1024], 0.5)
    return keras.Model(inputs, layers.Dense(num_classes)(x))


def _trainable(model: keras.Model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def test_keras_io_preset_has_the_keras_example_parameter_count():
    ours = build_vit(PRESETS["keras-io"], channels=3, num_outputs=100, task="multiclass")
    assert _trainable(ours) == _trainable(_keras_io_reference(100))


@pytest.mark.parametrize(
    ("task", "outputs", "activation"),
    [("binary", 1, "sigmoid"), ("multiclass", 4, "softmax"), ("multilabel", 3, "sigmoid")],
)
def test_output_layer_matches_the_task(task, outputs, activation):
    model = build_vit(PRESETS["tiny"], channels=1, num_outputs=outputs, task=task)
    out = model.get_layer("output")
    assert out.units == outputs and out.activation.__name__ == activation
    probs = model.predict(np.random.default_rng(0).random((2, 16, 16, 1), "float32"), verbose=0)
    if task == "multiclass":
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_l2_adds_one_regularization_loss_per_mlp_dense_layer():
    preset = PRESETS["tiny"]
    plain = build_vit(preset, channels=1, num_outputs=1, task="binary")
    assert plain.losses == []
    model = build_vit(
        preset, channels=1, num_outputs=1, task="binary", regularizer=keras.regularizers.L2(0.01)
    )
    dense_in_mlps = preset.num_layers * len(preset.block_mlp_units) + len(preset.head_units)
    assert len(model.losses) == dense_in_mlps
    kernels = [
        layer.kernel
        for layer in model.layers
        if isinstance(layer, keras.layers.Dense) and "_mlp_" in layer.name
    ]
    expected = sum(0.01 * float(np.sum(keras.ops.convert_to_numpy(k) ** 2)) for k in kernels)
    got = sum(float(keras.ops.convert_to_numpy(v)) for v in model.losses)
    assert got == pytest.approx(expected, rel=1e-4)
