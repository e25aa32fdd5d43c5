"""A sandbox in its own process for benchmarks, so its CPU does not compete with the code being measured."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SandboxProcess:
    """``compliance sandbox`` as a subprocess: ``with SandboxProcess(latency_ms=50, rate_limit=100) as s``."""

    def __init__(self, **knobs: float | int | str) -> None:
        self.port = free_port()
        self.knobs = knobs
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v2"

    def __enter__(self) -> SandboxProcess:
        command = [sys.executable, "-m", "telnyx_compliance.cli", "sandbox", "--port", str(self.port)]
        for name, value in self.knobs.items():
            command += [f"--{name.replace('_', '-')}", str(value)]
        # The bench owns its sandbox: none of the caller's SANDBOX_* settings (keys, faults) leak in.
        env = {name: value for name, value in os.environ.items() if not name.startswith("SANDBOX_")}
        self._process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                stderr = self._process.stderr.read().decode() if self._process.stderr else ""
                raise RuntimeError(f"sandbox exited early: {stderr}")
            try:
                httpx.get(f"{self.root_url}/_sandbox/health", timeout=1).raise_for_status()
                return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("sandbox did not start within 30 s")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()

    def stats(self) -> dict[str, Any]:
        response = httpx.get(f"{self.root_url}/_sandbox/stats", timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def reset(self) -> None:
        httpx.post(f"{self.root_url}/_sandbox/reset", json={}, timeout=10).raise_for_status()
