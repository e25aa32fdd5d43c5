"""Turning the ``file=`` argument of document uploads into bytes, read once so retries can resend them."""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path
from typing import IO

__all__ = ["FileInput", "read_upload"]

FileInput = bytes | str | os.PathLike[str] | IO[bytes] | tuple[str, bytes] | tuple[str, bytes, str]


def read_upload(file: FileInput, filename: str | None = None) -> tuple[str, bytes, str]:
    """Return ``(filename, content, content_type)`` for a path, raw bytes, a binary file or a tuple."""
    if isinstance(file, tuple):
        name, content = file[0], file[1]
        content_type = file[2] if len(file) == 3 else None
    elif isinstance(file, bytes | bytearray):
        name, content, content_type = filename or "document", bytes(file), None
    elif isinstance(file, str | os.PathLike):
        path = Path(file)
        name, content, content_type = path.name, path.read_bytes(), None
    else:
        content = file.read()
        name, content_type = Path(str(getattr(file, "name", "") or "document")).name, None
    name = filename or name
    if not content_type:
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return name, content, content_type
