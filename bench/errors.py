"""The one error type a user can cause, and how the command line reports errors."""

from __future__ import annotations

#: The exit status of a run that failed (a trial's error, a worker's, the storage's);
#: what finished is kept.
EXIT_FAILURE = 1


class BenchInputError(ValueError):
    """Bad user input: a bad flag value, dataset, path or study spec.

    The command line prints the message as one line and exits with status 2, so the
    message must name the input and say what would be valid.

    Example:
        >>> raise BenchInputError("--epochs: got 0; expected an integer >= 1")
        Traceback (most recent call last):
        ...
        bench.errors.BenchInputError: --epochs: got 0; expected an integer >= 1
    """


#: Set to 1 (``bench --debug`` does) to see the traceback of an unexpected error.
DEBUG_ENV = "BENCH_DEBUG"


def describe_error(error: BaseException, storage: str | None = None) -> str:
    """One line on an unexpected error: a storage failure names ``storage`` (the URL as
    shown, its password already hidden) and the database's own words; anything else its
    type and message.

    Example:
        >>> import sqlite3
        >>> from sqlalchemy.exc import OperationalError
        >>> cause = sqlite3.OperationalError("database or disk is full")
        >>> full = OperationalError("INSERT ...", {}, cause)
        >>> describe_error(full, "sqlite:///runs/bench.db")
        'storage sqlite:///runs/bench.db failed: database or disk is full'
        >>> describe_error(ZeroDivisionError("division by zero"))
        'ZeroDivisionError: division by zero'
    """
    from sqlalchemy.exc import SQLAlchemyError

    # Optuna can mask a storage error it met while ending a trial with an assertion of
    # its own ("Should not reach."); the storage's error is then in the chain.
    for link in _chain(error):
        if isinstance(link, SQLAlchemyError):
            cause = getattr(link, "orig", None) or link
            where = f"storage {storage}" if storage else "the storage"
            return f"{where} failed: {str(cause).splitlines()[0]}"
    return f"{type(error).__name__}: {error}"


def _chain(error: BaseException) -> list[BaseException]:
    links: list[BaseException] = []
    link: BaseException | None = error
    while link is not None and link not in links:
        links.append(link)
        link = link.__cause__ or link.__context__
    return links
