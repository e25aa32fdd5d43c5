"""Quoting what users typed, safely: short, single-line, no control characters.

Error messages, logs, Prefect states and artifacts quote input so people can find the bad cell. They quote a
short excerpt, not the input: a file that is not what it claims (a ``.env`` given as a CSV) must not have
its contents printed, and a 1 MB cell must not make a 1 MB message.
"""

from __future__ import annotations

import re

__all__ = ["MAX_EXCERPT", "escape_markdown", "excerpt"]

#: Characters of input quoted at most.
MAX_EXCERPT = 40
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
#: Escaped: what could make a link or image (brackets, parentheses, ``!``, and ``:``/``@`` that GFM
#: autolinks), code, or a table break. Other punctuation (``-``, ``_``, ``.``) stays readable in raw text.
_MARKDOWN = re.compile(r"([\\`\[\]()!|:@])")
_WWW = re.compile(r"(?i)\bwww\.")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def excerpt(text: str, limit: int = MAX_EXCERPT) -> str:
    """``text`` on one line, control and bidi characters replaced by ``?``, cut to ``limit`` characters."""
    clean = _CONTROL.sub("?", text)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def escape_markdown(text: str) -> str:
    """``text`` as literal markdown: no links, images, HTML or table breaks from a CSV cell."""
    text = "".join(_HTML.get(ch, ch) for ch in _CONTROL.sub(" ", text))
    return _WWW.sub(lambda m: m.group(0)[:3] + "\\.", _MARKDOWN.sub(r"\\\1", text))
