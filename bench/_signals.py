"""SIGTERM handled like Ctrl-C, so a supervisor's stop ends trials the same clean way.

``timeout``, schedulers and service managers stop a program with SIGTERM, whose default
action kills the process where it stands. Raised as :class:`StopRequested` (a
``KeyboardInterrupt``), it unwinds like Ctrl-C instead: Optuna marks the running trial
failed, the trial is queued again, and the exit status says which signal it was.

While a study runs (inside :func:`at_safe_points`), a signal is only noted, and it is
raised at the next safe point (:func:`raise_if_stop_requested`: between two batches,
between two trials, while waiting): an exception raised at an arbitrary instruction
inside TensorFlow's step or a database driver's fetch can corrupt the interpreter's
state (``SystemError: ... bad argument to internal function``) or print the driver's own
traceback. A second signal of the same kind acts at once.

Example:
    >>> import signal
    >>> exit_status(StopRequested(signal.SIGTERM)), exit_status(KeyboardInterrupt())
    (143, 130)
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

_deferring = 0
_pending: int | None = None


class StopRequested(KeyboardInterrupt):
    """A stop asked for by a signal; ``signum`` says which."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def exit_status(interrupt: KeyboardInterrupt) -> int:
    """128 plus the signal number, as shells report a process ended by a signal."""
    return 128 + getattr(interrupt, "signum", signal.SIGINT)


def signal_name(interrupt: KeyboardInterrupt) -> str:
    """``SIGINT`` or ``SIGTERM``: the signal behind ``interrupt``."""
    return signal.Signals(getattr(interrupt, "signum", signal.SIGINT)).name


def stop_on_sigterm(*, sigint: bool = False) -> None:
    """From now on SIGTERM (and with ``sigint`` Ctrl-C too) raises :class:`StopRequested`
    in this process's main thread, at once or, while training, at its next safe point.

    Only the main thread may set a signal handler; elsewhere this does nothing.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop_requested)
        if sigint:
            signal.signal(signal.SIGINT, _stop_requested)


@contextmanager
def at_safe_points() -> Iterator[None]:
    """Within this block a stop signal waits for :func:`raise_if_stop_requested`.

    Example:
        >>> import os
        >>> stop_on_sigterm()
        >>> with at_safe_points():
        ...     os.kill(os.getpid(), signal.SIGTERM)  # noted, not raised here
        ...     try:
        ...         raise_if_stop_requested()
        ...     except StopRequested as stop:
        ...         print("stopped by", stop)
        stopped by SIGTERM
        >>> _ = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    """
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
    raise_if_stop_requested()


def raise_if_stop_requested() -> None:
    """Raise the stop a signal asked for while it waited for a safe point, if any."""
    global _pending
    if _pending is not None:
        signum, _pending = _pending, None
        raise StopRequested(signum)


def sleep_until_stopped(seconds: float, *, until: Callable[[], bool] | None = None) -> None:
    """Sleep ``seconds``, raising a stop that a signal asked for meanwhile within 0.2 s;
    with ``until``, wake as soon as it returns True (it is asked as often).

    Example:
        >>> sleep_until_stopped(0.01)
        >>> sleep_until_stopped(60, until=lambda: True)
    """
    deadline = time.monotonic() + seconds
    while True:
        raise_if_stop_requested()
        left = deadline - time.monotonic()
        if left <= 0 or (until is not None and until()):
            return
        time.sleep(min(0.2, left))


def _stop_requested(signum: int, frame: FrameType | None) -> None:
    global _pending
    # A second signal of the kind ends the process at once (SIGTERM) or raises at once
    # (Ctrl-C): should library code swallow the first stop, the process can still stop.
    if signum == signal.SIGTERM:
        signal.signal(signum, signal.SIG_DFL)
    else:
        signal.signal(signum, signal.default_int_handler)
    if _deferring:
        _pending = signum
        return
    raise StopRequested(signum)
