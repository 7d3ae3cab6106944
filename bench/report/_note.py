"""The leaderboard as the study's note in optuna-dashboard."""

from __future__ import annotations

import optuna
import optuna_dashboard

from bench.storage import open_storage


def save_leaderboard_note(study_name: str, *, storage: str, markdown: str) -> None:
    """Write ``markdown`` as the study's note in optuna-dashboard (replacing the last one).

    Example:
        >>> from bench.report._example import example_storage
        >>> save_leaderboard_note("demo", storage=example_storage(), markdown="## bench report")
    """
    study = optuna.load_study(study_name=study_name, storage=open_storage(storage, create=False))
    optuna_dashboard.save_note(study, markdown)
