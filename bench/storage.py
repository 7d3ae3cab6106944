"""Where trials are stored: an Optuna RDB storage (SQLite by default, PostgreSQL across hosts)."""

from __future__ import annotations

import os
import random
import re
import time
import warnings
from pathlib import Path

import optuna

from bench._record import queued_copy_attrs
from bench.errors import BenchInputError

DEFAULT_STORAGE = "sqlite:///runs/bench.db"
STORAGE_ENV = "BENCH_STORAGE"
HEARTBEAT_INTERVAL_S = 20
HEARTBEAT_GRACE_S = 120


def default_storage_url() -> str:
    """``$BENCH_STORAGE`` if set, else an SQLite file ``runs/bench.db`` here."""
    return os.environ.get(STORAGE_ENV) or DEFAULT_STORAGE


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***``: the only form of a storage URL that
    bench prints, logs or writes into a report.

    Example:
        >>> redact_url("postgresql://alice:S3cr3t@db.example:5432/bench")
        'postgresql://alice:***@db.example:5432/bench'
        >>> redact_url("sqlite:///runs/bench.db")
        'sqlite:///runs/bench.db'
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        # Not a URL SQLAlchemy can parse; still never show what sits between ':' and '@'.
        return _USERINFO_PASSWORD.sub(r"\1***@", url)
    if parsed.password is None:
        return url  # rendering would re-quote it (sqlite:///:memory: gains %3A)
    return parsed.render_as_string(hide_password=True)


def _password(url: str) -> str | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).password
    except (ArgumentError, ValueError):
        return None


_USERINFO_PASSWORD = re.compile(r"^([^:/?#]+://[^:@/]*:)[^@/]*@")


def _sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL, or None for another database or an in-memory one."""
    sqlite_prefix = "sqlite:///"
    path_text = url[len(sqlite_prefix) :].split("?", 1)[0]
    if url.startswith(sqlite_prefix) and path_text not in ("", ":memory:"):
        return Path(path_text)
    return None


def is_missing_sqlite_file(url: str) -> bool:
    """True for an SQLite URL whose file does not exist (nothing has been run there).

    Example:
        >>> is_missing_sqlite_file("sqlite:///no/such/bench.db"), is_missing_sqlite_file("sqlite:///:memory:")
        (True, False)
    """
    path = _sqlite_file(url)
    return path is not None and not path.is_file()


def open_storage(url: str, *, create: bool = True) -> optuna.storages.RDBStorage:
    """An Optuna RDB storage with heartbeats; stale trials are put back in the queue.

    ``create`` makes the folder of an SQLite file; reading commands pass False so that a
    mistyped path is reported instead of creating an empty database.

    Example:
        >>> storage = open_storage("sqlite:///:memory:")
    """
    path = _sqlite_file(url)
    if path is not None:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.is_file():
            # Optuna would silently create an empty database at a mistyped path.
            raise BenchInputError(f"--storage {redact_url(url)}: no database file at {path}")
    # SQLite serialises writers; wait for a busy database instead of failing. pysqlite's
    # own BEGIN is turned off: _serialize_sqlite_transactions issues BEGIN IMMEDIATE.
    sqlite = url.startswith("sqlite")
    engine_kwargs = {"connect_args": {"timeout": 60, "isolation_level": None}} if sqlite else {}
    try:
        foreign = _foreign_tables(url, engine_kwargs)
        if foreign:
            raise BenchInputError(
                f"--storage {redact_url(url)}: a database of another application (tables "
                f"{', '.join(foreign[:5])}{', ...' if len(foreign) > 5 else ''}); expected an "
                "Optuna storage or a new, empty database"
            )
        storage = _rdb_storage(url, engine_kwargs)
        if sqlite:
            _serialize_sqlite_transactions(storage.engine)
        return storage
    except BenchInputError:
        raise
    except ImportError:
        driver = url.split(":", 1)[0]
        raise BenchInputError(
            f"--storage {redact_url(url)}: no database driver for {driver!r} is installed; for "
            "PostgreSQL: pip install 'psycopg[binary]'"
        ) from None
    except Exception as error:  # SQLAlchemy raises many types for a bad URL or server
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        password = _password(url)
        if password:
            first_line = first_line.replace(password, "***")
        raise BenchInputError(
            f"--storage {redact_url(url)}: cannot open ({first_line}); expected an Optuna RDB "
            "URL such as sqlite:///runs/bench.db or postgresql://user:pass@host/db"
        ) from None


#: Optuna's own tables; a database with tables but none of these is another application's.
_OPTUNA_TABLES = frozenset({"studies", "trials", "version_info", "alembic_version"})
#: Attempts at opening a storage whose schema other workers are creating at the same time.
_SCHEMA_RACE_ATTEMPTS = 6


def _rdb_storage(url: str, engine_kwargs: dict) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage, retried while other workers create the same tables.

    PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe between connections: workers
    started together on an empty database collide on the catalog's unique index.
    """
    import sqlalchemy.exc

    for attempt in range(_SCHEMA_RACE_ATTEMPTS):
        try:
            with warnings.catch_warnings():
                # Heartbeats are marked experimental in Optuna; they are what we want here.
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    url,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=HEARTBEAT_INTERVAL_S,
                    grace_period=HEARTBEAT_GRACE_S,
                    heartbeat_stale_trial_callback=retry_callback(max_retry=2),
                )
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
            if attempt == _SCHEMA_RACE_ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.2, 1.0) * (attempt + 1))
    raise AssertionError("unreachable")


def _serialize_sqlite_transactions(engine) -> None:
    """Start every transaction of ``engine`` (SQLite, pysqlite's own BEGIN turned off)
    with BEGIN IMMEDIATE, after Optuna has set up its tables (SQLAlchemy's pysqlite recipe).

    Why: SQLite has no SELECT ... FOR UPDATE, so with pysqlite's deferred BEGIN two workers
    can both read a queued trial as WAITING and both mark it RUNNING: Optuna's hand-off
    of queued trials then runs one trial twice, and the second ``tell`` fails. Taking the
    write lock when the transaction begins makes that read-then-write atomic. The
    listener is registered once, on the Engine class, and acts on engines marked with an
    execution option: a per-engine listener leaves a weak-reference callback that runs
    whenever an engine is collected, where a Ctrl-C could land and print a traceback.
    """
    global _LISTENING
    if not _LISTENING:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "begin", _begin_immediate)
        _LISTENING = True
    engine.update_execution_options(**{_BEGIN_IMMEDIATE: True})


def _begin_immediate(connection) -> None:
    if connection.get_execution_options().get(_BEGIN_IMMEDIATE):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


_BEGIN_IMMEDIATE = "bench_begin_immediate"
_LISTENING = False


def _foreign_tables(url: str, engine_kwargs: dict) -> list[str]:
    """The tables of a database that holds tables but is not an Optuna storage, else [].

    Optuna would add its own tables beside another application's; bench refuses instead.
    """
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, **engine_kwargs)
    try:
        names = sqlalchemy.inspect(engine).get_table_names()
    finally:
        engine.dispose()
    # Any Optuna table counts: another worker may be creating the rest right now.
    return [] if not names or set(names) & _OPTUNA_TABLES else sorted(names)


def retry_callback(*, max_retry: int | None) -> optuna.storages.RetryHeartbeatStaleTrialCallback:
    """Optuna's callback that queues a copy of a trial that died: same params, seed and
    slot, but not the dead worker's identity (see :func:`bench._record.queued_copy_attrs`).

    Example:
        >>> import optuna
        >>> study = optuna.create_study()
        >>> dead = optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL,
        ...                                  user_attrs={"seed": 1, "pid": 4242})
        >>> study.add_trial(dead)
        >>> retry_callback(max_retry=None)(study, study.trials[0])
        >>> study.trials[1].state.name, study.trials[1].user_attrs
        ('WAITING', {'seed': 1})
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return _RetryCallback(max_retry=max_retry)


class _RetryCallback(optuna.storages.RetryHeartbeatStaleTrialCallback):
    # Optuna's callback copies every user attribute; a copy that carried the dead
    # worker's host and pid would be judged stale by another worker while it runs.
    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        copy = optuna.trial.FrozenTrial(
            number=trial.number,
            state=trial.state,
            value=None,
            values=trial.values,
            datetime_start=trial.datetime_start,
            datetime_complete=trial.datetime_complete,
            params=trial.params,
            distributions=trial.distributions,
            user_attrs=queued_copy_attrs(trial.user_attrs),
            system_attrs=trial.system_attrs,
            intermediate_values=trial.intermediate_values,
            trial_id=trial._trial_id,
        )
        super().__call__(study, copy)
