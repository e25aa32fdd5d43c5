"""The progress line by phase: rows submitted and in review are shown as such (with the oldest review's
age), never as "0 done", in a pseudo-terminal as an operator sees ``compliance onboard``."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from telnyx_compliance.onboarding.bulk import BulkProgress
from telnyx_compliance.sandbox import SandboxConfig, SandboxServer
from telnyx_compliance.terminal import Terminal

# Helpers of the terminal tests (a pty, the command's environment, a CSV of the DE market).
from tests.cli.test_terminal import ANSI, _de_csv, _env, run_in_terminal

#: What one redraw of the progress line says about the rows in review.
IN_REVIEW = re.compile(r"in review (\d+) \(oldest (\d+)s\)")


def _redraws(raw: str) -> list[str]:
    """Every state the progress line was drawn in (each redraw starts with a carriage return)."""
    text = ANSI.sub("", raw)
    return [part for line in text.split("\n") for part in line.split("\r") if part.startswith("onboarding")]


@pytest.fixture
def quiet_logging() -> Iterator[None]:
    """The terminal takes over the root logger's handlers: put them back."""
    import logging

    root, library = logging.getLogger(), logging.getLogger("telnyx_compliance")
    handlers, level, library_level = root.handlers[:], root.level, library.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        library.setLevel(library_level)


async def test_the_line_follows_the_runs_phases_while_no_row_is_written(quiet_logging: None) -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=140, color_system="truecolor")
    terminal = Terminal(console=console, live=True)
    terminal.started("de.csv", 3, "de.results.csv")
    progress = BulkProgress(total=3)
    follower = asyncio.ensure_future(terminal.follow(progress, every=0.02))
    reviews = [progress.reviewing(row) for row in (2, 3, 4)]
    for review in reviews:
        progress.entered()
        progress.left_submission(submitted=True)
        review.__enter__()
    await asyncio.sleep(0.2)
    follower.cancel()
    terminal.stop()

    shown = _redraws(screen.getvalue())
    reviewing = [line for line in shown if "in review 3" in line]
    assert reviewing, shown
    assert all("submitted 3/3" in line and "0/3" not in line for line in reviewing)
    assert all("━" in line for line in reviewing)  # the bar, half way for rows in review


@pytest.fixture
def slow_review() -> Iterator[SandboxServer]:
    """A sandbox whose reviews take 8 s: every row is submitted long before any is decided."""
    with SandboxServer(SandboxConfig(seed=22, approve_after=8.0)) as sandbox:
        yield sandbox


@pytest.mark.slow
async def test_rows_in_review_show_in_the_pinned_line_until_they_are_ordered(
    slow_review: SandboxServer, tmp_path: Path
) -> None:
    csv_path = await _de_csv(slow_review, tmp_path, 8)
    code, raw = await asyncio.to_thread(
        run_in_terminal, ["onboard", str(csv_path)], _env(slow_review, tmp_path / "prefect")
    )
    shown = _redraws(raw)
    assert code == 0, ANSI.sub("", raw)[-3000:]

    # While nothing was ordered, the line said how many rows were in review and for how long.
    waiting = [
        (int(match.group(1)), int(match.group(2)), line)
        for line in shown
        if (match := IN_REVIEW.search(line)) and "ordered" not in line
    ]
    assert waiting, shown[-10:]
    assert max(count for count, _, _ in waiting) == 8
    assert max(age for _, age, _ in waiting) >= 3  # the age grows while no row is written
    assert not any(re.search(r"(?<!submitted )\b0/8\b", line) for _, _, line in waiting)
    # At the end: every row approved and ordered, nothing in review.
    last = shown[-1]
    assert "submitted 8/8" in last and "approved 8" in last and "ordered 8" in last, last
    assert "in review" not in last
