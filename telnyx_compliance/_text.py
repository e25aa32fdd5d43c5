"""Quoting what users typed, safely: short, single-line, no control characters.

Error messages, logs, Prefect states and artifacts quote input so people can find the bad cell. They quote a
short excerpt, not the input: a file that is not what it claims (a ``.env`` given as a CSV) must not have
its contents printed, and a 1 MB cell must not make a 1 MB message.

Text shown whole (a results cell, a log line, an event payload, a terminal table) goes through
:func:`escape_controls`: every control character (C0, DEL, C1, the Unicode line and paragraph separators,
the bidi controls) becomes a visible escape (``\\n``, ``\\x1b``, ``\\u2028``), so a CSV cell cannot start a
new line in a file or a log, move a terminal's cursor, colour it, or reorder what an operator reads.
"""

from __future__ import annotations

import re
from urllib.parse import quote

__all__ = [
    "MAX_EXCERPT",
    "escape_controls",
    "escape_markdown",
    "excerpt",
    "link_target",
    "markdown_code",
    "unescape_controls",
]

#: Characters of input quoted at most.
MAX_EXCERPT = 40
_CONTROL_CHARACTERS = r"\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{_CONTROL_CHARACTERS}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: What :func:`unescape_controls` reads as an escape; any other backslash is itself.
_ESCAPE = r"\\|n|r|t|x[0-9a-f]{2}|u[0-9a-f]{4}"
#: A backslash the reversible form doubles: one that would otherwise read as the start of an escape.
_AMBIGUOUS_BACKSLASH = f"\\\\(?=(?:{_ESCAPE}|[{_CONTROL_CHARACTERS}]))"
_TO_ESCAPE_REVERSIBLY = re.compile(f"{_AMBIGUOUS_BACKSLASH}|[{_CONTROL_CHARACTERS}]")
_ESCAPED = re.compile(f"\\\\({_ESCAPE})")
#: Escaped: what could make a link or image (brackets, parentheses, ``!``, and ``:``/``@`` that GFM
#: autolinks), code, or a table break. Other punctuation (``-``, ``_``, ``.``) stays readable in raw text.
_MARKDOWN = re.compile(r"([\\`\[\]()!|:@])")
_WWW = re.compile(r"(?i)\bwww\.")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_BACKTICKS = re.compile(r"`+")
#: Characters a link target keeps as they are: a URL's delimiters and ``%`` (of escapes already made).
#: Everything else (spaces, parentheses, brackets, quotes, ``<>``, controls, non-ASCII) is percent-encoded.
_URL_SAFE = "/:?#@!$&*+,;=%~"


def _escape(match: re.Match[str]) -> str:
    character = match.group(0)
    if character == "\\":
        return "\\\\"
    named = _NAMED.get(character)
    if named is not None:
        return named
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str, *, reversible: bool = False) -> str:
    """``text`` with every control character written as a visible escape (``\\n``, ``\\x1b``, ``\\u202e``).

    The plain form leaves backslashes alone (a path stays readable) and is idempotent: escaping twice
    changes nothing. The ``reversible`` form also doubles each backslash that would otherwise read as the
    start of an escape, so :func:`unescape_controls` gives ``text`` back exactly (the results CSV).
    """
    pattern = _TO_ESCAPE_REVERSIBLY if reversible else _CONTROL
    return pattern.sub(_escape, text)


def _unescape(match: re.Match[str]) -> str:
    escape = match.group(1)
    if escape == "\\":
        return "\\"
    if escape in ("n", "r", "t"):
        return {"n": "\n", "r": "\r", "t": "\t"}[escape]
    return chr(int(escape[1:], 16))


def unescape_controls(text: str) -> str:
    """The inverse of ``escape_controls(text, reversible=True)``."""
    return _ESCAPED.sub(_unescape, text)


def excerpt(text: str, limit: int = MAX_EXCERPT) -> str:
    """``text`` on one line, control and bidi characters replaced by ``?``, cut to ``limit`` characters."""
    clean = _CONTROL.sub("?", text)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def escape_markdown(text: str) -> str:
    """``text`` as literal markdown: no links, images, HTML or table breaks from a CSV cell, and its control
    characters shown as escapes."""
    text = "".join(_HTML.get(ch, ch) for ch in escape_controls(text))
    return _WWW.sub(lambda m: m.group(0)[:3] + "\\.", _MARKDOWN.sub(r"\\\1", text))


def markdown_code(text: str) -> str:
    """``text`` as one markdown code span nothing in it can end: control characters shown as escapes, and a
    fence of one more backtick than the longest run of backticks inside."""
    clean = escape_controls(text)
    if not clean.strip():
        return "(none)" if not clean else "`" + clean + "`"
    fence = "`" * (1 + max((len(run) for run in _BACKTICKS.findall(clean)), default=0))
    # A space beside each fence keeps a backtick at either end off the fence; a renderer strips one each
    # side, so text that starts and ends with a space gets one too (else it would lose its own).
    ends = clean[0] + clean[-1]
    pad = " " if "`" in ends or ends == "  " else ""
    return f"{fence}{pad}{clean}{pad}{fence}"


def link_target(url: str) -> str:
    """``url`` as the target of a markdown link: percent-encoded, so no space, parenthesis, bracket, quote
    or control character can end the link or start another."""
    return quote(url, safe=_URL_SAFE)
