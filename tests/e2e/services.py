"""Real backing services for end-to-end tests: a PostgreSQL 15 server and a local S3 endpoint (moto).

Both are started on free loopback ports in temporary folders and torn down by ``stop()`` (or by leaving the
``with`` block), also after a failed test; their logs are part of every error they raise.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from .support import REPO, free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_USER = "postgres"  # the OS user the server runs as (PostgreSQL refuses root), and its superuser role
MOTO_SERVER = str(REPO / ".venv" / "bin" / "moto_server")


def _tail(path: Path, chars: int = 6000) -> str:
    with contextlib.suppress(OSError):
        return path.read_text(errors="replace")[-chars:]
    return ""


class PostgresCluster:
    """A throw-away PostgreSQL 15 cluster: ``with PostgresCluster() as pg: pg.url``.

    ``initdb`` and ``pg_ctl`` run as the ``postgres`` OS user (we run as root, which PostgreSQL refuses), on a
    data folder in a temporary folder that user owns. The server listens on 127.0.0.1 only, on a free port,
    with its unix socket in that folder too; local connections are trusted (no password). ``start()``
    creates ``database``.
    """

    def __init__(self, database: str = "prefect", *, bin_dir: Path = PG_BIN, user: str = PG_USER) -> None:
        self.database = database
        self.bin_dir = bin_dir
        self.user = user
        self.port = free_port()
        self.root: Path | None = None
        self._running = False

    # -- paths ------------------------------------------------------------------------------------------

    def _root(self) -> Path:
        if self.root is None:
            raise RuntimeError("The PostgreSQL cluster is not started.")
        return self.root

    @property
    def data_dir(self) -> Path:
        return self._root() / "data"

    @property
    def socket_dir(self) -> Path:
        return self._root() / "socket"

    @property
    def log_path(self) -> Path:
        return self._root() / "postgres.log"

    @property
    def url(self) -> str:
        """What ``PREFECT_API_DATABASE_CONNECTION_URL`` takes (asyncpg, over TCP on loopback)."""
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def log(self) -> str:
        return _tail(self.log_path) if self.root is not None else ""

    # -- running ------------------------------------------------------------------------------------------

    def _as_user(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """A PostgreSQL program run as ``self.user``; raises with its output and the server log on failure."""
        command = ["runuser", "-u", self.user, "--", str(self.bin_dir / args[0]), *args[1:]]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PGHOST": str(self.socket_dir),
            "PGPORT": str(self.port),
            "PGUSER": self.user,
        }
        done = subprocess.run(
            command,
            cwd=self._root(),  # readable by the postgres user, unlike the checkout perhaps
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n"
                f"server log:\n{self.log()}"
            )
        return done

    def start(self) -> PostgresCluster:
        if self._running:
            return self
        account = pwd.getpwnam(self.user)
        # Not under pytest's basetemp: that folder is root's, mode 0700, and the postgres user must reach it.
        self.root = Path(tempfile.mkdtemp(prefix="e2e-postgres-"))
        self.socket_dir.mkdir()
        for path in (self.root, self.socket_dir):
            os.chown(path, account.pw_uid, account.pw_gid)
        try:
            self._as_user(
                "initdb",
                "--pgdata",
                str(self.data_dir),
                "--username",
                self.user,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            )
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.socket_dir} "
                # A test database: durability is not needed, speed is.
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            self._as_user(
                "pg_ctl",
                "--pgdata",
                str(self.data_dir),
                "--log",
                str(self.log_path),
                "--options",
                options,
                "--wait",
                "--timeout",
                "60",
                "start",
            )
            self._running = True
            self._as_user("createdb", "--owner", self.user, self.database)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown, then immediate, then SIGKILL) and delete its folder."""
        if self.root is None:
            return
        pid_file = self.data_dir / "postmaster.pid"
        if pid_file.exists():
            for mode in ("fast", "immediate"):
                with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                    self._as_user(
                        "pg_ctl", "--pgdata", str(self.data_dir), "--mode", mode, "--wait", "stop", timeout=30
                    )
                if not pid_file.exists():
                    break
            else:
                with contextlib.suppress(OSError, ValueError, IndexError):
                    os.kill(int(pid_file.read_text().split()[0]), 9)
        self._running = False
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class MotoS3:
    """moto in server mode: a real S3 endpoint over HTTP on a free loopback port, with dummy credentials.

    ``env()`` is what a process needs to reach it (boto3, aiobotocore and s3fs read ``AWS_ENDPOINT_URL``).
    """

    ACCESS_KEY = "e2e-access-key"
    SECRET_KEY = "e2e-secret-key"
    REGION = "us-east-1"

    def __init__(self, log_dir: Path | None = None) -> None:
        self.port = free_port()
        self.log_dir = log_dir
        self.log_path: Path | None = None
        self._own_dir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": self.SECRET_KEY,
            "AWS_DEFAULT_REGION": self.REGION,
        }

    def log(self) -> str:
        return _tail(self.log_path) if self.log_path is not None else ""

    def start(self, timeout: float = 30) -> MotoS3:
        if self.process is not None:
            return self
        if self.log_dir is None:
            self._own_dir = self.log_dir = Path(tempfile.mkdtemp(prefix="e2e-moto-"))
        self.log_path = self.log_dir / "moto.log"
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AWS_", "PREFECT_", "TELNYX_", "COMPLIANCE_", "SANDBOX_"))
        }
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [MOTO_SERVER, "-H", "127.0.0.1", "-p", str(self.port)],
                cwd=self.log_dir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"moto_server exited ({self.process.returncode}):\n{self.log()}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{self.endpoint_url}/moto-api/data.json", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"moto_server did not answer within {timeout}s:\n{self.log()}")
                time.sleep(0.2)
        except BaseException:
            self.stop()
            raise
        return self

    def client(self) -> Any:
        """A boto3 S3 client for this endpoint."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.ACCESS_KEY,
            aws_secret_access_key=self.SECRET_KEY,
            region_name=self.REGION,
        )

    def filesystem(self) -> Any:
        """An ``s3fs.S3FileSystem`` for this endpoint (what fsspec uses for ``s3://`` URLs), uncached."""
        import s3fs

        return s3fs.S3FileSystem(
            endpoint_url=self.endpoint_url,
            key=self.ACCESS_KEY,
            secret=self.SECRET_KEY,
            client_kwargs={"region_name": self.REGION},
            skip_instance_cache=True,
        )

    def create_bucket(self, name: str) -> str:
        """Create bucket ``name``; returns its URL prefix, ``s3://name``."""
        self.client().create_bucket(Bucket=name)
        return f"s3://{name}"

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)
            self._own_dir = self.log_dir = self.log_path = None

    def __enter__(self) -> MotoS3:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
