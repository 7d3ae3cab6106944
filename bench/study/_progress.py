"""``bench show``: how far a spec's study has run in a storage, read without writing."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from bench._record import SPEC_HASH
from bench.spec import StudySpec
from bench.storage import is_missing_sqlite_file, open_storage, redact_url
from bench.study._setup import study_backend
from bench.study._worker import study_counts


def study_progress(spec: StudySpec, *, storage_url: str) -> str:
    """One line on how far the spec's study has run in a storage (reads, never creates)."""
    if is_missing_sqlite_file(storage_url):
        return f"not run yet: {redact_url(storage_url)} does not exist"
    storage = open_storage(storage_url, create=False)
    names = {s.study_name: s for s in optuna.get_all_study_summaries(storage)}
    content_hash = spec.content_hash()
    matching = [
        n
        for n in names
        if (n == spec.name or n.startswith(f"{spec.name}-v"))
        and SPEC_HASH.get(names[n].user_attrs) == content_hash
    ]
    if not matching:
        return f"not run yet in {redact_url(storage_url)}"
    study = optuna.load_study(study_name=matching[0], storage=storage)
    counts = {state.name.lower(): 0 for state in TrialState}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name.lower()] += 1
    progress = study_counts(study, spec, budget=spec.total_trials)
    shown = ", ".join(f"{n} {state}" for state, n in counts.items() if n)
    total = spec.total_trials
    return (
        f"study {matching[0]!r} in {redact_url(storage_url)}: {progress.finished} of {total} "
        f"trials done ({shown or 'no trials'}); backend {study_backend(study)}"
    )
