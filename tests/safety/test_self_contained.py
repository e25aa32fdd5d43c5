"""Finding 1 and the production footguns of finding 6, checked on the repository itself."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CONTRACT = REPO / "contracts" / "numbers-compliance.openapi.yml"
_METHODS = {"get", "post", "put", "patch", "delete"}
#: The folder next to the checkout where the team's shared material lives (spelled in parts so this file
#: does not name it itself); a user's clone has no such folder.
_OUTSIDE = ("../" + "shared", "/work/" + "shared")


def test_nothing_in_the_project_reaches_outside_its_checkout() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    offenders = []
    for name in tracked:
        path = REPO / name
        if not path.is_file() or path.suffix in {".pdf", ".png", ".jpg", ".lock"}:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if any(needle in text for needle in _OUTSIDE):
            offenders.append(name)
    assert offenders == [], offenders


def test_the_vendored_contract_has_the_49_operations() -> None:
    spec = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    operations = [
        op["operationId"]
        for item in spec["paths"].values()
        for method, op in item.items()
        if method in _METHODS
    ]
    assert len(operations) == len(set(operations)) == 49


def test_the_bulk_deployment_has_no_default_csv() -> None:
    spec = yaml.safe_load((REPO / "deployments" / "prefect.yaml").read_text(encoding="utf-8"))
    (bulk,) = [d for d in spec["deployments"] if d["name"] == "bulk-onboard"]
    assert "csv_path" not in (bulk.get("parameters") or {})


def test_make_deploy_creates_the_work_pool_when_it_is_missing() -> None:
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "deploy"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert (
        "work-pool inspect compliance-pool" in dry
        and "work-pool create compliance-pool --type process" in dry
    )
