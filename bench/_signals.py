"""SIGTERM handled like Ctrl-C, so a supervisor's stop ends trials the same clean way.

``timeout``, schedulers and service managers stop a program with SIGTERM, whose default
action kills the process where it stands. Raised as :class:`StopRequested` (a
``KeyboardInterrupt``), it unwinds like Ctrl-C instead: Optuna marks the running trial
failed, the trial is queued again, and the exit status says which signal it was.

Example:
    >>> import signal
    >>> exit_status(StopRequested(signal.SIGTERM)), exit_status(KeyboardInterrupt())
    (143, 130)
"""

from __future__ import annotations

import signal
import threading
from types import FrameType


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


def stop_on_sigterm() -> None:
    """From now on SIGTERM raises :class:`StopRequested` in this process's main thread.

    Only the main thread may set a signal handler; elsewhere this does nothing.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_stop_requested)


def _raise_stop_requested(signum: int, frame: FrameType | None) -> None:
    # A second SIGTERM ends the process at once, like a second Ctrl-C: should library
    # code swallow the first stop (a bare ``except:``), the process can still be stopped.
    signal.signal(signum, signal.SIG_DFL)
    raise StopRequested(signum)
