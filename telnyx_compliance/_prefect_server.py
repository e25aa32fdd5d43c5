"""A temporary Prefect API server for one command, started at once and without importing Prefect.

Without ``PREFECT_API_URL`` Prefect starts a temporary server itself, but only when the first flow runs, and
only after ``import prefect``: 5-15 s on a small machine before anything else happens. ``compliance onboard``
starts the same server (Prefect's own ``create_app`` under uvicorn, as Prefect's ephemeral mode does) as
the command's very first step, in another process, so it boots while the CSV is read and rows are sent.
The flow then talks to it at :attr:`PrefectServerProcess.api_url` (the command sets Prefect's
``PREFECT_API_URL`` setting to it for its own context); it is stopped when the command ends. Its runs are
kept in ``PREFECT_HOME``'s database, like Prefect's own temporary server's.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

__all__ = ["PrefectServerProcess"]

STARTUP_TIMEOUT = 120.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _lower_priority() -> None:
    os.nice(10)


class PrefectServerProcess:
    """``with PrefectServerProcess.unless_configured() as server: ... await server.ready()``."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self._process: subprocess.Popen[bytes] | None = None

    @classmethod
    def unless_configured(cls) -> PrefectServerProcess | None:
        """A server to start, or None when ``PREFECT_API_URL`` names one already."""
        return None if os.environ.get("PREFECT_API_URL") else cls()

    def start(self) -> None:
        spec = importlib.util.find_spec("prefect")
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError("Prefect is not installed")
        package_parent = Path(next(iter(spec.submodule_search_locations))).parent
        environment = {
            **os.environ,
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(package_parent),
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            # Bookkeeping, not the work: on a small machine its start-up must not take CPU from the rows.
            preexec_fn=_lower_priority,
        )

    async def ready(self, timeout: float = STARTUP_TIMEOUT) -> None:  # noqa: ASYNC109 - a start-up deadline
        """Wait until the server answers its health check (without blocking the event loop)."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self._process is not None and self._process.poll() is not None:
                    stderr = self._process.stderr
                    error = stderr.read().decode(errors="replace") if stderr is not None else ""
                    raise RuntimeError(f"Prefect's server exited on start-up: {error[-2000:]}")
                try:
                    if (await client.get(f"{self.api_url}/health")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"Prefect's server did not answer within {timeout:.0f} s")

    def stop(self, *, wait: bool = True) -> None:
        """Stop the server; ``wait=False`` only signals it (a command about to exit need not wait)."""
        if self._process is not None:
            self._process.terminate()
            if wait:
                try:
                    self._process.wait(10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            self._process = None

    def __enter__(self) -> PrefectServerProcess:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
