"""Where a bulk CSV comes from: a local path, or an ``http(s)://`` URL fetched once into a local folder.

A deployment takes its CSV as a parameter, and an operator often has it on a file share or object store
behind a (pre-signed) URL. The documents a CSV names are still local files: they must live under the
documents base directory, which is also where a fetched CSV is stored, so relative paths resolve the same.
"""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import httpx

#: Largest CSV fetched from a URL; a bigger file is better copied next to its documents.
MAX_CSV_BYTES = 512 * 1024 * 1024


class CSVSourceError(ValueError):
    """The CSV could not be fetched or found."""


def is_url(source: str) -> bool:
    return urlsplit(source).scheme in {"http", "https"}


def materialise_csv(source: str, base_dir: Path, *, timeout: float = 60.0) -> Path:
    """The local path of ``source``: itself when it is a path, else the URL's body saved under ``base_dir``.

    A fetched CSV is stored as ``base_dir/.incoming/<hash of the URL>-<file name>``: the same URL maps to the
    same file, so a rerun's results CSV (written next to it) is found again and finished rows are skipped.
    """
    if not is_url(source):
        path = Path(source)
        if not path.is_file():
            raise CSVSourceError(f"{source}: no such CSV file")
        return path
    name = PurePosixPath(urlsplit(source).path).name or "onboarding.csv"
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    target = base_dir / ".incoming" / f"{digest}-{name}"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    try:
        with httpx.stream("GET", source, timeout=timeout, follow_redirects=True) as response:
            response.raise_for_status()
            size = 0
            with partial.open("wb") as handle:
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_CSV_BYTES:
                        raise CSVSourceError(f"{_redact(source)}: larger than {MAX_CSV_BYTES} bytes")
                    handle.write(chunk)
    except httpx.HTTPStatusError as error:
        partial.unlink(missing_ok=True)
        status = error.response.status_code
        raise CSVSourceError(f"{_redact(source)}: could not fetch the CSV (HTTP {status})") from None
    except httpx.HTTPError as error:
        # httpx's own messages repeat the full URL, query string (a pre-signed credential) included.
        partial.unlink(missing_ok=True)
        raise CSVSourceError(f"{_redact(source)}: could not fetch the CSV ({type(error).__name__})") from None
    partial.replace(target)
    return target


def _redact(url: str) -> str:
    """A URL without its query string: pre-signed URLs carry credentials there."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?..." if parts.query else "")
