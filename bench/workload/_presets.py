"""The presets of the shared ViT: its sizes, declared once (no Keras import here)."""

from __future__ import annotations

from dataclasses import dataclass

from bench.errors import BenchInputError


@dataclass(frozen=True, kw_only=True)
class Preset:
    """The size of the shared ViT.

    Example:
        >>> p = PRESETS["keras-io"]
        >>> p.num_patches, p.block_mlp_units
        (144, (128, 64))
    """

    name: str
    image_size: int
    patch_size: int
    projection_dim: int
    num_heads: int
    num_layers: int
    block_mlp_units: tuple[int, ...]
    head_units: tuple[int, ...]
    description: str

    @property
    def num_patches(self) -> int:
        """Patches per image: ``(image_size // patch_size) ** 2``."""
        return (self.image_size // self.patch_size) ** 2


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            name="tiny",
            image_size=16,
            patch_size=4,
            projection_dim=32,
            num_heads=2,
            num_layers=2,
            block_mlp_units=(64, 32),
            head_units=(64,),
            description="the CPU default: an epoch on digits in about a second",
        ),
        Preset(
            name="small",
            image_size=32,
            patch_size=4,
            projection_dim=64,
            num_heads=4,
            num_layers=4,
            block_mlp_units=(128, 64),
            head_units=(256,),
            description="a few times tiny; still trains on a CPU",
        ),
        Preset(
            name="keras-io",
            image_size=72,
            patch_size=6,
            projection_dim=64,
            num_heads=4,
            num_layers=8,
            block_mlp_units=(128, 64),
            head_units=(2048, 1024),
            description="the Keras ViT example's size (21M parameters at 100 classes)",
        ),
    )
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; an unknown name raises :class:`BenchInputError`.

    Example:
        >>> get_preset("small").image_size
        32
        >>> get_preset("huge")
        Traceback (most recent call last):
        ...
        bench.errors.BenchInputError: preset 'huge': unknown; expected one of tiny, small, keras-io
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise BenchInputError(
            f"preset {name!r}: unknown; expected one of {', '.join(PRESETS)}"
        ) from None
