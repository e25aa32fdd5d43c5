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
from a Prefect Secret block. Messages name URLs redacted: no ``user:pass@``, no query string.

What a location *is* (its kind, parent, what lies under it, what is refused) is told by
:class:`~telnyx_compliance.locations.Location`; every function here takes a location or its text.
:func:`redact`, :func:`check_location`, :func:`local_path`, :func:`parent`, :func:`under` and
:func:`join_under` give that class's answers for a location written as text.

Reads are *staged*: the object is copied to a local folder (:func:`staging_dir`) and the rest of the pipeline
reads that copy, under the same checks as a local file (size, content, re-read before upload). The copies are
confidential: the staging folder is this user's alone (0700, see :func:`staging_root`) and each copy is a new
0600 file renamed into place, so no other user of the machine reads it or redirects it with a symlink.

A store that fails is reported in one line by kind (not found, access denied, no credentials, cannot
reach the store, invalid options), never with the store's own text, which can name the endpoint or quote a
policy or an option.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import socket
import stat
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlsplit

from telnyx_compliance._netguard import FetchError, allow_private_from_env, download
from telnyx_compliance.locations import HTTP_SCHEMES, OBJECT_SCHEMES, Location, StorageError

__all__ = [
    "HTTP_SCHEMES",
    "OBJECT_SCHEMES",
    "STAGING_ENV",
    "Location",
    "NamedOptions",
    "StorageError",
    "browser_link",
    "check_location",
    "exists",
    "filesystem",
    "join_under",
    "list_files",
    "local_path",
    "parent",
    "put_bytes",
    "read_bytes",
    "read_head",
    "redact",
    "remove",
    "stage",
    "staging_dir",
    "staging_root",
    "under",
]

_EXTRA: Final[Mapping[str, str]] = {"s3fs": "s3", "gcsfs": "gcs", "adlfs": "azure"}
#: Largest object staged in one read when the caller gives no cap.
DEFAULT_MAX_BYTES: Final = 512 * 1024 * 1024
_CHUNK: Final = 1024 * 1024
#: The setting that names the staging folder (``PipelineSettings.staging_dir``).
STAGING_ENV: Final = "COMPLIANCE_STAGING_DIR"

StorageOptions = Mapping[str, Any]


class NamedOptions(dict[str, Any]):
    """Storage options that know where they are kept (``Secret block 'x'``): a message about them names that
    place, never their keys or values, and their repr shows neither."""

    def __init__(self, options: Mapping[str, Any], source: str) -> None:
        super().__init__(options)
        self.source = source

    def __repr__(self) -> str:
        return f"<storage options from {self.source}>"

    __str__ = __repr__


def redact(location: str | Location) -> str:
    """``location`` as it may be logged (:attr:`Location.redacted`)."""
    return Location.parse(location).redacted


def check_location(location: str | Location, *, writable: bool = False) -> Location:
    """``location`` parsed, unless refused (:meth:`Location.check`)."""
    return Location.parse(location).check(writable=writable)


def local_path(location: str | Location) -> Path:
    """The local path of a plain path or ``file://`` URL (:attr:`Location.path`)."""
    return Location.parse(location).path


def parent(location: str | Location) -> str:
    """The folder (or prefix) holding ``location``, as written (:attr:`Location.parent`)."""
    return Location.parse(location).parent.text


def under(location: str | Location, prefix: str | Location) -> bool:
    """``location`` lies inside the folder or prefix ``prefix`` (:meth:`Location.is_under`)."""
    return Location.parse(location).is_under(prefix)


def join_under(prefix: str | Location, written: str) -> str:
    """The URL ``written`` names inside ``prefix``, or :class:`StorageError` (:meth:`Location.join`)."""
    return Location.parse(prefix).join(written).text


def filesystem(location: str | Location, options: StorageOptions | None = None) -> tuple[Any, str]:
    """(fsspec filesystem, path within it) for a URL of :data:`OBJECT_SCHEMES` or ``file://``."""
    where = check_location(location)
    scheme = where.scheme
    if where.is_http:
        raise StorageError(f"{where}: http(s) is read through the network guard, not fsspec")
    import fsspec.core

    kwargs = dict(options or {})
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if scheme in {"s3", "s3a"} and endpoint and "endpoint_url" not in kwargs:
        kwargs["endpoint_url"] = endpoint  # also keys fsspec's instance cache: a new endpoint, a new client
    try:
        fs, path = fsspec.core.url_to_fs(where.text, **kwargs)
    except ImportError:
        package = OBJECT_SCHEMES.get(scheme, "fsspec")
        extra = _EXTRA.get(package)
        hint = f"pip install 'telnyx-compliance[{extra}]'" if extra else f"pip install {package}"
        raise StorageError(f"{where}: {scheme}:// needs the {package} package ({hint})") from None
    except Exception as error:
        raise StorageError(f"{where}: {_reason(error, scheme, options)}") from None
    return fs, str(path)


#: Error classes (by name, so no store's package is imported) that mean no credentials were found.
_NO_CREDENTIALS: Final = frozenset(
    {
        "NoCredentialsError",
        "PartialCredentialsError",
        "CredentialRetrievalError",
        "DefaultCredentialsError",
        "CredentialUnavailableError",
    }
)
#: ... that mean the store refused the request's credentials or permissions.
_DENIED: Final = frozenset({"ClientAuthenticationError", "RefreshError", "HttpResponseError403"})
#: ... that mean the store could not be reached (connection, DNS, TLS, timeouts).
_UNREACHABLE: Final = frozenset(
    {
        "ConnectionError",
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
        "ProxyConnectionError",
        "SSLError",
        "HTTPClientError",
        "ClientConnectionError",
        "ClientConnectorError",
        "ServerDisconnectedError",
        "ServerTimeoutError",
        "ServiceRequestError",
        "ServiceResponseError",
        "FSTimeoutError",
        "TransportError",
    }
)
_NOT_FOUND_CODES: Final = frozenset({"NoSuchBucket", "NoSuchKey", "404", "BlobNotFound", "ContainerNotFound"})
_CREDENTIAL_CODES: Final = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "AuthenticationFailed"}
)
_CODE: Final = re.compile(r"[A-Za-z][A-Za-z0-9.]{0,63}|[0-9]{3}")


def _error_code(error: BaseException) -> str | None:
    """The store's error code (``NoSuchBucket``, ``AccessDenied``) behind ``error``, when it is a plain
    token; s3fs keeps botocore's error as the cause of the ``OSError`` it raises."""
    for candidate in (error, error.__cause__, error.__context__):
        response = getattr(candidate, "response", None)
        if isinstance(response, Mapping):
            details = response.get("Error")
            code = details.get("Code") if isinstance(details, Mapping) else None
            if isinstance(code, str) and _CODE.fullmatch(code):
                return code
    return None


def _options_named(options: StorageOptions | None) -> str:
    source = getattr(options, "source", None)
    if source:
        return f"the storage options in {source}"
    return "the storage options" if options else "the store's settings in the environment"


def _reason(error: BaseException, scheme: str, options: StorageOptions | None) -> str:
    """Why a store call failed, in a few words by kind of error. Never the error's own text: botocore's and
    aiohttp's name the endpoint URL, a store's can quote a bucket policy, and a ``TypeError`` about options
    can quote an option."""
    names = {cls.__name__ for cls in type(error).__mro__}
    code = _error_code(error)
    kind = type(error).__name__
    if isinstance(error, FileNotFoundError) or code in _NOT_FOUND_CODES:
        return "not found (no such bucket, folder or object)"
    if names & _NO_CREDENTIALS:
        return f"no credentials for {scheme}:// were found ({kind})"
    if isinstance(error, PermissionError) or names & _DENIED or code in {"AccessDenied", "403"}:
        if code in _CREDENTIAL_CODES:
            return f"access denied: the store did not accept the credentials ({code})"
        return "access denied"
    if isinstance(error, (ConnectionError, TimeoutError, socket.gaierror)) or names & _UNREACHABLE:
        return f"cannot reach the store ({kind})"
    if isinstance(error, TypeError):
        return f"{_options_named(options)} are invalid for {scheme}:// ({kind})"
    if isinstance(error, ValueError) or "ParamValidationError" in names:
        return f"the bucket name or {_options_named(options)} are invalid for {scheme}:// ({kind})"
    if isinstance(error, IsADirectoryError):
        return "a folder, not a file"
    if code:
        return f"the store answered {code}"
    if isinstance(error, OSError) and error.errno:
        return f"{os.strerror(error.errno)} ({kind})"
    return f"failed ({kind})"


@contextlib.contextmanager
def _store_call(
    location: str | Location, options: StorageOptions | None, *, keep_not_found: bool = False
) -> Iterator[None]:
    """Any error of the fsspec calls inside as one :class:`StorageError` line naming ``location`` redacted;
    with ``keep_not_found``, a missing object stays a ``FileNotFoundError`` (callers tell it apart)."""
    try:
        yield
    except StorageError:
        raise
    except FileNotFoundError:
        if keep_not_found:
            raise FileNotFoundError(errno.ENOENT, "no such object", redact(location)) from None
        raise StorageError(f"{redact(location)}: not found (no such bucket, folder or object)") from None
    except Exception as error:
        raise StorageError(
            f"{redact(location)}: {_reason(error, Location.parse(location).scheme, options)}"
        ) from None


def _url(fs: Any, path: str) -> str:
    return str(fs.unstrip_protocol(path))


def staging_root(root: Path | None = None) -> Path:
    """The folder staged copies are kept in, made ready: ``root`` (``COMPLIANCE_STAGING_DIR``) when given,
    else this user's ``$XDG_CACHE_HOME/telnyx-compliance/staging`` (``~/.cache/…``), or
    ``<tempdir>/telnyx-compliance-<uid>`` when the home cannot be written. Staged CSVs and documents are
    confidential: the folder is created 0700, and refused when it is a symlink or another user's (tightened
    to 0700 when it is ours but open to others)."""
    if root is None:
        cache = os.environ.get("XDG_CACHE_HOME", "")
        try:
            base = Path(cache) if os.path.isabs(cache) else Path.home() / ".cache"
            return _private_root(base / "telnyx-compliance" / "staging")
        except (OSError, RuntimeError):  # no home, or one this user cannot write (a service account's "/")
            uid = os.geteuid() if hasattr(os, "geteuid") else 0
            root = Path(tempfile.gettempdir()) / f"telnyx-compliance-{uid}"
    try:
        return _private_root(root)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise StorageError(
            f"the staging folder {root} cannot be created ({reason}); set {STAGING_ENV} to a folder of yours"
        ) from None


def _private_folders(folder: Path) -> None:
    """Create ``folder`` and its missing parents, each 0700 (an existing one is left as it is)."""
    missing: list[Path] = []
    while not os.path.lexists(folder) and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)


def _private_root(root: Path) -> Path:
    """``root``, created 0700 when missing; refused when a symlink, not a folder or another user's."""
    _private_folders(root)
    info = os.lstat(root)
    if stat.S_ISLNK(info.st_mode):
        raise StorageError(
            f"the staging folder {root} is a symbolic link: refused; set {STAGING_ENV} to a private folder"
        )
    if not stat.S_ISDIR(info.st_mode):
        raise StorageError(
            f"the staging folder {root} is not a folder; set {STAGING_ENV} to a private folder"
        )
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        raise StorageError(
            f"the staging folder {root} belongs to another user: refused; set {STAGING_ENV} to a folder "
            "of your own"
        )
    if info.st_mode & 0o077:
        os.chmod(root, 0o700)  # ours, but others could read the staged copies
    return root


def staging_dir(location: str, root: Path | None = None) -> Path:
    """The local folder where copies of objects under ``location`` are kept, created (0700) when missing:
    one per prefix (so a rerun finds the same folder), under :func:`staging_root`."""
    digest = hashlib.sha256(location.encode()).hexdigest()[:16]
    folder = staging_root(root) / digest
    _private_folders(folder)
    return folder


def exists(location: str | Location, options: StorageOptions | None = None) -> bool:
    """Whether the file or object exists (asked again each time: another process may have written it)."""
    if Location.parse(location).is_local:
        return local_path(location).exists()
    fs, path = filesystem(location, options)
    with _store_call(location, options):
        fs.invalidate_cache(path)
        return bool(fs.exists(path))


def read_bytes(
    location: str | Location, *, max_bytes: int = DEFAULT_MAX_BYTES, options: StorageOptions | None = None
) -> bytes:
    """The content of a file or object (at most ``max_bytes``; more is an error, not a cut)."""
    if Location.parse(location).is_local:
        path = local_path(location)
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    else:
        fs, path_in_fs = filesystem(location, options)
        with _store_call(location, options, keep_not_found=True):
            fs.invalidate_cache(path_in_fs)
            with fs.open(path_in_fs, "rb") as handle:
                data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise StorageError(f"{redact(location)} is larger than {max_bytes:,} bytes")
    return bytes(data)


def read_head(location: str | Location, size: int, *, options: StorageOptions | None = None) -> bytes:
    """The first ``size`` bytes of a file or object (fewer when it is shorter): enough to recognise it."""
    if Location.parse(location).is_local:
        with local_path(location).open("rb") as handle:
            return handle.read(size)
    fs, path_in_fs = filesystem(location, options)
    with _store_call(location, options, keep_not_found=True):
        fs.invalidate_cache(path_in_fs)
        with fs.open(path_in_fs, "rb") as handle:
            return bytes(handle.read(size))


def _write_new(folder: Path, name: str) -> tuple[Any, Path]:
    """A new file beside ``folder/name`` to write it through: created with O_EXCL and mode 0600 under a
    random name, so a symlink planted at a predictable name cannot redirect the write."""
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    return os.fdopen(descriptor, "wb"), Path(temporary)


def put_bytes(location: str | Location, data: bytes, options: StorageOptions | None = None) -> None:
    """Write ``data`` as the whole content of ``location`` (an object is replaced at once; a local file is
    written beside, only this user's, and renamed, so a reader never sees half of it)."""
    check_location(location, writable=True)
    if Location.parse(location).is_local:
        path = local_path(location)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = _write_new(path.parent, path.name)
        try:
            with handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)  # replaces a symlink at path itself, never what it points to
        finally:
            temporary.unlink(missing_ok=True)
        return
    fs, path_in_fs = filesystem(location, options)
    with _store_call(location, options):
        fs.pipe_file(path_in_fs, data)


def remove(location: str | Location, options: StorageOptions | None = None) -> None:
    """Delete a file or object; a missing one is fine."""
    if Location.parse(location).is_local:
        local_path(location).unlink(missing_ok=True)
        return
    fs, path = filesystem(location, options)
    with _store_call(location, options), contextlib.suppress(FileNotFoundError):
        fs.rm_file(path)


def list_files(prefix: str | Location, options: StorageOptions | None = None) -> list[str]:
    """The locations of the files directly inside ``prefix``, sorted by name; empty when there is none."""
    if Location.parse(prefix).is_local:
        folder = local_path(prefix)
        return sorted(str(p) for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    fs, path = filesystem(prefix, options)
    try:
        with _store_call(prefix, options, keep_not_found=True):
            fs.invalidate_cache(path)  # another process may have written parts since
            entries = fs.ls(path, detail=True)
    except FileNotFoundError:
        return []
    return sorted(_url(fs, entry["name"]) for entry in entries if entry.get("type") == "file")


def stage(
    location: str | Location,
    target: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    options: StorageOptions | None = None,
    allow_private: bool | None = None,
    time_limit: float = 300.0,
) -> Path:
    """Copy ``location`` to the local file ``target`` (replaced whole, never left half-written; folders it
    creates are 0700, the file 0600) and return it. Raises ``FileNotFoundError`` when there is no such
    object, :class:`StorageError` when it is refused, too large or cannot be read. An http(s) URL goes
    through the network guard."""
    where = check_location(location)
    _private_folders(target.parent)
    if where.is_http:
        try:
            return download(
                where.text,
                target,
                max_bytes=max_bytes,
                time_limit=time_limit,
                allow_private=allow_private_from_env() if allow_private is None else allow_private,
            )
        except FetchError as error:
            raise StorageError(str(error)) from None
    fs, path = filesystem(location, options)
    temporary: Path | None = None
    try:
        with _store_call(location, options, keep_not_found=True):
            fs.invalidate_cache(path)
            info = fs.info(path)
            if info.get("type") not in (None, "file"):
                raise StorageError(f"{redact(location)} is not a file")
            size = info.get("size")
            if size is not None and size > max_bytes:
                raise StorageError(
                    f"{redact(location)} is {size:,} bytes, more than the allowed {max_bytes:,}"
                )
            sink, temporary = _write_new(target.parent, target.name)
            copied = 0
            with sink, fs.open(path, "rb") as source:
                while chunk := source.read(_CHUNK):
                    copied += len(chunk)
                    if copied > max_bytes:
                        raise StorageError(f"{redact(location)} is larger than {max_bytes:,} bytes")
                    sink.write(chunk)
            os.replace(temporary, target)  # replaces a symlink at target itself, never what it points to
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
    return target


def browser_link(location: str | Location) -> str:
    """A link an operator can open for ``location``: a ``file://`` URI, the store's web console for
    ``s3://`` (or the S3-compatible endpoint in ``AWS_ENDPOINT_URL``) and ``gs://``, else the URL itself.
    Never a pre-signed URL: an artifact must not carry a credential."""
    where = Location.parse(location)
    if not where.has_scheme:
        return Path(where.text).resolve().as_uri()
    parts = urlsplit(where.text)
    # Quoted: a key holding '&', '%', a space or a parenthesis must still name the object (and only it).
    # (Store keys are literal: a '%' in one is a percent sign, quoted like any other.)
    bucket, key = quote(parts.netloc, safe=""), quote(parts.path.lstrip("/"), safe="/")
    scheme = parts.scheme.lower()
    if scheme in {"s3", "s3a"}:
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            return f"{endpoint.rstrip('/')}/{bucket}/{key}"
        return f"https://s3.console.aws.amazon.com/s3/object/{bucket}?prefix={key}"
    if scheme in {"gs", "gcs"}:
        return f"https://console.cloud.google.com/storage/browser/_details/{bucket}/{key}"
    return where.redacted
