"""Where a bulk CSV comes from: a local path, or an ``http(s)://`` URL fetched once into a local folder.

A deployment takes its CSV as a parameter, and an operator often has it on a file share or object store
behind a (pre-signed) URL. The documents a CSV names are still local files: they must live under the
documents base directory, which is also where a fetched CSV is stored, so relative paths resolve the same.

Fetching follows :mod:`telnyx_compliance._netguard`: public hosts only (unless
``COMPLIANCE_ALLOW_PRIVATE_URLS=1``), every redirect re-checked, one deadline for the whole download, no
partial file left behind, and the URL named without credentials or query string.
"""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from telnyx_compliance._netguard import FetchError, allow_private_from_env, download, redact_url

#: Largest CSV fetched from a URL; a bigger file is better copied next to its documents.
MAX_CSV_BYTES = 512 * 1024 * 1024
#: Longest a whole download may take (s).
FETCH_TIME_LIMIT = 300.0

__all__ = ["CSVSourceError", "confine_input", "is_url", "materialise_csv", "redact_source"]


class CSVSourceError(ValueError):
    """The CSV could not be fetched or found, or lies outside where it may be read from."""


def is_url(source: str) -> bool:
    return urlsplit(source).scheme in {"http", "https"}


def redact_source(source: str) -> str:
    """``source`` as it may be logged: a URL without credentials or query string, a path as it is."""
    return redact_url(source) if is_url(source) else source


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
    name = PurePosixPath(urlsplit(source).path).name.lstrip(".") or "onboarding.csv"
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    target = base_dir / ".incoming" / f"{digest}-{name}"
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
