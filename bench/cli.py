"""The ``bench`` command line: argument parsing and printing only.

Every user mistake becomes one line on standard error and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from bench.commands import run_command, train_command
from bench.errors import DEBUG_ENV, EXIT_FAILURE, BenchInputError, describe_error
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
            help=f"{knob.describe_help()} [{knob.default}]; {knob.describe_valid()}",
        )


def _recipe_from_args(args: argparse.Namespace) -> Recipe:
    """The recipe file's knobs (``--recipe``), then the flags given, which win."""
    values: dict[str, Any] = {}
    if args.recipe is not None:
        from bench.spec import read_recipe_file

        values.update(read_recipe_file(args.recipe))
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
    parser.add_argument(
        "--label-noise",
        type=float,
        default=0.0,
        help="fraction of training labels flipped to another class, fixed by the split "
        "seed; validation and test labels are untouched [0]",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bench",
        description="Which optimizer, L2, weight decay, early stopping and learning-rate "
        "schedule make a Vision Transformer generalize best, and by how much.",
    )
    from bench import __version__

    parser.add_argument("--version", action="version", version=f"bench {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of an unexpected error (workers too)",
    )
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
    train.add_argument(
        "--recipe",
        metavar="FILE",
        type=Path,
        help="read the recipe from this TOML file of knobs ('bench best' writes one); "
        "recipe flags given too override its values",
    )
    train.add_argument(
        "--save",
        metavar="PATH.keras",
        type=Path,
        help="save the trained model, with the weights it kept, here "
        "(keras.saving.load_model reads it)",
    )
    _add_backend_flag(train)
    _add_recipe_flags(train)
    train.set_defaults(handler=_cmd_train)

    run = commands.add_parser(
        "run",
        help="run (or resume) a study: sweep recipes into an Optuna storage",
        description="Run or resume a study. Re-running the same command resumes it: "
        "finished trials are kept and the budget counts them.",
    )
    run.add_argument(
        "--study",
        required=True,
        help="a built-in study (see 'bench studies') or a path to a spec file",
    )
    _add_storage_flag(run)
    run.add_argument("--n-trials", type=int, help="trials to finish in all (default: the spec's)")
    run.add_argument("--timeout", type=float, help="stop starting trials after S seconds")
    run.add_argument(
        "--retries",
        type=int,
        help="times a trial whose worker died or raised is run again, across runs (default: "
        "the spec's, else 2); after them the trial ends as crashed",
    )
    run.add_argument("--epochs", type=int, help="override the spec's epochs (a quick run)")
    run.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="worker processes on this machine sharing the storage "
        "[one per core, at most one per trial left]",
    )
    run.add_argument("--dataset", help="override the spec's dataset")
    _add_backend_flag(run)
    run.set_defaults(handler=run_command)

    studies = commands.add_parser("studies", help="list the built-in studies")
    studies.set_defaults(handler=_cmd_studies)

    show = commands.add_parser("show", help="print a study's spec and how far it has run")
    show.add_argument("study", help="a built-in study or a path to a spec file")
    _add_storage_flag(show)
    show.set_defaults(handler=_cmd_show)

    report = commands.add_parser(
        "report",
        help="render tables and figures comparing a study's recipes",
        description="Write index.html, report.md, figures, trials.csv and summary.csv for "
        "each study, print its leaderboard, and save it as the study's dashboard note.",
    )
    report.add_argument(
        "--study",
        action="append",
        metavar="NAME",
        help="a study to report (repeatable; default: every study stored)",
    )
    _add_storage_flag(report)
    report.add_argument(
        "--out",
        default="reports",
        type=Path,
        help="folder for the reports, one subfolder per study [reports]",
    )
    report.set_defaults(handler=_cmd_report)

    best = commands.add_parser(
        "best",
        help="print the recipe of a study's top candidate as TOML",
        description="Print the recipe of the study's top candidate (the first of its "
        "leaderboard: ranked by the objective over the verdict seeds) or of --candidate, as "
        "TOML for 'bench train --recipe FILE' or a spec's [fixed] table.",
    )
    best.add_argument("--study", metavar="NAME", help="the study (default: the only one stored)")
    best.add_argument(
        "--candidate",
        metavar="C",
        help="a candidate (or recipe label) of the leaderboard instead of the top one",
    )
    _add_storage_flag(best)
    best.set_defaults(handler=_cmd_best)

    dashboard = commands.add_parser(
        "dashboard",
        help="browse the stored studies in optuna-dashboard",
    )
    _add_storage_flag(dashboard)
    dashboard.add_argument("--host", default="127.0.0.1", help="address to listen on [127.0.0.1]")
    dashboard.add_argument("--port", type=int, default=8080, help="port to listen on [8080]")
    dashboard.set_defaults(handler=_cmd_dashboard)
    return parser


def _add_backend_flag(parser: argparse.ArgumentParser) -> None:
    from bench.backend import BACKEND_ENV, BACKENDS, DEFAULT_BACKEND

    parser.add_argument(
        "--backend",
        metavar="{" + ",".join(BACKENDS) + "}",
        help=f"the Keras backend that trains [${BACKEND_ENV}, else $KERAS_BACKEND, else "
        f"{DEFAULT_BACKEND} where installed, else tensorflow]",
    )


def _add_storage_flag(parser: argparse.ArgumentParser) -> None:
    from bench.storage import DEFAULT_STORAGE, STORAGE_ENV

    parser.add_argument(
        "--storage",
        default=None,
        help=f"Optuna storage URL [${STORAGE_ENV} or {DEFAULT_STORAGE}]",
    )


def _cmd_train(args: argparse.Namespace) -> int:
    return train_command(args, recipe=_recipe_from_args(args))


def _cmd_studies(args: argparse.Namespace) -> int:
    from rich.table import Table

    from bench.console import make_console
    from bench.spec import builtin_spec_paths, load_spec

    table = Table(title="built-in studies (bench run --study NAME)")
    for column in ("study", "sampler", "trials", "description"):
        table.add_column(column)
    for name in builtin_spec_paths():
        spec = load_spec(name)
        looks = spec.tuning is not None and spec.tuning.second_look_seeds
        trials = f"up to {spec.total_trials}" if looks else str(spec.total_trials)
        sampler = spec.tuning.sampler if spec.tuning is not None else spec.sampler
        table.add_row(name, sampler, trials, spec.description)
    make_console().print(table)
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from bench.console import make_console
    from bench.spec import load_spec
    from bench.storage import default_storage_url
    from bench.study import study_progress

    spec = load_spec(args.study)
    progress = study_progress(spec, storage_url=args.storage or default_storage_url())
    console = make_console()
    console.print(f"[bold]{spec.name}[/]: {spec.description}  ({spec.source})")
    console.print_json(data=spec.to_dict())
    console.print(progress, markup=False, soft_wrap=True)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from bench.console import make_console
    from bench.report import leaderboard_table, verdict_headline, write_report
    from bench.results import list_study_names
    from bench.storage import default_storage_url, redact_url

    url = args.storage or default_storage_url()
    # Named studies must exist and hold trials; when none is named, every study that
    # holds trials is reported (one created by an interrupted first run has none).
    names = args.study or list_study_names(url, with_trials=True)
    if not names:
        raise BenchInputError(
            f"--storage {redact_url(url)}: holds no trials yet; run 'bench run' first"
        )
    out, err = make_console(), make_console(stderr=True)
    for name in names:
        result = write_report(name, storage=url, out_dir=args.out)
        if not result.leaderboard.empty:
            out.print(leaderboard_table(result.leaderboard, title=f"{name}: leaderboard"))
            out.print(
                verdict_headline(result.leaderboard, ranked_by=result.ranked_by),
                markup=False,
                soft_wrap=True,
            )
            if result.range_note:
                out.print(result.range_note, markup=False, soft_wrap=True)
        err.print(result.status_line, markup=False)
        for warning in result.warnings:
            err.print(f"[yellow]{warning}[/]")
    return 0


def _cmd_best(args: argparse.Namespace) -> int:
    from bench.report import best_recipe
    from bench.storage import default_storage_url

    best = best_recipe(
        storage=args.storage or default_storage_url(),
        study=args.study,
        candidate=args.candidate,
    )
    sys.stdout.write(best.to_toml())
    return 0


def _cmd_dashboard(args: argparse.Namespace) -> int:
    from bench.dashboard import serve_dashboard
    from bench.storage import default_storage_url, redact_url

    url = args.storage or default_storage_url()

    def announce(address: str) -> None:
        print(
            f"optuna-dashboard on {redact_url(url)}: {address} (Ctrl-C stops it)", file=sys.stderr
        )

    serve_dashboard(storage=url, host=args.host, port=args.port, announce=announce)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``bench`` command line; returns the exit status.

    Example:
        >>> main(["train", "--epochs", "0"])  # prints the error line on standard error
        2
    """
    try:
        args = build_parser().parse_args(argv)
    except BenchInputError as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.debug:
        os.environ[DEBUG_ENV] = "1"  # the worker processes inherit it
    try:
        if hasattr(args, "backend"):
            from bench.backend import choose_backend, use_backend

            # Before Keras loads; the worker processes inherit the choice.
            use_backend(choose_backend(args.backend))
        return args.handler(args)
    except BenchInputError as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as interrupt:
        from bench._signals import exit_status, signal_name

        print(f"bench: stopped by {signal_name(interrupt)}", file=sys.stderr)
        return exit_status(interrupt)
    except Exception as error:
        if os.environ.get(DEBUG_ENV) == "1":
            raise
        from bench.storage import default_storage_url, redact_url

        storage = getattr(args, "storage", None)
        shown = redact_url(storage or default_storage_url()) if hasattr(args, "storage") else None
        print(
            f"bench: error: {describe_error(error, shown)} (--debug shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
