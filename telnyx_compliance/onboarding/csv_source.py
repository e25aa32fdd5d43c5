"""Where a bulk run reads and writes: the CSV, its documents, the results CSV, each a path or a URL.

:func:`locate_bulk` turns what the user typed into local files the run can read and write:

* a local CSV (a path or ``file://``) is read where it is; its documents lie in its folder (or
  ``COMPLIANCE_DOCUMENTS_BASE_DIR``), results default to ``<csv>.results.csv`` beside it;
* a CSV on an object store (``s3://bucket/batch/in.csv``, see :mod:`telnyx_compliance.storage`) is copied to
  a local staging folder; its documents are read from the same prefix (``docs/a.pdf`` is
  ``s3://bucket/batch/docs/a.pdf``, and nothing outside the prefix), each copied once when its row is read;
  results default to ``s3://bucket/batch/in.results.csv``, written through a
  :class:`~telnyx_compliance.onboarding.results_csv.ResultsMirror`;
* a CSV behind an ``http(s)://`` URL (a pre-signed link) is fetched once into the private staging folder;
  its documents and results are in ``local_root`` (a deployment's data root, else the working folder).

Fetching follows :mod:`telnyx_compliance._netguard`: public hosts only (unless
``COMPLIANCE_ALLOW_PRIVATE_URLS=1``), every redirect re-checked, one deadline for the whole download, no
partial file left behind, and the URL named without credentials or query string.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telnyx_compliance import storage
from telnyx_compliance._netguard import FetchError, allow_private_from_env
from telnyx_compliance.locations import Location
from telnyx_compliance.onboarding.confine import RunScope, confine_parameter
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
    "confine_bulk",
    "locate_bulk",
    "materialise_csv",
    "normal_location",
    "results_location_for",
]


class CSVSourceError(ValueError):
    """The CSV could not be fetched or found, or lies outside where it may be read from."""


def materialise_csv(
    source: str,
    staging_root: Path | None = None,
    *,
    options: Mapping[str, Any] | None = None,
    time_limit: float = FETCH_TIME_LIMIT,
    allow_private: bool | None = None,
) -> Path:
    """The local file to read the CSV ``source`` from: itself when it is a path; else the object or the URL's
    body copied into the private staging folder (``COMPLIANCE_STAGING_DIR``; one folder per URL, or per
    store prefix, so a rerun finds the same copy). ``allow_private`` (default:
    ``COMPLIANCE_ALLOW_PRIVATE_URLS``) allows loopback and private hosts."""
    where = Location.parse(source)
    try:
        if where.is_local:
            path = where.path
            if not path.is_file():
                raise CSVSourceError(f"{source}: no such CSV file")
            return path
        folder = storage.staging_dir(source if where.is_http else where.parent.text, staging_root)
        return storage.stage(
            where,
            folder / _fetched_name(where),
            max_bytes=MAX_CSV_BYTES,
            options=options,
            time_limit=time_limit,
            allow_private=allow_private_from_env() if allow_private is None else allow_private,
        )
    except FileNotFoundError:
        raise CSVSourceError(f"{where}: {'not found' if where.is_http else 'no such CSV object'}") from None
    except (FetchError, storage.StorageError) as error:
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
        prefix = Location.parse(self.prefix)
        location = prefix.join(written)
        staged = self._staged.get(location.text)
        if staged is not None and staged.exists():
            return staged
        relative = posixpath.normpath(location.key)[len(prefix.key.rstrip("/")) :]
        target = self.local_root / relative.lstrip("/")
        storage.stage(location, target, max_bytes=self.max_bytes, options=self.options)
        self._staged[location.text] = target
        return target

    def describe(self) -> str:
        return Location.parse(self.prefix).redacted


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
    return Location.parse(location).resolved().text


def results_location_for(csv: str, out: str | None, local_root: Path | str | None = None) -> str:
    """Where the results of ``csv`` go: ``out``, else ``<csv stem>.results.csv`` beside the CSV; for an
    http(s) CSV (read-only, fetched) ``<local_root>/<name>-<hash of the URL>.results.csv`` (default: the
    working folder). Pure: nothing is read."""
    if out:
        return normal_location(out)
    where = Location.parse(csv)
    if where.is_http:
        name = _fetched_name(where)
        stem = name[: -len(".csv")] if name.lower().endswith(".csv") else name
        digest = hashlib.sha256(csv.encode()).hexdigest()[:12]
        return str((Path(local_root or ".") / f"{stem}-{digest}.results.csv").resolve())
    if where.is_store:
        name = where.name
        stem = name[: -len(".csv")] if name.lower().endswith(".csv") else name
        return where.parent.child(f"{stem}.results.csv").text
    path = where.path
    return str(path.with_name(f"{path.stem}.results.csv").resolve())


def _fetched_name(source: Location, default: str = "onboarding.csv") -> str:
    """A plain file name for a copy of ``source`` (never hidden)."""
    return source.name.lstrip(".") or default


def confine_bulk(
    scope: RunScope,
    csv: str,
    out: str | None,
    only_failed: str | None,
    *,
    names: tuple[str, str, str] = ("CSV", "out", "only_failed"),
) -> tuple[str, str, str | None]:
    """A bulk run's CSV, results CSV (its default too: beside the CSV) and earlier results, each checked by
    :func:`~telnyx_compliance.onboarding.confine.confine_parameter` for what the run does with it: a
    deployment's run reads and writes only in its data root and storage roots; every run writes only a
    results CSV, and never over a file that is not one. ``names``: how messages name the three (the command
    line's options, a flow's parameters). Raises ``ConfinementError``."""
    csv_name, out_name, only_failed_name = names
    csv = confine_parameter(csv, "csv", scope, name=csv_name)
    if out is None:
        out_name = "results CSV (default: beside the CSV)"
        out = results_location_for(csv, None, scope.data_root)
    out = confine_parameter(out, "results", scope, name=out_name)
    if only_failed is not None:
        only_failed = confine_parameter(only_failed, "earlier_results", scope, name=only_failed_name)
    return csv, out, only_failed


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
    local_root: Path | None = None,
) -> BulkLocations:
    """Resolve (and copy to local files what lives on a store) the locations of one bulk run. Blocking: call
    it in a thread from async code. Raises :class:`CSVSourceError` with the reason, naming URLs redacted.

    ``local_root``: for a CSV fetched over http(s), the folder its documents are read from (unless
    ``documents_base``) and its results written to (unless ``out``); default the working folder. A
    deployment's run passes its data root."""
    try:
        for location, writable in ((csv, False), (out, True), (only_failed, False), (documents_base, False)):
            if location is not None:
                storage.check_location(location, writable=writable)
        csv_path = materialise_csv(csv, staging_root, options=options, allow_private=allow_private)
        where = Location.parse(csv)
        base = Location.parse(
            documents_base or (str(local_root or Path.cwd()) if where.is_http else where.parent)
        )
        if base.is_store:
            remote = RemoteDocuments(
                base.text,
                storage.staging_dir(base.text, staging_root) / "documents",
                options,
                max_document_bytes,
            )
            fetch: RemoteDocuments | None = remote
            documents_root = remote.local_root
            documents_root.mkdir(mode=0o700, parents=True, exist_ok=True)
        elif base.is_http:
            raise CSVSourceError(
                f"documents under {base}: http(s) is read-only and unlisted; "
                "put the documents on a path or an object store"
            )
        else:
            fetch, documents_root = None, base.path
        results_location = results_location_for(csv, out, local_root)
        mirror: ResultsMirror | None = None
        if not Location.parse(results_location).is_local:
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


def _local_results(location: str, staging_root: Path | None, options: Mapping[str, Any] | None) -> Path:
    """A local file with the lines of the results CSV at ``location`` (final object and parts)."""
    where = Location.parse(location)
    if where.is_local:
        return where.path
    target = storage.staging_dir(location, staging_root) / "earlier-results.csv"
    if where.is_http:
        try:
            return storage.stage(where, target, options=options)
        except FileNotFoundError:
            raise CSVSourceError(f"{where}: not found") from None
    ResultsMirror(location, options).fetch(target)
    if not target.exists():
        raise CSVSourceError(f"{where}: no results there")
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
        roots = ((base,) if base and Location.parse(base).is_store else ()) + tuple(settings.storage_roots)
        return cls(roots=roots, staging_root=settings.staging_path(), options=options)

    def fetch(self, url: str, max_bytes: int) -> Path:
        """The local copy of ``url``; raises ``FileNotFoundError`` or :class:`~telnyx_compliance.storage.
        StorageError` (refused, too large, unreadable), naming the URL redacted."""
        where = Location.parse(url).check()
        if not where.is_http and not any(where.is_under(root) for root in self.roots):
            allowed = ", ".join(Location.parse(root).redacted for root in self.roots) or "none configured"
            raise storage.StorageError(
                f"{where} lies outside the folders documents may be read from ({allowed}; "
                "COMPLIANCE_DOCUMENTS_BASE_DIR or COMPLIANCE_STORAGE_ROOTS sets them)"
            )
        target = storage.staging_dir(url, self.staging_root) / _fetched_name(where, "document")
        return storage.stage(
            where, target, max_bytes=max_bytes, options=self.options, allow_private=self.allow_private
        )
