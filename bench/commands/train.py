"""``bench train`` on the command line: one recipe trained on a workload, each epoch
shown, its summary printed, and the model and result written where asked (parsing is in
:mod:`bench.cli`).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
from pathlib import Path
from typing import Any

from bench._schema import SPLITS
from bench.errors import BenchInputError
from bench.recipe import Recipe


def _write_json_atomically(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=1, allow_nan=True))
    os.replace(tmp, path)


def _check_writable_target(path: Path, flag: str) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise BenchInputError(f"{flag} {path}: folder {parent} does not exist")
    if path.is_dir():
        raise BenchInputError(f"{flag} {path}: is a folder; expected a file path")


def train_command(args: argparse.Namespace, *, recipe: Recipe) -> int:
    """``bench train``: train one recipe, show each epoch, print its summary; ``--save``
    writes the model with its kept weights and ``--json`` the result."""
    from bench._signals import stop_on_sigterm

    stop_on_sigterm(sigint=True)  # training stops cleanly; the dashboard keeps the defaults
    if args.json is not None:
        _check_writable_target(args.json, "--json")
    from bench.workload import check_model_path, load_workload, save_model

    if args.save is not None:
        check_model_path(args.save, flag="--save")
    from bench.backend import KERAS_BACKEND_ENV
    from bench.console import EpochDisplay, stderr_console, trial_summary_table
    from bench.trial import run_trial

    with stderr_console.status(f"loading {args.dataset}"):
        workload = load_workload(
            args.dataset,
            preset=args.preset,
            split_seed=args.split_seed,
            train_size=args.train_size,
            label_noise=args.label_noise,
        )
    sizes = {split: len(getattr(workload.dataset, split).x) for split in SPLITS}
    stderr_console.print(
        f"[bold]{args.dataset}[/]: {workload.dataset.task}, "
        f"{len(workload.dataset.class_names)} classes, train/val/test = "
        f"{sizes['train']}/{sizes['val']}/{sizes['test']}; preset {args.preset}; "
        f"optimizer {recipe.optimizer} lr {recipe.learning_rate:g}, schedule {recipe.schedule}; "
        f"backend {os.environ.get(KERAS_BACKEND_ENV)}"
    )
    save = None if args.save is None else functools.partial(save_model, path=args.save)
    with EpochDisplay(epochs=recipe.epochs) as display:
        result = run_trial(workload, recipe, on_epoch=display.epoch_ended, on_kept=save).to_dict()
        display.finished(result["epochs_run"])
    if args.save is not None:
        result["saved_model"] = str(args.save)
        stderr_console.print(
            f"wrote {args.save} (the model, with the weights of epoch {result['kept_epoch']})",
            markup=False,
            soft_wrap=True,
        )
    from bench.console import make_console

    make_console().print(trial_summary_table(result))
    if args.json is not None:
        _write_json_atomically(args.json, result)
        stderr_console.print(f"wrote {args.json}")
    return 0
