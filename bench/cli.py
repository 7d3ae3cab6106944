"""The ``bench`` command line: argument parsing and printing only.

Every user mistake becomes one line on standard error and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from bench.errors import BenchInputError
from bench.recipe import Knob, Recipe, knobs
from bench.workload import DEFAULT_DATASET, DEFAULT_PRESET, PRESETS

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (not usage + message) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise BenchInputError(f"{self.prog}: {message}")


def _flag(knob: Knob) -> str:
    return "--" + knob.name.replace("_", "-")


def _add_recipe_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("recipe (every knob; defaults in brackets)")
    for knob in knobs():
        group.add_argument(
            _flag(knob),
            dest=f"recipe_{knob.name}",
            metavar=knob.type.__name__.upper()
            if knob.choices is None
            else "{" + ",".join(map(str, knob.choices)) + "}",
            help=f"{knob.help} [{knob.default}]; {knob.describe_valid()}",
        )


def _recipe_from_args(args: argparse.Namespace) -> Recipe:
    values = {}
    for knob in knobs():
        raw = getattr(args, f"recipe_{knob.name}")
        if raw is not None:
            values[knob.name] = knob.check(raw, source=_flag(knob))
    return Recipe(**values)


def _add_workload_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset",
        default=DEFAULT_DATASET,
        help=f"digits (embedded, binary), digits10, folder:PATH or npz:PATH [{DEFAULT_DATASET}]",
    )
    parser.add_argument(
        "--preset",
        default=DEFAULT_PRESET,
        choices=list(PRESETS),
        help=f"size of the shared ViT [{DEFAULT_PRESET}]",
    )
    parser.add_argument(
        "--train-size",
        type=int,
        default=None,
        help="use this many training images (stratified subset)",
    )
    parser.add_argument(
        "--split-seed", type=int, default=0, help="seed of the train/val/test split [0]"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bench",
        description="Which optimizer, L2, weight decay, early stopping and learning-rate "
        "schedule make a Vision Transformer generalize best, and by how much.",
    )
    from bench import __version__

    parser.add_argument("--version", action="version", version=f"bench {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    train = commands.add_parser(
        "train",
        help="train one recipe once and print its summary",
        description="Train the shared ViT with one recipe, keep the weights early stopping "
        "chose, evaluate every split and print a summary.",
    )
    _add_workload_flags(train)
    train.add_argument(
        "--json",
        metavar="OUT",
        type=Path,
        help="write the full result (history, metrics, predictions) here",
    )
    _add_recipe_flags(train)
    train.set_defaults(handler=_cmd_train)
    return parser


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


def _cmd_train(args: argparse.Namespace) -> int:
    recipe = _recipe_from_args(args)
    if args.json is not None:
        _check_writable_target(args.json, "--json")
    from bench.console import (
        EpochProgressCallback,
        epoch_progress,
        stderr_console,
        trial_summary_table,
    )
    from bench.trial import run_trial
    from bench.workload import load_workload

    with stderr_console.status(f"loading {args.dataset}"):
        workload = load_workload(
            args.dataset,
            preset=args.preset,
            split_seed=args.split_seed,
            train_size=args.train_size,
        )
    sizes = {name: len(getattr(workload.dataset, name).x) for name in ("train", "val", "test")}
    stderr_console.print(
        f"[bold]{args.dataset}[/]: {workload.dataset.task}, "
        f"{len(workload.dataset.class_names)} classes, train/val/test = "
        f"{sizes['train']}/{sizes['val']}/{sizes['test']}; preset {args.preset}; "
        f"optimizer {recipe.optimizer} lr {recipe.learning_rate:g}, schedule {recipe.schedule}"
    )
    with epoch_progress() as progress:
        task = progress.add_task("epoch", total=recipe.epochs, metrics="")
        result = run_trial(
            workload, recipe, callbacks=[EpochProgressCallback(progress, task)]
        ).to_dict()
        progress.update(task, total=result["epochs_run"])
    from rich.console import Console

    Console().print(trial_summary_table(result))
    if args.json is not None:
        _write_json_atomically(args.json, result)
        stderr_console.print(f"wrote {args.json}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``bench`` command line; returns the exit status.

    Example:
        >>> main(["train", "--epochs", "0"])  # doctest: +SKIP
        bench: error: --epochs: got '0'; expected an integer >= 1 and <= 10000
        2
    """
    try:
        args = build_parser().parse_args(argv)
        return args.handler(args)
    except BenchInputError as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
