"""The Optuna dashboard: serve a storage's studies in the browser (``bench dashboard``).

The report saves its leaderboard as each study's note (``bench.report``); this module
only starts the server.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIServer, make_server

import optuna_dashboard

from bench.errors import BenchInputError
from bench.storage import open_storage

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication  # Python 3.11+


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

    ``announce`` gets the dashboard's address once the storage is open and the address
    bound. It binds to localhost by default: the dashboard can edit notes and delete studies,
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
    # Bound before it is announced: a taken port is the error line alone.
    server = _listen(optuna_dashboard.wsgi(opened), host=host, port=port)
    if announce is not None:
        announce(dashboard_url(host=host, port=port))
    # Ctrl-C is how the dashboard stops: not an error.
    with server, contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


class _IPv6Server(WSGIServer):
    address_family = socket.AF_INET6


def _listen(app: WSGIApplication, *, host: str, port: int) -> WSGIServer:
    """A WSGI server of ``app`` bound to ``host:port``, or the one-line error saying why not."""
    try:
        return make_server(host, port, app, server_class=_IPv6Server if ":" in host else WSGIServer)
    except OSError as exc:
        raise BenchInputError(
            f"--host/--port: cannot listen on {host}:{port} ({exc.strerror or exc}); "
            "pick another port with --port"
        ) from exc
