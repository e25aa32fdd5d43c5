"""Document paths are confined to one folder: whoever writes a CSV row or a request names files, not the disk.

A CSV, an ``onboard-one`` request or the ``onboard_customer`` form in the Prefect UI names documents that the
pipeline uploads to Telnyx. Without a boundary, anyone who can start a run could upload any file the worker
can read (``/etc/passwd``, ``~/.aws/credentials``) to a place they can download it from. So every document
path must lie inside the *documents root*: by default the folder of the CSV or request file, or
``COMPLIANCE_DOCUMENTS_BASE_DIR``.

The check is made twice:

1. on the path as written, before anything is resolved: no NUL, no URL, no UNC or backslash path
   (``\\\\server\\share``), and ``..`` may not climb out of the root;
2. on the resolved path: a symbolic link inside the root that points outside it is refused too.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ConfinementError", "confine"]


class ConfinementError(ValueError):
    """The path names no file inside the documents root; the message says why (without the file's content)."""


def confine(root: Path, written: str | os.PathLike[str]) -> Path:
    """The resolved path of ``written`` (relative to ``root``, or absolute inside it).

    Raises :class:`ConfinementError` when it is not a plain path or leads outside ``root``.
    """
    text = os.fspath(written)
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
