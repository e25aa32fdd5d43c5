"""Storage by URL: files on object stores and shares, read and written through fsspec.

A bulk CSV, the documents it names, the results CSV and the catalog's state folder may each be a local path or
a URL. Workers on several machines then share one place for inputs and outputs, and an operator can hand the
pipeline a file (and fetch what it produced) without touching a worker's disk.

Schemes
-------
=====================  ===================================================================================
``s3://``, ``s3a://``  Amazon S3 and S3-compatible stores (``pip install 'telnyx-compliance[s3]'``, s3fs)
``gs://``, ``gcs://``  Google Cloud Storage (``[gcs]``, gcsfs)
``az://``, ``abfs://`` Azure Blob Storage / Data Lake (``[azure]``, adlfs)
``file://``            a local path, under the same rules as a plain path
``memory://``          this process's memory (tests)
``http(s)://``         read only, through :mod:`telnyx_compliance._netguard` (public hosts unless allowed)
=====================  ===================================================================================

Any other scheme, and fsspec's chained URLs (``simplecache::s3://…``), are refused: a URL comes from whoever
starts a run, and fsspec also speaks ``ssh``, ``ftp``, ``github`` and archive formats.

Credentials come from each store's standard environment (``AWS_ACCESS_KEY_ID``, ``AWS_ENDPOINT_URL`` for
S3-compatible stores, ``GOOGLE_APPLICATION_CREDENTIALS``, ``AZURE_STORAGE_*``), or from ``storage_options``
(fsspec's keyword arguments, e.g. ``{"key": ..., "secret": ..., "endpoint_url": ...}``), which the flows load
from a Prefect Secret block. Messages name URLs through :func:`redact`: no ``user:pass@``, no query string.

Reads are *staged*: the object is copied to a local folder (:func:`staging_dir`) and the rest of the pipeline
reads that copy, under the same checks as a local file (size, content, re-read before upload).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from telnyx_compliance._netguard import FetchError, allow_private_from_env, download, redact_url

__all__ = [
    "HTTP_SCHEMES",
    "OBJECT_SCHEMES",
    "StorageError",
    "browser_link",
    "check_location",
    "exists",
    "filesystem",
    "is_remote",
    "is_url",
    "join_under",
    "list_files",
    "local_path",
    "on_store",
    "parent",
    "put_bytes",
    "read_bytes",
    "read_head",
    "redact",
    "remove",
    "stage",
    "staging_dir",
    "under",
]

#: Schemes read and written through fsspec, with the package that provides each.
OBJECT_SCHEMES: Final[Mapping[str, str]] = {
    "s3": "s3fs",
    "s3a": "s3fs",
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "az": "adlfs",
    "abfs": "adlfs",
    "abfss": "adlfs",
    "memory": "fsspec",
}
_EXTRA: Final[Mapping[str, str]] = {"s3fs": "s3", "gcsfs": "gcs", "adlfs": "azure"}
#: Read-only schemes, fetched through the network guard.
HTTP_SCHEMES: Final = frozenset({"http", "https"})
#: Largest object staged in one read when the caller gives no cap.
DEFAULT_MAX_BYTES: Final = 512 * 1024 * 1024
_CHUNK: Final = 1024 * 1024

StorageOptions = Mapping[str, Any]


class StorageError(ValueError):
    """A location was refused or could not be read or written; the message names it redacted."""


def is_url(location: str) -> bool:
    """``location`` has a scheme (``s3://…``, ``file://…``); ``C:\\…`` and plain paths do not."""
    scheme = urlsplit(location).scheme
    return len(scheme) > 1 and "://" in location


def is_remote(location: str) -> bool:
    """A URL that is not ``file://``: read by staging, written through fsspec."""
    return is_url(location) and _scheme(location) != "file"


def on_store(location: str) -> bool:
    """A URL into an object store (:data:`OBJECT_SCHEMES`): neither a local path nor http(s)."""
    return is_remote(location) and _scheme(location) not in HTTP_SCHEMES


def redact(location: str) -> str:
    """``location`` as it may be logged: a URL without credentials or query string, a path as it is."""
    return redact_url(location) if is_url(location) else location


def _scheme(location: str) -> str:
    return urlsplit(location).scheme.lower()


def local_path(location: str) -> Path:
    """The local path of a plain path or ``file://`` URL."""
    if not is_url(location):
        return Path(location)
    if _scheme(location) != "file":
        raise StorageError(f"{redact(location)} is not a local path")
    parts = urlsplit(location)
    if parts.netloc not in ("", "localhost"):
        raise StorageError(f"{redact(location)}: file:// URLs must name a local path (file:///…)")
    return Path(unquote(parts.path))


def check_location(location: str, *, writable: bool = False) -> None:
    """Refuse what this module does not read (or, with ``writable``, write): other schemes, chained URLs,
    NULs, http(s) as a destination."""
    if "\x00" in location:
        raise StorageError("the location contains a NUL character")
    if not is_url(location):
        return
    if "::" in location.split("?", 1)[0]:
        raise StorageError(f"{redact(location)}: chained fsspec URLs are refused; name one store")
    if ".." in urlsplit(location).path.split("/"):
        raise StorageError(f"{redact(location)}: '..' is refused in a URL; name the object directly")
    scheme = _scheme(location)
    if scheme in HTTP_SCHEMES:
        if writable:
            raise StorageError(f"{redact(location)}: http(s) is read-only; write to a path or a store")
        return
    if scheme != "file" and scheme not in OBJECT_SCHEMES:
        known = ", ".join(f"{s}://" for s in sorted({*OBJECT_SCHEMES, "file", *HTTP_SCHEMES}))
        raise StorageError(f"{redact(location)}: the scheme {scheme}:// is not supported (expected {known})")


def filesystem(location: str, options: StorageOptions | None = None) -> tuple[Any, str]:
    """(fsspec filesystem, path within it) for a URL of :data:`OBJECT_SCHEMES` or ``file://``."""
    check_location(location)
    scheme = _scheme(location)
    if scheme in HTTP_SCHEMES:
        raise StorageError(f"{redact(location)}: http(s) is read through the network guard, not fsspec")
    import fsspec.core

    kwargs = dict(options or {})
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if scheme in {"s3", "s3a"} and endpoint and "endpoint_url" not in kwargs:
        kwargs["endpoint_url"] = endpoint  # also keys fsspec's instance cache: a new endpoint, a new client
    try:
        fs, path = fsspec.core.url_to_fs(location, **kwargs)
    except ImportError:
        package = OBJECT_SCHEMES.get(scheme, "fsspec")
        extra = _EXTRA.get(package)
        hint = f"pip install 'telnyx-compliance[{extra}]'" if extra else f"pip install {package}"
        raise StorageError(f"{redact(location)}: {scheme}:// needs the {package} package ({hint})") from None
    except (ValueError, TypeError) as error:
        raise StorageError(f"{redact(location)}: {_reason(error)}") from None
    return fs, str(path)


def _reason(error: BaseException) -> str:
    """An fsspec/botocore error as one line, without anything that could carry a credential."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    for secret_name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "TELNYX_API_KEY"):
        secret = os.environ.get(secret_name)
        if secret:
            text = text.replace(secret, "***")
    return text[:300]


def _url(fs: Any, path: str) -> str:
    return str(fs.unstrip_protocol(path))


def parent(location: str) -> str:
    """The folder (or prefix) holding ``location``, as a location of the same kind."""
    if not is_url(location):
        return str(Path(location).parent)
    parts = urlsplit(location)
    folder = posixpath.dirname(parts.path.rstrip("/"))
    return f"{parts.scheme}://{parts.netloc}{folder}"


def _normal_key(location: str) -> tuple[str, str, str]:
    parts = urlsplit(location)
    path = posixpath.normpath("/" + parts.path.lstrip("/")) if parts.path else "/"
    return parts.scheme.lower(), parts.netloc, path


def under(location: str, prefix: str) -> bool:
    """``location`` lies inside the folder or prefix ``prefix`` (compared by path segments, after
    normalising ``..``; a URL query plays no part)."""
    if is_url(location) != is_url(prefix):
        return False
    if not is_url(location):
        return Path(os.path.normpath(os.path.abspath(location))).is_relative_to(
            os.path.normpath(os.path.abspath(prefix))
        )
    scheme, netloc, path = _normal_key(location)
    root_scheme, root_netloc, root = _normal_key(prefix)
    if (scheme, netloc) != (root_scheme, root_netloc):
        return False
    return path == root or path.startswith(root.rstrip("/") + "/")


def join_under(prefix: str, written: str) -> str:
    """The URL ``written`` names inside ``prefix``: a relative path (``docs/a.pdf``) or a full URL inside the
    prefix. Raises :class:`StorageError` when it would leave the prefix (``..``, an absolute path, another
    bucket or scheme) or is not a plain path."""
    if "\x00" in written:
        raise StorageError("the path contains a NUL character")
    if "\\" in written:
        raise StorageError("backslash paths are refused: write the path with '/'")
    if is_url(written):
        check_location(written)
        if not under(written, prefix):
            raise StorageError(f"the URL lies outside the documents prefix {redact(prefix)}: refused")
        return written
    if written.startswith("/"):
        raise StorageError(f"expected a path relative to the documents prefix {redact(prefix)}")
    relative = posixpath.normpath(written)
    if relative == ".." or relative.startswith("../"):
        raise StorageError(f"the path resolves outside the documents prefix {redact(prefix)}: refused")
    return prefix.rstrip("/") + "/" + relative


def staging_dir(location: str, root: Path | None = None) -> Path:
    """The local folder where copies of objects under ``location`` are kept: one per prefix (so a rerun finds
    the same folder), under ``root`` (default: the system's temporary folder)."""
    base = root if root is not None else Path(tempfile.gettempdir()) / "telnyx-compliance-staging"
    digest = hashlib.sha256(location.encode()).hexdigest()[:16]
    return base / digest


def exists(location: str, options: StorageOptions | None = None) -> bool:
    if not is_remote(location):
        return local_path(location).exists()
    fs, path = filesystem(location, options)
    try:
        fs.invalidate_cache(path)  # another process may have written it since
        return bool(fs.exists(path))
    except OSError as error:
        raise StorageError(f"{redact(location)}: {_reason(error)}") from None


def read_bytes(
    location: str, *, max_bytes: int = DEFAULT_MAX_BYTES, options: StorageOptions | None = None
) -> bytes:
    """The content of a file or object (at most ``max_bytes``; more is an error, not a cut)."""
    if not is_remote(location):
        path = local_path(location)
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    else:
        fs, path_in_fs = filesystem(location, options)
        try:
            fs.invalidate_cache(path_in_fs)
            with fs.open(path_in_fs, "rb") as handle:
                data = handle.read(max_bytes + 1)
        except FileNotFoundError:
            raise
        except OSError as error:
            raise StorageError(f"{redact(location)}: {_reason(error)}") from None
    if len(data) > max_bytes:
        raise StorageError(f"{redact(location)} is larger than {max_bytes:,} bytes")
    return bytes(data)


def read_head(location: str, size: int, *, options: StorageOptions | None = None) -> bytes:
    """The first ``size`` bytes of a file or object (fewer when it is shorter): enough to recognise it."""
    if not is_remote(location):
        with local_path(location).open("rb") as handle:
            return handle.read(size)
    fs, path_in_fs = filesystem(location, options)
    try:
        fs.invalidate_cache(path_in_fs)
        with fs.open(path_in_fs, "rb") as handle:
            return bytes(handle.read(size))
    except FileNotFoundError:
        raise
    except OSError as error:
        raise StorageError(f"{redact(location)}: {_reason(error)}") from None


def put_bytes(location: str, data: bytes, options: StorageOptions | None = None) -> None:
    """Write ``data`` as the whole content of ``location`` (an object is replaced at once; a local file is
    written beside and renamed, so a reader never sees half of it)."""
    check_location(location, writable=True)
    if not is_remote(location):
        path = local_path(location)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        return
    fs, path_in_fs = filesystem(location, options)
    try:
        fs.pipe_file(path_in_fs, data)
    except OSError as error:
        raise StorageError(f"{redact(location)}: {_reason(error)}") from None


def remove(location: str, options: StorageOptions | None = None) -> None:
    """Delete a file or object; a missing one is fine."""
    if not is_remote(location):
        local_path(location).unlink(missing_ok=True)
        return
    fs, path = filesystem(location, options)
    with contextlib.suppress(FileNotFoundError):
        fs.rm_file(path)


def list_files(prefix: str, options: StorageOptions | None = None) -> list[str]:
    """The locations of the files directly inside ``prefix``, sorted by name; empty when there is none."""
    if not is_remote(prefix):
        folder = local_path(prefix)
        return sorted(str(p) for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    fs, path = filesystem(prefix, options)
    try:
        fs.invalidate_cache(path)  # another process may have written parts since
        entries = fs.ls(path, detail=True)
    except FileNotFoundError:
        return []
    except OSError as error:
        raise StorageError(f"{redact(prefix)}: {_reason(error)}") from None
    return sorted(_url(fs, entry["name"]) for entry in entries if entry.get("type") == "file")


def stage(
    location: str,
    target: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    options: StorageOptions | None = None,
    allow_private: bool | None = None,
    time_limit: float = 300.0,
) -> Path:
    """Copy ``location`` to the local file ``target`` (replaced whole, never left half-written) and return
    it. Raises ``FileNotFoundError`` when there is no such object, :class:`StorageError` when it is refused,
    too large or cannot be read. An http(s) URL goes through the network guard."""
    check_location(location)
    target.parent.mkdir(parents=True, exist_ok=True)
    if _scheme(location) in HTTP_SCHEMES:
        try:
            return download(
                location,
                target,
                max_bytes=max_bytes,
                time_limit=time_limit,
                allow_private=allow_private_from_env() if allow_private is None else allow_private,
            )
        except FetchError as error:
            raise StorageError(str(error)) from None
    fs, path = filesystem(location, options)
    temporary = target.with_name(f".{target.name}.part")
    try:
        fs.invalidate_cache(path)
        info = fs.info(path)
        if info.get("type") not in (None, "file"):
            raise StorageError(f"{redact(location)} is not a file")
        size = info.get("size")
        if size is not None and size > max_bytes:
            raise StorageError(f"{redact(location)} is {size:,} bytes, more than the allowed {max_bytes:,}")
        copied = 0
        with fs.open(path, "rb") as source, temporary.open("wb") as sink:
            while chunk := source.read(_CHUNK):
                copied += len(chunk)
                if copied > max_bytes:
                    raise StorageError(f"{redact(location)} is larger than {max_bytes:,} bytes")
                sink.write(chunk)
        os.replace(temporary, target)
    except FileNotFoundError:
        raise
    except OSError as error:
        raise StorageError(f"{redact(location)}: {_reason(error)}") from None
    finally:
        temporary.unlink(missing_ok=True)
    return target


def browser_link(location: str) -> str:
    """A link an operator can open for ``location``: a ``file://`` URI, the store's web console for
    ``s3://`` (or the S3-compatible endpoint in ``AWS_ENDPOINT_URL``) and ``gs://``, else the URL itself.
    Never a pre-signed URL: an artifact must not carry a credential."""
    if not is_url(location):
        return Path(location).resolve().as_uri()
    parts = urlsplit(location)
    bucket, key = parts.netloc, parts.path.lstrip("/")
    scheme = parts.scheme.lower()
    if scheme in {"s3", "s3a"}:
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            return f"{endpoint.rstrip('/')}/{bucket}/{key}"
        return f"https://s3.console.aws.amazon.com/s3/object/{bucket}?prefix={key}"
    if scheme in {"gs", "gcs"}:
        return f"https://console.cloud.google.com/storage/browser/_details/{bucket}/{key}"
    return redact(location)
