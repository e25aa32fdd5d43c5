"""Where a file is: a local path, an object-store URL or an http(s) URL, parsed once into a :class:`Location`.

A run is told where its CSV, documents, results and state live as text the user typed. :meth:`Location.parse`
reads that text once; the rest of the pipeline asks the value what it is instead of looking at the text:

=====================  =========  ===========================================================================
written                ``kind``   read and written
=====================  =========  ===========================================================================
``data/in.csv``        local      where it is (``file:///srv/in.csv`` too, percent-decoded)
``s3://bucket/in.csv`` store      through fsspec (:data:`OBJECT_SCHEMES`), staged to a local copy for reading
``https://host/in.csv`` http      read only, through the network guard (:mod:`telnyx_compliance._netguard`)
=====================  =========  ===========================================================================

A location knows its redacted form (no ``user:pass@``, no query string: :attr:`Location.redacted`, which is
also its ``str`` and ``repr``, so a message cannot leak a pre-signed credential by accident), how to join a
child under it without leaving it (:meth:`Location.join`), whether it lies under a prefix
(:meth:`Location.is_under`), how it is confined to a local folder (:meth:`Location.within`: no ``..`` out of
it, no symbolic link out of it), and which texts are refused outright (:meth:`Location.check`). What a *run*
may name on top of that (data roots, storage roots, results files only, never over another file) is the trust
model's: :func:`telnyx_compliance.onboarding.confine.confine_parameter` applies it to a location.

A store key is read by fsspec as written, ``?`` and ``#`` included, while a URL parser cuts there: such
keys are refused, so the ``..`` and prefix checks see the key that is read. A ``%`` is literal in a store key;
a ``file://`` path is percent-decoded, then checked.

This module does no I/O: :mod:`telnyx_compliance.storage` reads and writes.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal
from urllib.parse import unquote, urlsplit

from telnyx_compliance._netguard import redact_url

__all__ = ["HTTP_SCHEMES", "OBJECT_SCHEMES", "ConfinementError", "Kind", "Location", "StorageError"]

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
#: Read-only schemes, fetched through the network guard.
HTTP_SCHEMES: Final = frozenset({"http", "https"})

#: What a location is: read where it is, through a store, or fetched over http(s).
Kind = Literal["local", "store", "http"]

#: A URL's scheme as urlsplit reads it (``simplecache::s3://`` has one too: ``simplecache``).
_SCHEME: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


class StorageError(ValueError):
    """A location was refused or could not be read or written; the message names it redacted."""


class ConfinementError(ValueError):
    """A path or URL names something outside what the run may use; the message says what and why (without
    the content of any file)."""


def _scheme_of(text: str) -> str:
    """The scheme of a URL (``s3``, ``file``), lower case; empty for a plain path (``C:\\…`` included)."""
    match = _SCHEME.match(text)
    scheme = match.group(1).lower() if match else ""
    return scheme if len(scheme) > 1 and "://" in text else ""


@dataclass(frozen=True)
class Location:
    """A path or URL, parsed once. :attr:`text` is what was written and the only form handed to I/O; the
    ``str`` and ``repr`` of a location are its :attr:`redacted` form."""

    text: str = field(repr=False)
    #: The URL's scheme in lower case (``s3``, ``file``, ``https``); empty for a plain path.
    scheme: str = field(repr=False)

    @classmethod
    def parse(cls, value: str | os.PathLike[str] | Location) -> Location:
        """The location ``value`` names. Nothing is refused here: :meth:`check` does that."""
        if isinstance(value, Location):
            return value
        text = os.fspath(value)
        return cls(text, _scheme_of(text))

    # What it is ------------------------------------------------------------------------------------------

    @property
    def kind(self) -> Kind:
        if self.scheme in ("", "file"):
            return "local"
        return "http" if self.scheme in HTTP_SCHEMES else "store"

    @property
    def is_local(self) -> bool:
        """A plain path or ``file://`` URL: read and written where it is."""
        return self.kind == "local"

    @property
    def is_store(self) -> bool:
        """A URL into an object store (any scheme but ``file`` and http(s); :meth:`check` refuses those
        outside :data:`OBJECT_SCHEMES`)."""
        return self.kind == "store"

    @property
    def is_http(self) -> bool:
        """An ``http(s)://`` URL: read only, through the network guard."""
        return self.kind == "http"

    @property
    def has_scheme(self) -> bool:
        """Written with a scheme (``file://`` included)."""
        return self.scheme != ""

    # How it is named -------------------------------------------------------------------------------------

    @property
    def redacted(self) -> str:
        """As it may be logged: a URL without credentials or query string, a path as it is. A store key is
        shown up to a ``?`` or ``#`` in it (then ``?...``): what follows is not known to be harmless."""
        if not self.has_scheme:
            return self.text
        if not self.is_http:
            head, _, key = self.text.partition("://")
            mark = re.search(r"[?#]", key)
            if mark:
                return redact_url(f"{head}://{key[: mark.start()]}") + "?..."
        return redact_url(self.text)

    def __str__(self) -> str:
        return self.redacted

    def __repr__(self) -> str:
        return f"Location({self.redacted!r})"

    @property
    def name(self) -> str:
        """The last segment of the path or key (``in.csv``); empty for a bucket or host alone."""
        if not self.has_scheme:
            return Path(self.text).name
        return posixpath.basename(self._split()[1].rstrip("/"))

    # Its parts -------------------------------------------------------------------------------------------

    def _split(self) -> tuple[str, str]:
        """(netloc, path) as the reader sees them: urlsplit's for http(s); for a store or ``file://`` URL the
        path runs to the end of the text, as fsspec reads it (a ``?`` or ``#`` is part of the key), and a
        ``file://`` path is percent-decoded, as :attr:`path` does."""
        if self.is_http:
            parts = urlsplit(self.text)
            return parts.netloc, parts.path
        rest = self.text.split("://", 1)[1] if "://" in self.text else ""
        netloc, slash, path = rest.partition("/")
        path = slash + path
        return netloc, unquote(path) if self.scheme == "file" else path

    @property
    def key(self) -> str:
        """The path inside the bucket or host (``/batch/in.csv``), as the reader sees it."""
        return self._split()[1]

    @property
    def path(self) -> Path:
        """The local path of a plain path or ``file://`` URL; :class:`StorageError` for any other."""
        if not self.has_scheme:
            return Path(self.text)
        if self.scheme != "file":
            raise StorageError(f"{self} is not a local path")
        self._check_file_host()
        return Path(self._split()[1])

    def _check_file_host(self) -> None:
        if self._split()[0] not in ("", "localhost"):
            raise StorageError(f"{self}: file:// URLs must name a local path (file:///…)")

    @property
    def parent(self) -> Location:
        """The folder (or prefix) holding this location, of the same kind."""
        if not self.has_scheme:
            return Location.parse(str(Path(self.text).parent))
        netloc, path = self._split()
        return Location.parse(f"{self.scheme}://{netloc}{posixpath.dirname(path.rstrip('/'))}")

    def resolved(self) -> Location:
        """A local location as an absolute path with links resolved (how a run is keyed); a URL as written."""
        return Location.parse(str(self.path.expanduser().resolve())) if self.is_local else self

    def child(self, name: str) -> Location:
        """``name`` (a fixed name of this pipeline's, such as ``latest.json``) inside this folder or prefix.
        For a name someone else wrote, use :meth:`join`."""
        if self.is_local and not self.has_scheme:
            return Location.parse(str(Path(self.text) / name))
        return Location.parse(f"{self.text.rstrip('/')}/{name}")

    # What is refused -------------------------------------------------------------------------------------

    def check(self, *, writable: bool = False) -> Location:
        """This location, unless it is something :mod:`telnyx_compliance.storage` does not read (or, with
        ``writable``, write): other schemes, chained URLs, ``..``, NULs, ``?`` and ``#`` in a store key,
        ``file://`` with a host, http(s) as a destination. Raises :class:`StorageError`."""
        if "\x00" in self.text:
            raise StorageError("the location contains a NUL character")
        if not self.has_scheme:
            return self
        try:
            urlsplit(self.text)
        except ValueError:
            raise StorageError(f"{self}: not a valid URL") from None
        path = self._split()[1]
        if self._chained():
            raise StorageError(f"{self}: chained fsspec URLs are refused; name one store")
        if not self.is_http and self.scheme != "file" and self.scheme not in OBJECT_SCHEMES:
            known = ", ".join(f"{s}://" for s in sorted({*OBJECT_SCHEMES, "file", *HTTP_SCHEMES}))
            raise StorageError(f"{self}: the scheme {self.scheme}:// is not supported (expected {known})")
        if not self.is_http:
            self._refuse_query_marks(self.text.split("://", 1)[1])
        if "\x00" in path:  # a file:// path is percent-decoded: %00
            raise StorageError("the location contains a NUL character")
        if ".." in path.split("/"):
            raise StorageError(f"{self}: '..' is refused in a URL; name the object directly")
        if self.is_http and writable:
            raise StorageError(f"{self}: http(s) is read-only; write to a path or a store")
        if self.scheme == "file":
            self._check_file_host()
        return self

    def _chained(self) -> bool:
        """fsspec reads ``::`` anywhere in a URL it opens as a chain (``simplecache::s3://…``). An http(s) URL
        is not opened by fsspec: there ``::`` is allowed in a bracketed IPv6 host and the query only."""
        if not self.is_http:
            return "::" in self.text
        head, _, rest = self.text.partition("://")
        rest = re.split(r"[?#]", rest, maxsplit=1)[0]
        netloc, slash, path = rest.partition("/")
        host = re.sub(r"^([^@]*@)?\[[0-9A-Fa-f:.%\w-]*\]", r"\1", netloc)
        return "::" in f"{head}://{host}{slash}{path}"

    def _refuse_query_marks(self, key: str) -> None:
        """A store key with ``?`` or ``#``: fsspec reads them as part of the key while a URL parser cuts
        there, so the checks on ``..`` and prefixes would look at another key than the one read."""
        if "?" in key or "#" in key:
            raise StorageError(f"{self}: store keys with '?' or '#' are refused; rename the object")

    # Prefixes --------------------------------------------------------------------------------------------

    def _normal_key(self) -> tuple[str, str, str]:
        netloc, path = self._split()
        return self.scheme, netloc, posixpath.normpath("/" + path.lstrip("/")) if path else "/"

    def is_under(self, prefix: Location | str) -> bool:
        """This location lies inside the folder or prefix ``prefix`` (compared by path segments, after
        normalising ``..``, on the key a store reads; an http(s) query plays no part)."""
        root = Location.parse(prefix)
        if self.has_scheme != root.has_scheme:
            return False
        if not self.has_scheme:
            return Path(os.path.normpath(os.path.abspath(self.text))).is_relative_to(
                os.path.normpath(os.path.abspath(root.text))
            )
        scheme, netloc, path = self._normal_key()
        root_scheme, root_netloc, root_path = root._normal_key()
        if (scheme, netloc) != (root_scheme, root_netloc):
            return False
        return path == root_path or path.startswith(root_path.rstrip("/") + "/")

    def join(self, written: str) -> Location:
        """The location ``written`` names inside this prefix: a relative path (``docs/a.pdf``) or a full URL
        inside it. Raises :class:`StorageError` when it would leave the prefix (``..``, an absolute path,
        another bucket or scheme) or is not a plain path."""
        if "\x00" in written:
            raise StorageError("the path contains a NUL character")
        if "\\" in written:
            raise StorageError("backslash paths are refused: write the path with '/'")
        given = Location.parse(written)
        if given.has_scheme:
            given.check()
            if not given.is_under(self):
                raise StorageError(f"the URL lies outside the documents prefix {self}: refused")
            return given
        if written.startswith("/"):
            raise StorageError(f"expected a path relative to the documents prefix {self}")
        if self.is_store or self.scheme == "file":
            Location.parse(f"{self.text.rstrip('/')}/{written}")._refuse_query_marks(written)
        relative = posixpath.normpath(written)
        if relative == ".." or relative.startswith("../"):
            raise StorageError(f"the path resolves outside the documents prefix {self}: refused")
        return Location.parse(self.text.rstrip("/") + "/" + relative)

    def within(self, root: Path) -> Path:
        """The resolved path of this location, a path relative to ``root`` or absolute inside it.

        Checked as written (no NUL, no URL, no UNC or backslash path, no ``..`` out of ``root``) and as
        resolved (no symbolic link out of ``root``). Raises :class:`ConfinementError`.
        """
        text = self.text
        if "\x00" in text:
            raise ConfinementError("the path contains a NUL character")
        if "://" in text:
            raise ConfinementError("expected a file path, got a URL: download the document first")
        if "\\" in text or text.startswith("//"):
            raise ConfinementError("UNC and backslash paths are refused: write the path with '/'")
        base = root.resolve()
        lexical = Path(os.path.normpath(text if os.path.isabs(text) else base / text))
        if not lexical.is_relative_to(base):
            raise ConfinementError(f"the path resolves outside the documents folder {base}: refused")
        resolved = lexical.resolve()
        if not resolved.is_relative_to(base):
            links = (Path(*lexical.parts[: i + 1]) for i in range(len(lexical.parts)))
            link = next((str(part) for part in links if part.is_symlink()), str(lexical))
            raise ConfinementError(
                f"the path goes through a symbolic link ({link}) that resolves outside the documents folder "
                f"{base}: refused"
            )
        return resolved
