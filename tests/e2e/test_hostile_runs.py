"""Hostile runs from the UI's run forms, through a real Prefect server and one process worker on default
settings (the data root is the project's ``data/``), as docs/safety.md's trust model promises:

* every run naming something outside the data root, a hidden path, code, a non-results file or a planted
  snapshot ends Failed with a clear message, before anything is read or sent;
* runs that stay inside the data root complete, and nothing from their hostile cells reaches the results
  file as a control character;
* afterwards the worker's checkout, ``.venv`` and settings are byte-for-byte what they were.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.objects import FlowRun
from prefect.settings import PREFECT_API_URL, temporary_settings

from telnyx_compliance import AsyncTelnyx
from telnyx_compliance.onboarding.mapping import RequirementMapping
from telnyx_compliance.onboarding.template import fake_rows, fetch_requirements
from telnyx_compliance.sandbox import SandboxConfig, SandboxServer
from tests.support import count_writes

from .support import REPO, PrefectStack

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]

BULK = "bulk_onboard/bulk-onboard"
CATALOG = "sync_requirements_catalog/sync-requirements-catalog"
ONE = "onboard_customer/onboard-customer"
SECRET = "KEYsecret0123456789"
#: Folders the manifest skips: caches any Python or tool run writes (the rules forbid *our* writes there,
#: which the suite checks on the files that matter: code, the venv's packages and settings).
_VOLATILE = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", ".prefect"}


def _manifest(root: Path, skip: Path) -> dict[str, str]:
    """Every file under ``root`` but ``skip`` and caches: its content's sha256 (size and mtime in the big
    installed trees, whose files nobody edits)."""
    found: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = [d for d in dirs if d not in _VOLATILE and here / d != skip]
        heavy = any(part in {".venv", "node_modules", ".uv", ".git"} for part in here.relative_to(root).parts)
        for name in files:
            path = here / name
            relative = str(path.relative_to(root))
            try:
                if path.is_symlink():
                    found[relative] = "link:" + os.readlink(path)
                elif heavy:
                    stat = path.stat()
                    found[relative] = f"{stat.st_size}:{stat.st_mtime_ns}"
                else:
                    found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError as error:  # a file that vanished between listing and reading
                found[relative] = f"error:{error.errno}"
    return found


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(seed=21, approve_after=0.5)) as server:
        yield server


@pytest.fixture(scope="module")
def batch() -> Iterator[Path]:
    """This module's folder in the worker's data root (``make install`` creates ``data/``)."""
    folder = REPO / "data" / f"e2e-hostile-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def stack(
    sandbox: SandboxServer, batch: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrefectStack]:
    # Default settings but the API: no COMPLIANCE_INPUT_ROOT, no storage roots.
    worker_env = {
        "TELNYX_BASE_URL": sandbox.base_url,
        "TELNYX_API_KEY": "e2e-hostile-key",
        "COMPLIANCE_APPROVAL_POLL_INTERVAL": "0.2",
        "COMPLIANCE_APPROVAL_POLL_MAX_INTERVAL": "0.5",
    }
    # A few runs at a time: twenty flow-run processes at once overload SQLite on two cores (503s).
    stack = PrefectStack(tmp_path_factory.mktemp("prefect-home-hostile"), worker_env, worker_limit=4)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture
async def prefect(stack: PrefectStack) -> AsyncIterator[PrefectClient]:
    with temporary_settings({PREFECT_API_URL: stack.api_url}):
        async with get_client() as client:
            yield client


async def _runs(
    client: PrefectClient, stack: PrefectStack, runs: list[tuple[str, dict[str, Any]]], timeout: float = 300
) -> list[FlowRun]:
    """Start every run at once (the worker takes them together) and wait until all are final."""
    created = []
    for deployment, parameters in runs:
        found = await client.read_deployment_by_name(deployment)
        created.append(await client.create_flow_run_from_deployment(found.id, parameters=parameters))
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        finished = [await client.read_flow_run(run.id) for run in created]
        if all(run.state is not None and run.state.is_final() for run in finished):
            return finished
        if asyncio.get_running_loop().time() > deadline:
            pending = [run.name for run in finished if run.state is None or not run.state.is_final()]
            raise AssertionError(f"runs {pending} not final after {timeout}s\n{stack.log('worker')}")
        await asyncio.sleep(1)


async def _hostile_csv(sandbox: SandboxServer, folder: Path) -> Path:
    """Two valid DE rows, and three invalid rows whose ``customer_reference`` cells carry a newline followed
    by Python (a ``.pth`` file runs such a line), a terminal escape and rich markup."""
    async with AsyncTelnyx(api_key="e2e", base_url=sandbox.base_url) as client:
        requirements = await fetch_requirements(client, "DE", "local", "ordering")
    rows = fake_rows(requirements, RequirementMapping.load(), 2, folder, 5, country="DE")
    columns = list(dict.fromkeys(key for row in rows for key in row))
    marker = folder / "pwned"
    hostile = [
        f"x\nimport os; open({str(marker)!r}, 'w').write('ran')",
        "y\r\x1b]8;;http://evil.example\x07click\x1b]8;;\x07\x1b[2J",
        "z\n[bold red]markup[/]\u202eevil",
    ]
    path = folder / "hostile.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        for reference in hostile:
            writer.writerow({"customer_reference": reference, "country_code": "DE"})
    return path


async def test_hostile_parameters_touch_nothing_outside_the_data_root(
    prefect: PrefectClient, stack: PrefectStack, sandbox: SandboxServer, batch: Path, tmp_path: Path
) -> None:
    hostile = str((await _hostile_csv(sandbox, batch)).relative_to(REPO / "data"))
    name = batch.name
    site_packages = next((REPO / ".venv" / "lib").glob("python3*/site-packages"))
    (batch / "venv-link").symlink_to(site_packages, target_is_directory=True)
    planted = batch / "planted" / "catalog"
    planted.mkdir(parents=True)
    (planted / "latest.json").write_text(json.dumps({"taken_at": [f"TELNYX_API_KEY={SECRET}"]}), "utf-8")
    anywhere = tmp_path / f"anywhere-{uuid.uuid4().hex[:6]}"
    before = _manifest(REPO, skip=batch)
    assert (
        not (REPO / ".env").exists() or "TELNYX_BASE_URL=http://attacker" not in (REPO / ".env").read_text()
    )
    env_before = (REPO / ".env").read_bytes() if (REPO / ".env").exists() else None
    writes_before = count_writes(sandbox.stats())

    venv = site_packages.relative_to(REPO)

    def one(document: str) -> dict[str, Any]:
        return {"request": {"customer_reference": "hostile-one", "country_code": "DE",
                            "documents": {"proof_of_address": document}}}  # fmt: skip

    refused: list[tuple[str, dict[str, Any], str]] = [
        # The table: a results file that becomes code, or configuration.
        (BULK, {"csv_path": hostile, "out": f"{venv}/zz.pth"}, "hidden files and folders are refused"),
        (BULK, {"csv_path": hostile, "out": f"../{venv}/zz.pth"}, "outside the data root"),
        (BULK, {"csv_path": hostile, "out": str(site_packages / "zz.csv")}, "outside the data root"),
        (BULK, {"csv_path": hostile, "out": ".env"}, "hidden files and folders are refused"),
        (BULK, {"csv_path": hostile, "out": "../.env"}, "outside the data root"),
        (BULK, {"csv_path": hostile, "out": f"{name}/zz.pth"}, "must be named *.csv"),
        (BULK, {"csv_path": hostile, "out": hostile}, "exists and is not a results CSV"),
        (BULK, {"csv_path": hostile, "out": f"{name}/venv-link/zz.csv"}, "symbolic link"),
        (BULK, {"csv_path": hostile, "out": "../deployments/prefect.csv"}, "outside the data root"),
        # Reads outside the data root.
        (BULK, {"csv_path": "/etc/passwd"}, "outside the data root"),
        (BULK, {"csv_path": "../.env"}, "outside the data root"),
        (BULK, {"csv_path": "../pyproject.toml"}, "outside the data root"),
        (BULK, {"csv_path": hostile, "only_failed": "../.git/config"}, "outside the data root"),
        (BULK, {"csv_path": "s3://someone-elses-bucket/customers.csv"}, "(none configured"),
        # The catalog's state folder.
        (CATALOG, {"state_dir": str(anywhere)}, "outside the data root"),
        (CATALOG, {"state_dir": "../.git"}, "outside the data root"),
        (CATALOG, {"state_dir": ".state"}, "hidden files and folders are refused"),
        (CATALOG, {"state_dir": f"{name}/planted"}, "not a catalog snapshot written by this pipeline"),
        # One customer's documents.
        (ONE, one("../.env"), "outside the data root"),
        (ONE, one("/etc/passwd"), "outside the data root"),
        (ONE, one(".env"), "hidden files and folders are refused"),
    ]
    finished = await _runs(
        prefect, stack, [(deployment, parameters) for deployment, parameters, _ in refused]
    )
    for run, (deployment, parameters, reason) in zip(finished, refused, strict=True):
        assert run.state is not None and run.state.is_failed(), (deployment, parameters, run.state)
        message = run.state.message or ""
        assert reason in message, (deployment, parameters, message)
        assert "\n" not in message and SECRET not in message and "root:x:" not in message
    assert count_writes(sandbox.stats()) == writes_before  # refused before anything was sent
    assert not anywhere.exists()

    # Runs that stay inside the data root complete; the hostile cells reach the results only as text.
    allowed = await _runs(
        prefect,
        stack,
        [(BULK, {"csv_path": f"{name}/hostile.csv"}), (CATALOG, {"state_dir": f"{name}/state"})],
    )
    for run in allowed:
        assert run.state is not None and run.state.is_completed(), run.state
    results = (batch / "hostile.results.csv").read_bytes()
    lines = results.decode("utf-8").split("\r\n")
    assert not any(line.startswith("import") for line in lines)
    with (batch / "hostile.results.csv").open(encoding="utf-8", newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert not [cell for cell in cells if any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in cell)]
    assert b"\x1b" not in results and "\u202e" not in results.decode("utf-8")
    assert (batch / "state" / "catalog" / "latest.json").is_file()
    assert not (batch / "pwned").exists()

    assert stack.exited_workers() == {}
    assert "e2e-hostile-key" not in stack.log("worker", tail=None)
    after = _manifest(REPO, skip=batch)
    changed = {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}
    assert not changed, sorted(changed)[:20]
    assert ((REPO / ".env").read_bytes() if (REPO / ".env").exists() else None) == env_before
