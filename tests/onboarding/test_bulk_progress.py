"""Where a bulk run's rows stand, by phase: the tracker's counts, the oldest review's age, the end of
submission at the current rate, and a run against the sandbox whose review keeps every row waiting."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from telnyx_compliance import AsyncTelnyx, RateLimiter
from telnyx_compliance.onboarding.bulk import BulkProgress, BulkRun, ProgressSnapshot
from telnyx_compliance.onboarding.bulk.progress import RATE_WINDOW, duration
from telnyx_compliance.onboarding.mapping import RequirementMapping
from telnyx_compliance.onboarding.template import fake_rows, fetch_requirements, render_template
from telnyx_compliance.sandbox import SandboxConfig, SandboxServer
from telnyx_compliance.settings import PipelineSettings


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_rows_in_review_are_counted_with_the_oldest_reviews_age() -> None:
    clock = Clock()
    progress = BulkProgress(total=4, clock=clock)
    reviews = []
    for row in (2, 3, 4):
        progress.entered()
        progress.left_submission(submitted=True)
        review = progress.reviewing(row)
        review.__enter__()
        reviews.append(review)
        clock.now += 5
    snapshot = progress.snapshot()
    assert (snapshot.submitted, snapshot.in_review, snapshot.written) == (3, 3, 0)
    assert snapshot.oldest_review_age == 15  # row 2 entered review 15 s ago
    assert "in review 3 (oldest 15s)" in snapshot.line()
    assert snapshot.line().startswith("submitted 3/4")
    # Nothing written yet, and still the run is not at zero: three rows are halfway.
    assert snapshot.fraction == pytest.approx(3 * 0.5 / 4)

    reviews[0].__exit__(None, None, None)  # row 2 decided: row 3 is now the oldest
    progress.decided("approved")
    assert progress.snapshot().oldest_review_age == 10 and progress.in_review == 2
    with progress.finishing_row():
        assert progress.snapshot().fraction == pytest.approx((0.75 + 2 * 0.5) / 4)
    progress.wrote("completed")
    snapshot = progress.snapshot()
    assert (snapshot.approved, snapshot.ordered, snapshot.finishing) == (1, 1, 0)
    assert "approved 1" in snapshot.line() and "ordered 1" in snapshot.line()
    for review in reviews[1:]:
        review.__exit__(None, None, None)
    assert progress.snapshot().oldest_review_age is None and "in review" not in progress.snapshot().line()


def test_a_review_ended_by_an_error_leaves_review() -> None:
    progress = BulkProgress(total=1)
    progress.entered()
    progress.left_submission(submitted=True)
    with pytest.raises(asyncio.CancelledError), progress.reviewing(2):
        raise asyncio.CancelledError
    assert progress.in_review == 0


def test_the_end_of_submission_follows_the_recent_rate() -> None:
    clock = Clock()
    progress = BulkProgress(total=100, clock=clock)
    # 2 invalid rows and 1 carried over never need submitting.
    progress.wrote("invalid")
    progress.wrote("invalid")
    progress.wrote("completed", carried=True)
    assert progress.snapshot().rate is None and progress.snapshot().submission_eta is None
    for _ in range(20):  # 20 rows in 10 s: 2 rows/s
        progress.entered()
        clock.now += 0.5
        progress.left_submission(submitted=True)
    progress.entered()
    progress.left_submission(submitted=False)  # one failed in submission: through it, not submitted
    snapshot = progress.snapshot()
    assert snapshot.rate == pytest.approx(2.0)
    assert snapshot.to_submit == 100 - 3 - 20 - 1
    assert snapshot.submission_eta == pytest.approx(76 / 2.0)
    assert "submitted 20/100 (~38s left at 2.0/s)" in snapshot.line()

    # Slower now: 1 row every 5 s for a full window; the earlier burst is forgotten.
    for _ in range(RATE_WINDOW // 5):
        progress.entered()
        clock.now += 5
        progress.left_submission(submitted=True)
    assert progress.snapshot().rate == pytest.approx(0.2, abs=0.05)

    # Every row through submission: no end to announce any more.
    for _ in range(progress.snapshot().to_submit or 0):
        progress.entered()
        progress.left_submission(submitted=True)
    done = progress.snapshot()
    assert done.to_submit == 0 and done.submission_eta is None and "left at" not in done.line()


def test_only_phases_with_rows_are_named_and_durations_are_short() -> None:
    progress = BulkProgress(total=5)
    assert progress.snapshot().line() == "submitted 0/5"
    for status in ("declined", "failed", "invalid", "pending_approval"):
        progress.wrote(status)
    progress.skip()
    snapshot = progress.snapshot()
    assert snapshot.line() == ("submitted 0/5 · pending approval 1 · declined 1 · failed 1 · invalid 1")
    assert snapshot.fraction == 1.0  # four lines and a row left alone: all five accounted for
    assert [duration(s) for s in (0, 59.9, 61, 3725, 90000)] == ["0s", "59s", "1m 01s", "1h 02m", "1d 01h"]
    assert isinstance(snapshot, ProgressSnapshot) and snapshot.as_dict()["invalid"] == 1


# -- a run against the sandbox ------------------------------------------------------------------------


@pytest.fixture
def slow_review() -> SandboxServer:
    """Groups reviewed 4 s after submission."""
    with SandboxServer(SandboxConfig(seed=7, approve_after=4.0)) as server:
        yield server


async def _csv(sandbox: SandboxServer, folder: Path, rows: int) -> Path:
    async with AsyncTelnyx(api_key="k", base_url=sandbox.base_url) as client:
        requirements = await fetch_requirements(client, "DE", "local", "ordering")
    mapping = RequirementMapping.load()
    path = folder / "de.csv"
    rendered = render_template(
        requirements,
        mapping,
        "DE",
        "local",
        "ordering",
        fake_rows(requirements, mapping, rows, folder, 5, country="DE"),
    )
    path.write_text(rendered, encoding="utf-8")
    return path


@pytest.mark.slow
async def test_a_run_shows_its_rows_in_review_before_any_is_written(
    slow_review: SandboxServer, tmp_path: Path
) -> None:
    csv_path = await _csv(slow_review, tmp_path, 6)
    settings = PipelineSettings(
        approval_poll_interval=0.1, approval_poll_max_interval=0.5, approval_poll_timeout=30
    )
    seen: list[ProgressSnapshot] = []
    async with AsyncTelnyx(
        api_key="k", base_url=slow_review.base_url, rate_limiter=RateLimiter(1000)
    ) as client:
        run = BulkRun(csv_path, client, settings=settings)
        task = run.start()
        while not task.done():
            seen.append(run.progress.snapshot())
            await asyncio.sleep(0.1)
        summary = await task

    assert summary.counts == {"completed": 6}
    # At some moment every row was submitted and in review, with nothing written: shown as such, not as 0.
    waiting = [s for s in seen if s.in_review == 6 and s.written == 0]
    assert waiting, [s.line() for s in seen[::5]]
    assert max(s.oldest_review_age or 0 for s in waiting) >= 2
    assert all(s.fraction >= 0.5 and "in review 6 (oldest" in s.line() for s in waiting)
    end = run.progress.snapshot()
    assert (end.submitted, end.approved, end.ordered, end.in_review, end.finishing, end.submitting) == (
        6,
        6,
        6,
        0,
        0,
        0,
    )
    assert end.fraction == 1.0 and end.line() == "submitted 6/6 · approved 6 · ordered 6"
