"""Run a study: spec -> Optuna study (sampler, pruner, storage) -> one trial per recipe and seed.

Every trial lands in an Optuna storage (SQLite by default; any RDB URL such as PostgreSQL
for workers on several machines) with its params, one intermediate value per epoch and
the record of :mod:`bench._record`, so that ``optuna-dashboard``, the ``optuna`` command
line and ``optuna.load_study`` all see it. By job:

- :mod:`bench.study._setup`: open or resume the study, its sampler and pruner;
- :mod:`bench.study._objective`: the objective and the policies that choose each
  trial's recipe and seed (seed copies, tuning slots);
- :mod:`bench.study._worker`: the worker loop and the shared budget;
- :mod:`bench.study._processes`: ``bench run``'s worker processes and signals;
- :mod:`bench.study._progress`: ``bench show``'s progress line.

Example:
    >>> from bench.spec import load_spec
    >>> run = prepare_run(load_spec("optimizers-fixed"), storage_url="sqlite:///:memory:")
    >>> run.counts().to_run
    40
"""

from bench.backend import default_jobs
from bench.study._objective import (
    DuplicateCell,
    SeedCopies,
    TrainFn,
    TrialError,
    TrialObjective,
    TrialReporter,
    TuningSlots,
)
from bench.study._processes import (
    WORKER_STOP_GRACE_S,
    PreparedRun,
    WorkersFailed,
    prepare_run,
)
from bench.study._progress import study_progress
from bench.study._setup import (
    RecipeGridSampler,
    StudyHandle,
    grid_space,
    make_pruner,
    make_sampler,
    open_study,
    study_backend,
    suggest,
    suggest_space,
)
from bench.study._worker import (
    WAIT_POLL_S,
    StorageFactory,
    run_worker,
    set_thread_budget,
    study_counts,
)

__all__ = [
    "WAIT_POLL_S",
    "WORKER_STOP_GRACE_S",
    "DuplicateCell",
    "PreparedRun",
    "RecipeGridSampler",
    "SeedCopies",
    "StorageFactory",
    "StudyHandle",
    "TrainFn",
    "TrialError",
    "TrialObjective",
    "TrialReporter",
    "TuningSlots",
    "WorkersFailed",
    "default_jobs",
    "grid_space",
    "make_pruner",
    "make_sampler",
    "open_study",
    "study_backend",
    "prepare_run",
    "run_worker",
    "set_thread_budget",
    "study_counts",
    "study_progress",
    "suggest",
    "suggest_space",
]
