"""``bench run`` on the command line: start or resume a study, show its progress, print
its leaderboard, and say how to resume when stopped (parsing is in :mod:`bench.cli`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bench.errors import EXIT_FAILURE, BenchInputError


def run_command(args: argparse.Namespace) -> int:
    """``bench run``: run the spec's remaining trials, then print the leaderboard."""
    import datetime

    from bench import study as studies
    from bench._signals import at_safe_points, stop_on_sigterm

    stop_on_sigterm(sigint=True)  # a supervisor's stop queues the running trials again
    from bench.spec import load_spec
    from bench.storage import default_storage_url, redact_url

    if args.jobs is not None and args.jobs < 1:
        raise BenchInputError(f"--jobs: got {args.jobs}; expected an integer >= 1")
    spec = load_spec(args.study).with_overrides(
        epochs=args.epochs,
        dataset=args.dataset,
        n_trials=args.n_trials,
        timeout=args.timeout,
        retries=args.retries,
    )
    url = args.storage or default_storage_url()
    shown_url = redact_url(url)
    from bench.console import StudyDisplay, stderr_console

    with at_safe_points():  # a stop mid-query would print the driver's traceback
        run = studies.prepare_run(spec, storage_url=url)
    handle, budget, counts = run.handle, run.budget, run.counts()
    jobs = args.jobs or studies.default_jobs(trials_left=counts.to_run)
    if handle.renamed_from:
        stderr_console.print(
            f"[yellow]study {handle.renamed_from!r} in {shown_url} was run with a different "
            f"spec; this spec runs as {handle.name!r}[/]",
            markup=True,
            soft_wrap=True,
        )
    verb = "created" if handle.created else "resuming"
    stderr_console.print(
        f"{verb} study [bold]{handle.name}[/] ({spec.description}): {counts.finished} of "
        f"{budget} trials done"
        + (f", {counts.running} running" if counts.running else "")
        + (", at most" if spec.tuning and spec.tuning.second_look_seeds else ",")
        + f" {counts.to_run} to run"
        + (f", {run.requeued} interrupted trial(s) queued again" if run.requeued else "")
        + f"; {jobs} worker(s), backend {run.backend}",
        soft_wrap=True,
    )
    started = datetime.datetime.now()
    if counts.to_run or counts.running:
        try:
            with StudyDisplay(
                total=budget,
                finished=counts.finished,
                metric=spec.objective.metric,
                direction=spec.objective.direction,
            ) as display:
                run.run_remaining(jobs=jobs, reporter=display)
        except KeyboardInterrupt as interrupt:
            return _interrupted(run, interrupt, args)
        except studies.WorkersFailed as failed:
            print(f"bench: error: {failed}; the study is kept, rerun to resume", file=sys.stderr)
            return EXIT_FAILURE
    left = run.counts().to_run
    print_leaderboard(handle.name, url)
    if left and spec.budget.timeout is not None:
        print(
            f"bench: --timeout {spec.budget.timeout:g} s reached: {budget - left} of {budget} "
            f"trials done, {left} to run; resume with: {_resume_command(args)}",
            file=sys.stderr,
        )
    stderr_console.print(
        f"results: {shown_url} (study {handle.name!r}). Open them with "
        f"'bench report --study {handle.name} --storage {shown_url}' or "
        f"'optuna-dashboard {shown_url}'.",
        soft_wrap=True,
        markup=False,
    )
    errored = run.errored_trials(since=started)
    if errored:
        shown = "; ".join(f"trial {number}: {error}" for number, error in errored)
        print(
            f"bench: {len(errored)} trial(s) failed with an error ({shown}); each error and "
            f"its traceback are stored in the trial's user attribute 'error'",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    return 0


def _interrupted(run: Any, interrupt: KeyboardInterrupt, args: argparse.Namespace) -> int:
    """Queue the stopped trials again and say how to resume; the exit status names the signal."""
    from bench._signals import exit_status, signal_name

    queued = run.recover()
    print(
        f"bench: stopped by {signal_name(interrupt)}; {queued} interrupted trial(s) queued "
        f"again; resume with: {_resume_command(args)}",
        file=sys.stderr,
    )
    return exit_status(interrupt)


def _resume_command(args: argparse.Namespace) -> str:
    """The command that resumes this run's study (its storage's password hidden)."""
    from bench.storage import redact_url

    resume = ["bench", "run", "--study", args.study]
    if args.storage:
        resume += ["--storage", redact_url(args.storage)]
    return " ".join(resume)


def print_leaderboard(study_name: str, url: str) -> None:
    """The study's leaderboard and its headline on standard output."""
    from bench.console import make_console
    from bench.report import (
        leaderboard_table,
        range_edge_note,
        study_leaderboard,
        unranked_recipes,
        verdict_headline,
    )

    board = study_leaderboard(study_name, storage=url)
    if board.empty:
        make_console(stderr=True).print(f"study {study_name!r} has no finished trials to rank yet")
    else:
        out = make_console()
        out.print(leaderboard_table(board, title=f"{study_name}: leaderboard"))
        out.print(verdict_headline(board), markup=False, soft_wrap=True)
        note = range_edge_note(study_name, storage=url)
        if note:
            out.print(note, markup=False, soft_wrap=True)
    for label, why in unranked_recipes(study_name, storage=url).items():
        print(f"not ranked, no seed counts: {label}: {why}", file=sys.stderr)
