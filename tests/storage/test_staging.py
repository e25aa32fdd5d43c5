"""The staging folder: staged CSVs and documents are confidential, so only this user can read them or choose
where they are written (a shared host's other users included)."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest

from telnyx_compliance import storage
from telnyx_compliance.onboarding.csv_source import CSVSourceError, locate_bulk
from telnyx_compliance.onboarding.results_csv import RESULT_COLUMNS, ResultsMirror


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_the_default_staging_folder_is_private_to_the_user_and_found_again_by_a_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = storage.staging_dir("s3://b/batch")
    assert folder.parent == tmp_path / "cache" / "telnyx-compliance" / "staging"
    assert not folder.is_relative_to(Path(tempfile.gettempdir()) / "telnyx-compliance-staging")
    for created in (folder, folder.parent, folder.parent.parent):
        assert mode(created) == 0o700, created
    assert storage.staging_dir("s3://b/batch") == folder  # a rerun finds its copies
    assert storage.staging_dir("s3://b/other") != folder


def test_without_a_writable_home_the_staging_folder_is_the_users_own_in_the_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "not-a-folder").write_text("x", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "not-a-folder" / "cache"))  # cannot be created
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    root = storage.staging_root()
    assert root == tmp_path / "tmp" / f"telnyx-compliance-{os.geteuid()}"
    assert mode(root) == 0o700


def test_a_staging_folder_planted_by_another_user_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = tmp_path / "staging"
    planted.mkdir(mode=0o777)
    owner = os.lstat(planted).st_uid
    monkeypatch.setattr(os, "geteuid", lambda: owner + 1)  # as if another user had created it
    with pytest.raises(storage.StorageError, match="belongs to another user") as raised:
        storage.staging_dir("s3://b/batch", planted)
    assert "COMPLIANCE_STAGING_DIR" in str(raised.value) and "\n" not in str(raised.value)
    assert list(planted.iterdir()) == []  # nothing was staged there


def test_a_staging_folder_that_is_a_symlink_is_refused_and_the_run_says_why(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "staging").symlink_to(elsewhere)
    storage.put_bytes("memory://staging-test/in.csv", b"customer_reference,country_code\nc1,DE\n")
    with pytest.raises(CSVSourceError, match=r"is a symbolic link: refused; set COMPLIANCE_STAGING_DIR"):
        locate_bulk("memory://staging-test/in.csv", staging_root=tmp_path / "staging")
    assert list(elsewhere.iterdir()) == []


def test_our_own_staging_folder_open_to_others_is_tightened(tmp_path: Path) -> None:
    configured = tmp_path / "staging"
    configured.mkdir()
    configured.chmod(0o777)
    folder = storage.staging_dir("s3://b/batch", configured)
    assert mode(configured) == 0o700 and mode(folder) == 0o700


def test_a_configured_staging_folder_is_used_as_given_and_created_private(tmp_path: Path) -> None:
    configured = tmp_path / "deep" / "staging"
    folder = storage.staging_dir("s3://b/batch", configured)
    assert folder.parent == configured
    assert mode(configured) == 0o700 and mode(tmp_path / "deep") == 0o700


def test_staged_copies_are_private_and_a_planted_symlink_does_not_redirect_them(tmp_path: Path) -> None:
    storage.put_bytes("memory://staging-test/docs/a.pdf", b"%PDF-1.4 confidential")
    folder = storage.staging_dir("memory://staging-test", tmp_path / "staging")
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"untouched")
    target = folder / "docs" / "a.pdf"
    target.parent.mkdir(mode=0o700)
    (target.parent / ".a.pdf.part").symlink_to(victim)  # the partial file's name before
    target.symlink_to(victim)

    staged = storage.stage("memory://staging-test/docs/a.pdf", target)

    assert victim.read_bytes() == b"untouched"
    assert not staged.is_symlink() and staged.read_bytes() == b"%PDF-1.4 confidential"
    assert mode(staged) == 0o600
    created = storage.stage("memory://staging-test/docs/a.pdf", folder / "new" / "sub" / "a.pdf")
    assert mode(created.parent) == 0o700 and mode(created.parent.parent) == 0o700
    assert mode(created) == 0o600
    assert not [p for p in created.parent.iterdir() if p.name.endswith(".part")]


def test_local_writes_and_fetched_results_do_not_follow_a_planted_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"untouched")
    written = tmp_path / "latest.json"
    (tmp_path / "latest.json.tmp").symlink_to(victim)  # the temporary file's name before
    storage.put_bytes(str(written), b"{}")
    assert written.read_bytes() == b"{}" and victim.read_bytes() == b"untouched"

    storage.put_bytes("memory://staging-test/r.csv", (",".join(RESULT_COLUMNS) + "\r\n").encode())
    results = tmp_path / "results.csv"
    results.symlink_to(victim)
    ResultsMirror("memory://staging-test/r.csv").fetch(results)
    assert victim.read_bytes() == b"untouched"
    assert not results.is_symlink() and mode(results) == 0o600


def test_a_configured_staging_folder_that_cannot_be_created_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    with pytest.raises(storage.StorageError) as raised:
        storage.staging_dir("s3://b/batch", tmp_path / "a-file" / "staging")
    assert str(raised.value) == (
        f"the staging folder {tmp_path / 'a-file' / 'staging'} cannot be created (Not a directory); "
        "set COMPLIANCE_STAGING_DIR to a folder of yours"
    )
