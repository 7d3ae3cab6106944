"""The Optuna dashboard: serve a storage's studies in the browser (``bench dashboard``).

The report saves its leaderboard as each study's note (``bench.report``); this module
only starts the server.
"""

from __future__ import annotations

from collections.abc import Callable

import optuna_dashboard

from bench.errors import BenchInputError
from bench.storage import open_storage


def dashboard_url(*, host: str = "127.0.0.1", port: int = 8080) -> str:
    """Where the dashboard started by :func:`serve_dashboard` answers.

    Example:
        >>> dashboard_url(host="127.0.0.1", port=8080)
        'http://127.0.0.1:8080/dashboard/'
    """
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/dashboard/"


def serve_dashboard(
    *,
    storage: str,
    host: str = "127.0.0.1",
    port: int = 8080,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Run optuna-dashboard on ``storage`` until interrupted (Ctrl-C).

    ``announce`` gets the dashboard's address once the port and the storage are checked.
    It binds to localhost by default: the dashboard can edit notes and delete studies,
    so exposing it (``host="0.0.0.0"``) is the user's explicit choice.

    Raises:
        BenchInputError: If the storage cannot be opened, the port is out of range, or
            the address cannot be bound (e.g. the port is taken).

    Example:
        ``serve_dashboard(storage="sqlite:///runs/bench.db")`` serves until Ctrl-C; its
        arguments are checked before anything is opened:

        >>> serve_dashboard(storage="sqlite:///runs/bench.db", port=0)
        Traceback (most recent call last):
        ...
        bench.errors.BenchInputError: --port: got 0; expected an integer from 1 to 65535
    """
    if not 0 < port < 65536:
        raise BenchInputError(f"--port: got {port}; expected an integer from 1 to 65535")
    opened = open_storage(storage, create=False)
    if announce is not None:
        announce(dashboard_url(host=host, port=port))
    try:
        optuna_dashboard.run_server(opened, host=host, port=port)
    except OSError as exc:
        raise BenchInputError(
            f"--host/--port: cannot listen on {host}:{port} ({exc.strerror or exc}); "
            "pick another port with --port"
        ) from exc
