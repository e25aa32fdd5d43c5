"""The documentation says only what exists.

* The README stays a front door (at most 220 lines).
* Every ``compliance`` command and ``make`` target it names is real.
* Every relative link and ``#anchor`` resolves.
* The module map of ``docs/architecture.md`` lists every module of the library, the tasks and the flows.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import typer

from telnyx_compliance.cli import app

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
README_MAX_LINES = 220

#: Every page a reader is sent to: the README, docs/ and the other READMEs of the repository's own code.
PAGES = sorted(
    {README, ROOT / "deployments" / "README.md", *(ROOT / "docs").rglob("*.md")}
    | set((ROOT / "telnyx_compliance").rglob("README.md"))
)
#: The packages whose every module the module map must name.
MAPPED_PACKAGES = ("telnyx_compliance", "tasks", "flows")

_FENCE = re.compile(r"^(```|~~~)[^\n]*\n(.*?)^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
#: Where a shell command starts: a line (after a prompt and variable assignments), or after ``;``, ``&``,
#: ``|``.
_START = r"(?:^[ \t]*(?:\$[ \t]+)?|[;&|][ \t]*)(?:[A-Z_][A-Z0-9_]*=\S*[ \t]+)*"
_COMMAND = re.compile(_START + r"(?:\S*/)?compliance[ \t]+([a-z][\w-]*)", re.MULTILINE)
_MAKE = re.compile(_START + r"make[ \t]+([a-z][\w-]*)", re.MULTILINE)


def _code(text: str) -> list[str]:
    """The fenced blocks and inline code spans of a markdown page: where commands are written."""
    blocks = [match.group(2) for match in _FENCE.finditer(text)]
    prose = _FENCE.sub("", text)
    return blocks + [match.group(2) for match in _INLINE_CODE.finditer(prose)]


def _prose(text: str) -> str:
    """A page without its code: links inside code are examples, not links."""
    return _INLINE_CODE.sub("", _FENCE.sub("", text))


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())  # a link's text only
    text = text.lower()
    kept = "".join(char for char in text if char in " -_" or unicodedata.category(char)[0] in ("L", "N"))
    return kept.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for line in _FENCE.sub("", page.read_text(encoding="utf-8")).splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading is None:
            continue
        slug = _slug(heading.group(1))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _cli_commands() -> set[str]:
    group = typer.main.get_command(app)
    return set(getattr(group, "commands", {}))


def _make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", makefile, re.MULTILINE))


def _page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def test_the_readme_is_a_front_door() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move the detail to docs/"


def test_the_pages_exist() -> None:
    # Guards the tests below against passing on an empty list.
    assert {"README.md", "docs/architecture.md", "docs/bulk-runs.md", "docs/retries.md"} <= {
        _page_id(page) for page in PAGES
    }


def test_the_scan_finds_commands_targets_and_links() -> None:
    text = README.read_text(encoding="utf-8")
    assert "onboard" in {m.group(1) for code in _code(text) for m in _COMMAND.finditer(code)}
    assert "demo" in {m.group(1) for code in _code(text) for m in _MAKE.finditer(code)}
    assert "docs/architecture.md" in _LINK.findall(_prose(text))
    assert {"onboard", "sandbox", "template"} <= _cli_commands()
    assert {"demo", "test"} <= _make_targets()


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_every_compliance_command_named_exists(page: Path) -> None:
    commands = _cli_commands()
    named = {m.group(1) for code in _code(page.read_text(encoding="utf-8")) for m in _COMMAND.finditer(code)}
    assert sorted(named - commands) == [], f"not commands of `compliance`: {sorted(commands)}"


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_every_make_target_named_exists(page: Path) -> None:
    targets = _make_targets()
    named = {m.group(1) for code in _code(page.read_text(encoding="utf-8")) for m in _MAKE.finditer(code)}
    assert sorted(named - targets) == []


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    broken: list[str] = []
    for target in _LINK.findall(_prose(page.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        path_part, _, anchor = target.partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no heading with that anchor")
    assert broken == []


def _mapped_modules() -> set[str]:
    """The modules the module map names, as paths: a tree in the fenced block of the "Module map" section."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = re.search(r"^## Module map\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert section is not None, "docs/architecture.md has no '## Module map' section"
    block = _FENCE.search(section.group(1))
    assert block is not None, "the module map is a fenced tree"
    folders: list[tuple[int, str]] = []  # (indent, folder path) of the enclosing folders
    found: set[str] = set()
    for line in block.group(2).splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        folders = [(level, folder) for level, folder in folders if level < indent]
        prefix = folders[-1][1] if folders else ""
        names = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0].split()
        for name in names:
            if name.endswith("/") and len(names) == 1:
                folders.append((indent, prefix + name))
            elif name.endswith(".py"):
                found.add(prefix + name)
    return found


def test_the_module_map_lists_every_module() -> None:
    actual = {
        str(path.relative_to(ROOT))
        for package in MAPPED_PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if path.name != "__init__.py"
    }
    mapped = _mapped_modules()
    assert sorted(actual - mapped) == [], "modules missing from docs/architecture.md's module map"
    existing = {
        str(path.relative_to(ROOT))
        for package in (*MAPPED_PACKAGES, "configs")
        for path in (ROOT / package).rglob("*.py")
    }
    assert sorted(mapped - existing) == [], "the module map names modules that do not exist"
