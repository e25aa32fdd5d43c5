"""The trust model (docs/safety.md): whoever starts a run chooses its parameters, and nothing more.

Every path or URL a run is given goes through ``confine_parameter``. A deployment's run reads and writes only
in its data root and storage roots; it writes only results CSVs, never hidden paths, never into the project's
code, virtual environment or settings, and never over a file or object that is not a results CSV of ours.
The command line, run by the user at their own prompt, keeps the write rules but not the roots.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from telnyx_compliance import storage
from telnyx_compliance.catalog_diff import CatalogSnapshot, CatalogStateError, SnapshotStore
from telnyx_compliance.cli import app
from telnyx_compliance.onboarding.confine import ConfinementError, RunScope, confine_parameter
from telnyx_compliance.onboarding.csv_source import confine_bulk
from telnyx_compliance.onboarding.results_csv import RESULT_COLUMNS, ResultRow, ResultsMirror, ResultsWriter

HEADER = ",".join(RESULT_COLUMNS) + "\r\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A worker's checkout: code, a virtual environment, git, deployments, settings, and data/."""
    root = tmp_path / "project"
    for folder in ("data/batch", ".venv/lib/python3.11/site-packages", ".git", "deployments", "flows"):
        (root / folder).mkdir(parents=True)
    (root / "flows" / "bulk_onboard.py").write_text("# flow\n", encoding="utf-8")
    (root / "pyproject.toml").write_text("[project]\n", encoding="utf-8")
    (root / "data" / "batch" / "in.csv").write_text("customer_reference,country_code\nc1,DE\n", "utf-8")
    return root


def deployment(project: Path, input_root: str | None = None, *roots: str) -> RunScope:
    return RunScope.for_deployment(project, input_root=input_root, storage_roots=roots)


def test_a_deployment_reads_inside_its_data_root_relative_to_it(project: Path) -> None:
    scope = deployment(project)
    assert scope.data_root == (project / "data").resolve()
    inside = str((project / "data" / "batch" / "in.csv").resolve())
    assert confine_parameter("batch/in.csv", "csv", scope, name="csv_path") == inside
    assert confine_parameter(inside, "csv", scope, name="csv_path") == inside


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("/etc/passwd", "outside the data root"),
        ("../.env", "outside the data root"),
        ("../pyproject.toml", "outside the data root"),
        ("batch/../../flows/bulk_onboard.py", "outside the data root"),
        (".env", "hidden files and folders are refused"),
        ("batch/.hidden/in.csv", "hidden files and folders are refused"),
        ("file://remote-host/in.csv", "must name a local path"),
        ("ssh://host/in.csv", "not supported"),
        ("s3://bucket/in.csv", r"outside the storage roots a deployment may use \(none configured"),
    ],
)
def test_a_deployment_reads_nothing_else(project: Path, value: str, reason: str) -> None:
    with pytest.raises(ConfinementError, match=reason) as refused:
        confine_parameter(value, "csv", deployment(project), name="csv_path")
    assert str(refused.value).startswith("csv_path")
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("out", "reason"),
    [
        (".venv/lib/python3.11/site-packages/zz-results.pth", "hidden files and folders are refused"),
        ("../.venv/lib/python3.11/site-packages/zz-results.pth", "outside the data root"),
        ("../.env", "outside the data root"),
        (".env", "hidden files and folders are refused"),
        ("batch/zz-results.pth", r"must be named \*\.csv"),
        ("batch/results.csv.py", r"must be named \*\.csv"),
        ("batch/in.csv", "exists and is not a results CSV of this pipeline"),
        ("batch", "is a directory"),
        ("https://files.example/results.csv", "http\\(s\\) is read-only"),
    ],
)
def test_a_deployment_writes_only_new_or_its_own_results_csvs(project: Path, out: str, reason: str) -> None:
    with pytest.raises(ConfinementError, match=reason):
        confine_parameter(out, "results", deployment(project), name="out")


def test_a_link_in_the_data_root_does_not_lead_a_write_out_of_it(project: Path) -> None:
    site_packages = project / ".venv/lib/python3.11/site-packages"
    (project / "data" / "venv").symlink_to(site_packages, target_is_directory=True)
    (project / "data" / "planted.csv").symlink_to(site_packages / "zz.csv")
    with pytest.raises(ConfinementError, match="symbolic link"):
        confine_parameter("venv/zz.csv", "results", deployment(project), name="out")
    with pytest.raises(ConfinementError, match="symbolic link"):
        confine_parameter("planted.csv", "results", deployment(project), name="out")
    assert list(site_packages.iterdir()) == []


def test_a_wide_input_root_still_keeps_code_venv_git_and_deployments(project: Path) -> None:
    """An operator may set COMPLIANCE_INPUT_ROOT to the whole project (or /): no run writes code there."""
    scope = deployment(project, str(project))
    for out, reason in [
        (".venv/lib/python3.11/site-packages/zz.csv", "hidden"),
        (".git/hooks.csv", "hidden"),
        ("deployments/prefect.csv", "inside the project's code"),
        ("flows/results.csv", "inside the project's code"),
    ]:
        with pytest.raises(ConfinementError, match=reason):
            confine_parameter(out, "results", scope, name="out")
    assert confine_parameter("data/batch/r.csv", "results", scope, name="out").endswith("r.csv")
    # The running Python's own installation is never written, whatever the root.
    assert Path(sys.prefix).resolve() in deployment(project, "/").protected
    installed = project / "data" / "lib"  # a non-hidden installation, as on a system Python
    installed.mkdir()
    scope = RunScope(
        confined=True, data_roots=((project / "data").resolve(),), protected=(installed.resolve(),)
    )
    with pytest.raises(ConfinementError, match="inside the project's code, virtual environment"):
        confine_parameter("lib/site-packages/zz.csv", "results", scope, name="out")


def test_a_relative_input_root_is_the_projects_and_a_missing_one_is_named(project: Path) -> None:
    assert deployment(project, "data/batch").data_root == (project / "data" / "batch").resolve()
    with pytest.raises(ConfinementError, match="does not exist: `make install` creates it"):
        confine_parameter("in.csv", "csv", deployment(project, "missing"), name="csv_path")


def test_an_earlier_results_csv_of_ours_may_be_appended_to(project: Path) -> None:
    results = project / "data" / "batch" / "in.results.csv"
    results.write_text(HEADER + "2,c1,completed,,,,,,,\r\n", encoding="utf-8")
    scope = deployment(project)
    assert confine_parameter("batch/in.results.csv", "results", scope, name="out") == str(results.resolve())
    empty = project / "data" / "batch" / "empty.csv"
    empty.write_bytes(b"")
    assert confine_parameter("batch/empty.csv", "results", scope, name="out") == str(empty.resolve())


def test_the_default_results_csv_meets_the_same_rules(project: Path) -> None:
    """No ``out``: beside the CSV, which must not be some other file already."""
    scope = deployment(project)
    _, out, _ = confine_bulk(scope, "batch/in.csv", None, None)
    assert out == str((project / "data" / "batch" / "in.results.csv").resolve())
    (project / "data" / "batch" / "in.results.csv").write_text("not ours\n", encoding="utf-8")
    with pytest.raises(ConfinementError, match=r"results CSV \(default: beside the CSV\).*not a results CSV"):
        confine_bulk(scope, "batch/in.csv", None, None)


def test_the_state_folder_stays_in_the_data_root(project: Path) -> None:
    scope = deployment(project)
    assert confine_parameter("state", "state", scope, name="state_dir") == str(
        (project / "data" / "state").resolve()
    )
    for value, reason in [
        ("/anywhere", "outside the data root"),
        ("../.git", "outside the data root"),
        (".state", "hidden"),
    ]:
        with pytest.raises(ConfinementError, match=reason):
            confine_parameter(value, "state", scope, name="state_dir")
    assert not Path("/anywhere").exists()


def test_store_urls_stay_under_the_storage_roots(project: Path) -> None:
    scope = deployment(project, None, "memory://onboarding")
    assert confine_parameter("memory://onboarding/2026/in.csv", "csv", scope, name="csv_path") == (
        "memory://onboarding/2026/in.csv"
    )
    for value, reason in [
        ("memory://onboarding-other/in.csv", "outside the storage roots"),
        ("memory://secrets/in.csv", "outside the storage roots"),
        ("memory://onboarding/../secrets/in.csv", r"'\.\.' is refused"),
    ]:
        with pytest.raises(ConfinementError, match=reason):
            confine_parameter(value, "csv", scope, name="csv_path")


def test_a_results_url_never_replaces_an_object_that_is_not_ours() -> None:
    """On a store as on disk (here fsspec's memory store; tests/storage has the same on S3)."""
    scope = RunScope.for_command_line()
    storage.put_bytes("memory://trust/in.csv", b"customer_reference,country_code\nc1,DE\n")
    with pytest.raises(ConfinementError, match="exists and is not a results CSV"):
        confine_parameter("memory://trust/in.csv", "results", scope, name="out")
    storage.put_bytes("memory://trust/r.csv", HEADER.encode())
    assert confine_parameter("memory://trust/r.csv", "results", scope, name="out") == "memory://trust/r.csv"
    with pytest.raises(ConfinementError, match=r"must be named \*\.csv"):
        confine_parameter("memory://trust/r.pth", "results", scope, name="out")


def test_a_mirror_neither_reads_nor_removes_objects_it_did_not_write(tmp_path: Path) -> None:
    """``<out>.parts/`` may hold someone else's objects: only parts named like ours are read and removed."""
    location = "memory://mirror-trust/r.csv"
    foreign = location + ".parts/contract.csv"
    storage.put_bytes(foreign, HEADER.encode() + b"9,stranger,completed,,,,,,,\r\n")
    local = tmp_path / "r.csv"
    mirror = ResultsMirror(location, every=0)
    mirror.fetch(local)
    assert not local.exists()  # the foreign object was not taken for results
    with ResultsWriter(local, mirror) as writer:
        writer.write([ResultRow(row=2, customer_reference="c1", status="completed")])
    assert storage.read_bytes(foreign).endswith(b"stranger,completed,,,,,,,\r\n")
    assert [part.rsplit("/", 1)[-1] for part in storage.list_files(location + ".parts")] == ["contract.csv"]


def test_a_mirror_refuses_an_existing_object_that_is_not_results() -> None:
    storage.put_bytes("memory://mirror-foreign/report.csv", b"quarter,revenue\nq1,10\n")
    with pytest.raises(storage.StorageError, match="not a results CSV of this pipeline"):
        ResultsMirror("memory://mirror-foreign/report.csv").fetch(Path("unused.csv"))
    assert storage.read_bytes("memory://mirror-foreign/report.csv") == b"quarter,revenue\nq1,10\n"


def test_the_results_writer_does_not_follow_a_planted_link(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.csv"
    link = tmp_path / "results.csv"
    link.symlink_to(target)
    with pytest.raises(OSError), ResultsWriter(link):
        pass
    assert not target.exists()


def test_the_command_line_keeps_the_write_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At the user's own prompt any path is allowed, but results stay results."""
    monkeypatch.setenv("TELNYX_BASE_URL", "http://127.0.0.1:9/v2")  # never reached: refused before
    csv_path = tmp_path / "in.csv"
    csv_path.write_text("customer_reference,country_code\nc1,DE\n", encoding="utf-8")
    runner = CliRunner()
    for out, reason in [
        (str(csv_path), "exists and is not a results CSV"),
        (str(tmp_path / "r.txt"), r"must be named \*\.csv"),
        (str(tmp_path), "is a directory"),
    ]:
        done = runner.invoke(app, ["onboard", str(csv_path), "--out", out])
        assert done.exit_code == 2, done.output
        assert re.search("error: --out .*" + reason, " ".join(done.output.split())), done.output
    assert csv_path.read_text(encoding="utf-8") == "customer_reference,country_code\nc1,DE\n"


def test_a_planted_snapshot_is_refused_without_quoting_it(tmp_path: Path) -> None:
    folder = tmp_path / "state" / "catalog"
    folder.mkdir(parents=True)
    (folder / "latest.json").write_text('{"taken_at": ["TELNYX_API_KEY=KEYsecret012345"]}', encoding="utf-8")
    with pytest.raises(CatalogStateError, match="not a catalog snapshot written by this pipeline") as refused:
        SnapshotStore(folder).latest()
    assert "KEYsecret" not in str(refused.value)
    good = CatalogSnapshot(taken_at="2026-12-04T00:00:00Z", markets={}, requirement_types={})
    SnapshotStore(tmp_path / "fine").save(good)
    assert SnapshotStore(tmp_path / "fine").latest() == good
