"""Where a bulk run reads and writes: the CSV, its documents, the results CSV, each a path or a URL.

:func:`locate_bulk` turns what the user typed into local files the run can read and write:

* a local CSV (a path or ``file://``) is read where it is; its documents lie in its folder (or
  ``COMPLIANCE_DOCUMENTS_BASE_DIR``), results default to ``<csv>.results.csv`` beside it;
* a CSV on an object store (``s3://bucket/batch/in.csv``, see :mod:`telnyx_compliance.storage`) is copied to
  a local staging folder; its documents are read from the same prefix (``docs/a.pdf`` is
  ``s3://bucket/batch/docs/a.pdf``, and nothing outside the prefix), each copied once when its row is read;
  results default to ``s3://bucket/batch/in.results.csv``, written through a
  :class:`~telnyx_compliance.onboarding.results_csv.ResultsMirror`;
* a CSV behind an ``http(s)://`` URL (a pre-signed link) is fetched once into ``.incoming`` under the
  documents base directory, where its documents and results are too.

Fetching follows :mod:`telnyx_compliance._netguard`: public hosts only (unless
``COMPLIANCE_ALLOW_PRIVATE_URLS=1``), every redirect re-checked, one deadline for the whole download, no
partial file left behind, and the URL named without credentials or query string.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from telnyx_compliance import storage
from telnyx_compliance._netguard import FetchError, allow_private_from_env, download
from telnyx_compliance.onboarding.results_csv import ResultsMirror

#: Largest CSV fetched from a URL; a bigger file is better copied next to its documents.
MAX_CSV_BYTES = 512 * 1024 * 1024
#: Longest a whole download may take (s).
FETCH_TIME_LIMIT = 300.0

__all__ = [
    "BulkLocations",
    "CSVSourceError",
    "DocumentURLs",
    "RemoteDocuments",
    "confine_input",
    "confine_storage",
    "is_url",
    "locate_bulk",
    "materialise_csv",
    "normal_location",
    "redact_source",
    "results_location_for",
]


class CSVSourceError(ValueError):
    """The CSV could not be fetched or found, or lies outside where it may be read from."""


def is_url(source: str) -> bool:
    """An ``http(s)://`` URL (fetched through the network guard)."""
    return urlsplit(source).scheme in {"http", "https"}


def redact_source(source: str) -> str:
    """``source`` as it may be logged: a URL without credentials or query string, a path as it is."""
    return storage.redact(source)


def confine_storage(location: str, roots: tuple[str, ...], *, what: str = "CSV") -> str:
    """``location`` (a URL on an object store) when it lies under one of ``roots``, else refused: the store
    prefixes a deployment's runs may read and write (``COMPLIANCE_STORAGE_ROOTS``)."""
    try:
        storage.check_location(location)
    except storage.StorageError as error:
        raise CSVSourceError(f"{what}: {error}") from None
    if not any(storage.under(location, root) for root in roots):
        allowed = ", ".join(storage.redact(root) for root in roots) or "none configured"
        raise CSVSourceError(
            f"{what} {storage.redact(location)}: outside the storage roots a deployment may use "
            f"({allowed}; COMPLIANCE_STORAGE_ROOTS sets them)"
        )
    return location


def confine_input(source: str, root: Path, *, what: str = "CSV") -> Path:
    """The resolved path of ``source``, refused unless it lies inside ``root`` (the input root a deployment
    reads from and writes to: a run started from the UI names files, not the worker's disk)."""
    from telnyx_compliance.onboarding.confine import ConfinementError, confine

    try:
        return confine(root, source)
    except ConfinementError as error:
        reason = str(error).replace("documents folder", "input folder")
        raise CSVSourceError(f"{what} {source!r}: {reason} (COMPLIANCE_INPUT_ROOT sets it)") from None


def materialise_csv(
    source: str,
    base_dir: Path,
    *,
    time_limit: float = FETCH_TIME_LIMIT,
    allow_private: bool | None = None,
) -> Path:
    """The local path of ``source``: itself when it is a path, else the URL's body saved under ``base_dir``.

    A fetched CSV is stored as ``base_dir/.incoming/<hash of the URL>-<file name>``: the same URL maps to the
    same file, so a rerun's results CSV (written next to it) is found again and finished rows are skipped.
    ``allow_private`` (default: ``COMPLIANCE_ALLOW_PRIVATE_URLS``) allows loopback and private hosts.
    """
    if not is_url(source):
        path = Path(source)
        if not path.is_file():
            raise CSVSourceError(f"{source}: no such CSV file")
        return path
    target = _incoming_path(source, base_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        return download(
            source,
            target,
            max_bytes=MAX_CSV_BYTES,
            time_limit=time_limit,
            allow_private=allow_private_from_env() if allow_private is None else allow_private,
        )
    except FetchError as error:
        raise CSVSourceError(f"{error}") from None


@dataclass
class RemoteDocuments:
    """The documents under a prefix on a store, each copied to ``local_root`` (mirroring the prefix) the
    first time a row names it; a name that leaves the prefix is refused before anything is read."""

    prefix: str
    local_root: Path
    options: Mapping[str, Any] | None = None
    max_bytes: int = storage.DEFAULT_MAX_BYTES
    _staged: dict[str, Path] = field(default_factory=dict, repr=False)

    def __call__(self, written: str) -> Path:
        """The local copy of the document ``written`` names (raises ``FileNotFoundError`` when there is no
        such object, :class:`~telnyx_compliance.storage.StorageError` when it is refused or unreadable)."""
        location = storage.join_under(self.prefix, written)
        staged = self._staged.get(location)
        if staged is not None and staged.exists():
            return staged
        relative = posixpath.normpath(urlsplit(location).path)[len(urlsplit(self.prefix).path.rstrip("/")) :]
        target = self.local_root / relative.lstrip("/")
        storage.stage(location, target, max_bytes=self.max_bytes, options=self.options)
        self._staged[location] = target
        return target

    def describe(self) -> str:
        return storage.redact(self.prefix)


@dataclass(frozen=True)
class BulkLocations:
    """Where a bulk run reads and writes, as the user named it and as local files."""

    #: The CSV as given, and the local file read (the same file, or a copy).
    csv_location: str
    csv: Path
    #: The local folder documents are checked in: the documents root, or the staging copy of its prefix.
    documents_root: Path
    #: Copies documents from a store into :attr:`documents_root` (None: the documents are local).
    fetch_document: RemoteDocuments | None
    #: The results CSV as given (or its default), the local file written, and its mirror on a store.
    results_location: str
    results: Path
    mirror: ResultsMirror | None
    #: The local copy of an earlier run's results to select failed rows from.
    only_failed: Path | None = None


def normal_location(location: str) -> str:
    """``location`` as a run is keyed by: a URL as written, a path (or ``file://``) resolved."""
    return location if storage.is_remote(location) else str(storage.local_path(location).resolve())


def results_location_for(csv: str, out: str | None, documents_base: str | None = None) -> str:
    """Where the results of ``csv`` go: ``out``, else ``<csv stem>.results.csv`` beside the CSV (beside its
    local copy, for an http(s) CSV). Pure: nothing is read."""
    if out:
        return normal_location(out)
    if is_url(csv):
        local = _incoming_path(csv, Path(documents_base or "."))
        return str((local.parent / f"{local.stem}.results.csv").resolve())
    if storage.is_remote(csv):
        name = PurePosixPath(urlsplit(csv).path).name
        stem = name[: -len(".csv")] if name.lower().endswith(".csv") else name
        return f"{storage.parent(csv)}/{stem}.results.csv"
    path = storage.local_path(csv)
    return str(path.with_name(f"{path.stem}.results.csv").resolve())


def _incoming_path(source: str, base_dir: Path) -> Path:
    name = PurePosixPath(urlsplit(source).path).name.lstrip(".") or "onboarding.csv"
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    return base_dir / ".incoming" / f"{digest}-{name}"


def locate_bulk(
    csv: str,
    out: str | None = None,
    only_failed: str | None = None,
    *,
    documents_base: str | None = None,
    staging_root: Path | None = None,
    options: Mapping[str, Any] | None = None,
    max_document_bytes: int = storage.DEFAULT_MAX_BYTES,
    allow_private: bool | None = None,
) -> BulkLocations:
    """Resolve (and copy to local files what lives on a store) the locations of one bulk run. Blocking: call
    it in a thread from async code. Raises :class:`CSVSourceError` with the reason, naming URLs redacted."""
    try:
        for location, writable in ((csv, False), (out, True), (only_failed, False), (documents_base, False)):
            if location is not None:
                storage.check_location(location, writable=writable)
        csv_path = _local_csv(csv, documents_base, staging_root, options, allow_private)
        base = documents_base or (str(Path.cwd()) if is_url(csv) else storage.parent(csv))
        if storage.on_store(base):
            remote = RemoteDocuments(
                base, storage.staging_dir(base, staging_root) / "documents", options, max_document_bytes
            )
            fetch: RemoteDocuments | None = remote
            documents_root = remote.local_root
            documents_root.mkdir(mode=0o700, parents=True, exist_ok=True)
        elif is_url(base):
            raise CSVSourceError(
                f"documents under {storage.redact(base)}: http(s) is read-only and unlisted; "
                "put the documents on a path or an object store"
            )
        else:
            fetch, documents_root = None, storage.local_path(base)
        results_location = results_location_for(csv, out, documents_base)
        mirror: ResultsMirror | None = None
        if storage.is_remote(results_location):
            mirror = ResultsMirror(results_location, options)
            results = storage.staging_dir(results_location, staging_root) / "results.csv"
            mirror.fetch(results)
        else:
            results = Path(results_location)
            if results.is_dir():
                raise CSVSourceError(f"results CSV {results} is a directory: expected a file")
        selected = _local_results(only_failed, staging_root, options) if only_failed else None
    except storage.StorageError as error:
        raise CSVSourceError(str(error)) from None
    return BulkLocations(
        csv_location=csv,
        csv=csv_path,
        documents_root=documents_root,
        fetch_document=fetch,
        results_location=results_location,
        results=results,
        mirror=mirror,
        only_failed=selected,
    )


def _local_csv(
    csv: str,
    documents_base: str | None,
    staging_root: Path | None,
    options: Mapping[str, Any] | None,
    allow_private: bool | None,
) -> Path:
    if is_url(csv):
        base = documents_base if documents_base and not storage.is_remote(documents_base) else "."
        return materialise_csv(csv, Path(base), allow_private=allow_private)
    if storage.is_remote(csv):
        name = PurePosixPath(urlsplit(csv).path).name.lstrip(".") or "onboarding.csv"
        target = storage.staging_dir(storage.parent(csv), staging_root) / name
        try:
            return storage.stage(csv, target, max_bytes=MAX_CSV_BYTES, options=options)
        except FileNotFoundError:
            raise CSVSourceError(f"{storage.redact(csv)}: no such CSV object") from None
    path = storage.local_path(csv)
    if not path.is_file():
        raise CSVSourceError(f"{csv}: no such CSV file")
    return path


def _local_results(location: str, staging_root: Path | None, options: Mapping[str, Any] | None) -> Path:
    """A local file with the lines of the results CSV at ``location`` (final object and parts)."""
    if not storage.is_remote(location):
        return storage.local_path(location)
    target = storage.staging_dir(location, staging_root) / "earlier-results.csv"
    if is_url(location):
        try:
            return storage.stage(location, target, options=options)
        except FileNotFoundError:
            raise CSVSourceError(f"{storage.redact(location)}: not found") from None
    ResultsMirror(location, options).fetch(target)
    if not target.exists():
        raise CSVSourceError(f"{storage.redact(location)}: no results there")
    return target


@dataclass(frozen=True)
class DocumentURLs:
    """Documents a request names by URL (``onboard_customer``, ``onboard-one``), and where they may come
    from: store URLs under one of :attr:`roots` (``COMPLIANCE_DOCUMENTS_BASE_DIR`` when it is a store URL,
    and ``COMPLIANCE_STORAGE_ROOTS``), http(s) URLs under the network guard's rules. Each is copied to a
    local staging folder and checked there like a local file."""

    roots: tuple[str, ...] = ()
    staging_root: Path | None = None
    options: Mapping[str, Any] | None = None
    allow_private: bool | None = None

    @classmethod
    def from_settings(cls, settings: Any, options: Mapping[str, Any] | None = None) -> DocumentURLs:
        """From :class:`~telnyx_compliance.settings.PipelineSettings`."""
        base = settings.documents_base_dir
        roots = ((base,) if base and storage.on_store(base) else ()) + tuple(settings.storage_root_list())
        return cls(roots=roots, staging_root=settings.staging_path(), options=options)

    def fetch(self, url: str, max_bytes: int) -> Path:
        """The local copy of ``url``; raises ``FileNotFoundError`` or :class:`~telnyx_compliance.storage.
        StorageError` (refused, too large, unreadable), naming the URL redacted."""
        storage.check_location(url)
        if not is_url(url) and not any(storage.under(url, root) for root in self.roots):
            allowed = ", ".join(storage.redact(root) for root in self.roots) or "none configured"
            raise storage.StorageError(
                f"{storage.redact(url)} lies outside the folders documents may be read from ({allowed}; "
                "COMPLIANCE_DOCUMENTS_BASE_DIR or COMPLIANCE_STORAGE_ROOTS sets them)"
            )
        name = PurePosixPath(urlsplit(url).path).name.lstrip(".") or "document"
        target = storage.staging_dir(url, self.staging_root) / name
        return storage.stage(
            url, target, max_bytes=max_bytes, options=self.options, allow_private=self.allow_private
        )
