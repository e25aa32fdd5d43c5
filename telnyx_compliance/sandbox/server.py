"""Running the sandbox: ``serve`` for the CLI, ``SandboxServer`` (a background thread) for tests and demos.

Both refuse to listen beyond loopback without API keys (``hardening.check_exposure``), and tell the app
which interface and URL it serves: URL uploads from private hosts are allowed on loopback only by default, the
``Host`` allow-list includes that interface, and download links start with that URL (unless
``public_base_url`` says otherwise).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from .app import create_app
from .config import SandboxConfig
from .hardening import check_exposure, is_loopback_host


def _root_url(host: str, port: int) -> str:
    """``http://host:port``, an IPv6 address in brackets."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


def _uvicorn_config(config: SandboxConfig, host: str, port: int, log_level: str) -> uvicorn.Config:
    # h11 explicitly: the drop faults close the connection through its transport (see faults.py).
    return uvicorn.Config(
        create_app(config, host=host, root_url=_root_url(host, port)),
        host=host,
        port=port,
        log_level=log_level,
        http="h11",
        lifespan="on",
        access_log=False,
        timeout_graceful_shutdown=2,
    )


def serve(
    config: SandboxConfig, host: str = "127.0.0.1", port: int = 4010, log_level: str = "warning"
) -> None:
    """Serve the sandbox until Ctrl-C; prints the base URL to point ``TELNYX_BASE_URL`` at.

    Raises ``ExposureError`` (a ``ValueError``) before binding when ``host`` is not loopback and no API key
    is configured.
    """
    check_exposure(config, host)
    server = uvicorn.Server(_uvicorn_config(config, host, port, log_level))
    keys = "its API keys only" if config.api_keys else "any API key"
    print(
        f"Telnyx compliance sandbox on {_root_url(host, port)}/v2 (seed {config.seed}, {keys}); "
        "Ctrl-C stops it.",
        flush=True,
    )
    if config.public_base_url is None and not is_loopback_host(host):
        print(
            f"Download links point at {_root_url(host, port)}: set SANDBOX_PUBLIC_BASE_URL to the URL "
            "clients reach this sandbox on.",
            flush=True,
        )
    # uvicorn handles SIGINT itself; the suppress covers a second Ctrl-C during shutdown.
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    print("Sandbox stopped.", flush=True)


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class SandboxServer:
    """A sandbox on a free port in a background thread: ``with SandboxServer(config) as sandbox: ...``.

    Its helpers (``stats``, ``configure``, ``reset``...) send ``api_key`` when keys are configured (any key
    otherwise) and JSON bodies, as the admin routes that change state require.
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        startup_timeout: float = 15.0,
    ) -> None:
        self.config = config or SandboxConfig()
        check_exposure(self.config, host)
        self.host = host
        self.port = port or _free_port(host)
        self.startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._http: httpx.Client | None = None

    @property
    def root_url(self) -> str:
        """Where it serves (and what its download links start with, unless ``public_base_url`` is set)."""
        return _root_url(self.host, self.port)

    @property
    def base_url(self) -> str:
        """What a Telnyx client takes as ``base_url``."""
        return f"{self.root_url}/v2"

    @property
    def api_key(self) -> str | None:
        """The first configured key (what the helpers send), or None when any key is accepted."""
        return self.config.api_keys[0] if self.config.api_keys else None

    @property
    def auth_headers(self) -> dict[str, str]:
        """``Authorization`` for ``/v2`` and the admin routes: the first configured key, else any key."""
        return {"Authorization": f"Bearer {self.api_key or 'sandbox'}"}

    def start(self) -> SandboxServer:
        server = uvicorn.Server(_uvicorn_config(self.config, self.host, self.port, "error"))
        self._server = server
        self._thread = threading.Thread(target=server.run, name=f"sandbox:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"The sandbox failed to start on {self.root_url}.")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(
                    f"The sandbox did not start on {self.root_url} within {self.startup_timeout}s."
                )
            time.sleep(0.01)
        self._http = httpx.Client(base_url=self.root_url, timeout=10, headers=self.auth_headers)
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._server = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- sandbox-only routes --------------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        if self._http is None:
            raise RuntimeError("The sandbox is not running; use it as a context manager or call start().")
        response = self._http.request(method, f"/_sandbox{path}", **kwargs)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        """Requests by route and status, faults, resources by type, duplicates (``GET /_sandbox/stats``)."""
        return dict(self._call("GET", "/stats"))

    def configure(self, **knobs: Any) -> dict[str, Any]:
        """Change fault knobs at run time (``PATCH /_sandbox/config``); returns every knob's value."""
        return dict(self._call("PATCH", "/config", json=knobs)["data"])

    def verification_code(self, phone_number: str) -> str:
        return str(self._call("GET", f"/verification_codes/{phone_number}")["data"]["verification_code"])

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox clock forward: drives approval, expiry and TTLs without sleeping."""
        self._call("POST", "/clock/advance", json={"seconds": seconds})

    def reset(self) -> None:
        """Back to an empty store and zeroed stats (``POST /_sandbox/reset``)."""
        self._call("POST", "/reset", json={})
