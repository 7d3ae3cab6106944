"""The workload: what stays fixed while recipes are compared."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.workload._dataset import Dataset
from bench.workload._load import load_dataset
from bench.workload._presets import Preset, get_preset

DEFAULT_DATASET = "digits"
DEFAULT_PRESET = "tiny"


@dataclass(frozen=True)
class Workload:
    """A dataset with its fixed splits and task, and the ViT preset that learns it.

    Example:
        >>> w = load_workload("digits", preset="tiny")
        >>> w.dataset.task, w.preset.name
        ('binary', 'tiny')
        >>> w.describe()["dataset"], w.describe()["label_noise"]
        ('digits', 0.0)
    """

    dataset: Dataset
    preset: Preset

    def describe(self) -> dict[str, Any]:
        """JSON-able facts about the workload, stored with every trial."""
        return {**self.dataset.describe(), "dataset": self.dataset.name, "preset": self.preset.name}


def load_workload(
    dataset: str = DEFAULT_DATASET,
    *,
    preset: str = DEFAULT_PRESET,
    split_seed: int = 0,
    train_size: int | None = None,
    label_noise: float = 0.0,
) -> Workload:
    """Load ``dataset`` at the size ``preset`` needs, split with ``split_seed``.

    The split seed belongs to the workload, not the recipe: every trial of a study sees
    the same train / validation / test images, whatever its own seed, and the same
    flipped training labels when ``label_noise`` is set (see :func:`load_dataset`).

    Example:
        >>> w = load_workload("digits", train_size=200, label_noise=0.05)
        >>> w.dataset.input_shape, w.describe()["label_noise"]
        ((16, 16, 1), 0.05)
    """
    vit = get_preset(preset)
    data = load_dataset(
        dataset,
        image_size=vit.image_size,
        seed=split_seed,
        train_size=train_size,
        label_noise=label_noise,
    )
    return Workload(dataset=data, preset=vit)
