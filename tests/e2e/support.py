"""A real Prefect stack for end-to-end tests: ``prefect server start``, the deployments, process workers.

Every process started here, and every process they start (flow runs), carries a marker in its environment;
:meth:`PrefectStack.stop` ends exactly those, by pid, even when the test failed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
PREFECT = str(REPO / ".venv" / "bin" / "prefect")
POOL = "compliance-pool"
_MARKER = "COMPLIANCE_E2E_STACK"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _marked_pids(marker: str) -> list[int]:
    """Pids of processes whose environment carries ``marker`` (ours and their children)."""
    found = []
    needle = f"{_MARKER}={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return found


class PrefectStack:
    """Server + worker processes sharing a temporary PREFECT_HOME.

    The server's database is SQLite in that folder unless ``database_url`` names another (e.g.
    ``postgresql+asyncpg://...``). ``workers`` process workers poll the same pool, ``worker_limit`` flow
    runs at a time each (``--limit``; None: no limit); worker ``n`` (from 1) is named ``e2e-worker-<n>`` and
    logs to ``logs/worker-<n>.log``.
    """

    def __init__(
        self,
        home: Path,
        worker_env: Mapping[str, str],
        *,
        database_url: str | None = None,
        workers: int = 1,
        worker_limit: int | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.home = home
        self.port = free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.marker = uuid.uuid4().hex
        self.worker_env = dict(worker_env)
        self.database_url = database_url or f"sqlite+aiosqlite:///{home / 'prefect.db'}"
        self.workers = workers
        self.worker_limit = worker_limit
        self.processes: list[subprocess.Popen[bytes]] = []
        self.worker_processes: list[subprocess.Popen[bytes]] = []
        self.logs = home / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PREFECT_", "TELNYX_", "COMPLIANCE_", "SANDBOX_"))
        }
        env |= {
            _MARKER: self.marker,
            "PREFECT_HOME": str(self.home),
            "PREFECT_API_URL": self.api_url,
            "PREFECT_API_DATABASE_CONNECTION_URL": self.database_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_UI_ENABLED": "false",
            # Runs are created by the test, never by schedules firing during it.
            "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
            "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
            "PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "0.5",
        }
        return env | extra

    def _start(self, name: str, *args: str, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [PREFECT, *args], cwd=REPO, env=dict(env), stdout=log, stderr=subprocess.STDOUT
        )
        self.processes.append(process)
        return process

    def run(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            [PREFECT, "--no-prompt", *args],
            cwd=REPO,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"prefect {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def make_deploy(self) -> str:
        """``make deploy``, as an operator runs it on a new server: it creates the work pool it needs."""
        done = subprocess.run(
            ["make", "--no-print-directory", "deploy"],
            cwd=REPO,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"make deploy failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    @staticmethod
    def worker_name(n: int) -> str:
        """The name worker ``n`` (from 1) registers under."""
        return f"e2e-worker-{n}"

    def log(self, name: str, tail: int | None = 6000) -> str:
        """The end of ``logs/<name>.log`` (all of it with ``tail=None``); ``"worker"`` is the first worker."""
        if name == "worker":
            name = "worker-1"
        path = self.logs / f"{name}.log"
        if not path.exists():
            return ""
        text = path.read_text(errors="replace")
        return text if tail is None else text[-tail:]

    def worker_logs(self, tail: int | None = 6000) -> dict[str, str]:
        """Every worker's log by worker name (``e2e-worker-<n>``)."""
        return {self.worker_name(n): self.log(f"worker-{n}", tail) for n in range(1, self.workers + 1)}

    def start(self) -> PrefectStack:
        server = self._start(
            "server", "server", "start", "--host", "127.0.0.1", "--port", str(self.port), env=self.env()
        )
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"prefect server exited:\n{self.log('server')}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"prefect server did not start:\n{self.log('server')}")
            time.sleep(0.5)
        self.make_deploy()
        worker_env = self.env(
            COMPLIANCE_PROJECT_DIR=str(REPO),
            PREFECT_WORKER_QUERY_SECONDS="1",
            PREFECT_WORKER_HEARTBEAT_SECONDS="5",
            **self.worker_env,
        )
        limit = ["--limit", str(self.worker_limit)] if self.worker_limit is not None else []
        for n in range(1, self.workers + 1):
            worker = self._start(
                f"worker-{n}",
                "worker",
                "start",
                "--pool",
                POOL,
                "--type",
                "process",
                "--name",
                self.worker_name(n),
                *limit,
                env=worker_env,
            )
            self.worker_processes.append(worker)
        self.wait_for_workers()
        return self

    def exited_workers(self) -> dict[str, int]:
        """Workers whose process has ended, with their exit codes (a worker must outlive every test)."""
        return {
            self.worker_name(n): code
            for n, process in enumerate(self.worker_processes, start=1)
            if (code := process.poll()) is not None
        }

    def online_workers(self) -> set[str]:
        """Names of the workers the server sees online in the pool."""
        response = httpx.post(f"{self.api_url}/work_pools/{POOL}/workers/filter", json={}, timeout=10)
        response.raise_for_status()
        return {worker["name"] for worker in response.json() if worker.get("status") == "ONLINE"}

    def wait_for_workers(self, timeout: float = 90) -> None:
        """Until every worker of this stack has registered with the server (a run created before then would
        go to whichever worker came up first)."""
        expected = {self.worker_name(n) for n in range(1, self.workers + 1)}
        deadline = time.monotonic() + timeout
        while not expected <= self.online_workers():
            if exited := self.exited_workers():
                raise RuntimeError(f"workers exited: {exited}\n{self.worker_logs()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"workers not online after {timeout}s:\n{self.worker_logs()}")
            time.sleep(0.5)

    def stop(self) -> None:
        """End every process of this stack (server, workers, flow runs), gently first."""
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            pids = _marked_pids(self.marker)
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + wait
            while _marked_pids(self.marker) and time.monotonic() < deadline:
                for process in self.processes:
                    process.poll()  # reap our direct children
                time.sleep(0.2)
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
