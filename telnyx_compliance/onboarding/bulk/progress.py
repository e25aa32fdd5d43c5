"""Where the rows of a running bulk run stand, by phase: :class:`BulkProgress`, fed by the runner as rows
move, and the :class:`ProgressSnapshot` that a terminal line or a Prefect artifact reads of it.

A runnable row goes through **submission** (a concurrency slot held: requirements, address, documents,
group, submit), then **review** (its group pending at Telnyx, waited for by the run's
:class:`~telnyx_compliance.onboarding.approvals.ApprovalWatcher`; skipped when the group was decided
already or the market needs none), then **finishing** (numbers ordered carrying the group, the group
attached to the orders), and is **written** (its line in the results CSV). Invalid rows, rows carried over
from an earlier run and rows ``only_failed`` leaves alone never enter submission.

With real reviews a row spends hours in review and seconds anywhere else: a count of rows written alone
would read ``0/N`` for all that time. So the snapshot says how many rows were submitted, how many are in
review and since when the oldest has waited, how many were approved, ordered, declined or failed, and when
submission ends at the current rate; its :attr:`ProgressSnapshot.fraction` counts a row in review for
:data:`IN_REVIEW_WEIGHT` of a row and a decided row being finished for :data:`FINISHING_WEIGHT`.

Every update is O(1); the tracker keeps one entry per row *in review* (rows the watcher holds a future for
already) and at most :data:`RATE_WINDOW` one-second buckets of submissions, nothing per row beyond that.
It is updated and read on the run's event loop (a terminal or an artifact reads a snapshot from there).
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from telnyx_compliance.models.requirement_groups import GroupStatus

__all__ = [
    "FINISHING_WEIGHT",
    "IN_REVIEW_WEIGHT",
    "RATE_WINDOW",
    "BulkProgress",
    "ProgressSnapshot",
    "duration",
]

#: Of a row's share of the progress: what a row in review counts (its submission is done, its review not).
IN_REVIEW_WEIGHT = 0.5
#: What a row whose group was decided, being finished (ordered, attached), counts.
FINISHING_WEIGHT = 0.75
#: The submission rate is measured over this many recent seconds.
RATE_WINDOW = 30


def duration(seconds: float) -> str:
    """``42s``, ``3m 05s``, ``2h 07m``, ``3d 04h``: short, and coarser as it grows."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


@dataclass(frozen=True)
class ProgressSnapshot:
    """The phase counts of a run at one moment (rows, not requirement groups: rows of one onboarding share
    a group and are each counted)."""

    #: Data rows of the CSV (None until the file was counted).
    total: int | None
    #: Rows in submission now (holding a slot).
    submitting: int
    #: Rows whose submission ended with their group in review or decided (or nothing to review).
    submitted: int
    #: Rows waiting for their group's review now, and how long the one waiting longest has waited (s).
    in_review: int
    oldest_review_age: float | None
    #: Rows whose group was decided approved (after a review, or approved already).
    approved: int
    #: Rows decided, being finished now (numbers ordered, group attached).
    finishing: int
    #: Lines written, by what they say: ``completed`` (ordered), ``pending_approval`` (still in review at
    #: the end of the wait, handed over), ``declined``, ``failed``, ``invalid``; and carried over.
    ordered: int
    pending: int
    declined: int
    failed: int
    invalid: int
    carried_over: int
    #: Rows the run leaves alone without a line (``only_failed``).
    skipped: int
    #: Lines written in all (carried over included).
    written: int
    #: Rows submitted per second over the last :data:`RATE_WINDOW` s (None before the first submission).
    rate: float | None
    #: Rows still to submit (None while the file is not counted), and when that ends at ``rate`` (s).
    to_submit: int | None
    submission_eta: float | None

    @property
    def fraction(self) -> float:
        """How far the run is, 0 to 1: a written (or skipped) row counts 1, a row being finished
        :data:`FINISHING_WEIGHT`, a row in review :data:`IN_REVIEW_WEIGHT`."""
        if not self.total:
            return 0.0
        done = (
            self.written
            + self.skipped
            + FINISHING_WEIGHT * self.finishing
            + IN_REVIEW_WEIGHT * self.in_review
        )
        return max(0.0, min(1.0, done / self.total))

    def parts(self) -> list[tuple[str, str]]:
        """The phases worth showing, in order, as ``(phase, text)``: ``submitted`` always (with the end of
        submission while rows are left to submit), the others when not zero."""
        of = f"/{self.total:,}" if self.total is not None else ""
        submitted = f"submitted {self.submitted:,}{of}"
        if self.to_submit and self.rate and self.submission_eta is not None:
            submitted += f" (~{duration(max(1.0, self.submission_eta))} left at {self.rate:.1f}/s)"
        parts = [("submitted", submitted)]
        if self.in_review:
            age = (
                f" (oldest {duration(self.oldest_review_age)})" if self.oldest_review_age is not None else ""
            )
            parts.append(("in_review", f"in review {self.in_review:,}{age}"))
        for phase, label, count in (
            ("approved", "approved", self.approved),
            ("ordered", "ordered", self.ordered),
            ("pending", "pending approval", self.pending),
            ("declined", "declined", self.declined),
            ("failed", "failed", self.failed),
            ("invalid", "invalid", self.invalid),
            ("carried_over", "done earlier", self.carried_over),
        ):
            if count:
                parts.append((phase, f"{label} {count:,}"))
        return parts

    def line(self) -> str:
        """:meth:`parts` on one line: ``submitted 60/60 · in review 60 (oldest 21s)``."""
        return " · ".join(text for _, text in self.parts())

    def as_dict(self) -> dict[str, int | float | None]:
        """The counts, for scripts and reports."""
        return {
            "total": self.total,
            "submitting": self.submitting,
            "submitted": self.submitted,
            "in_review": self.in_review,
            "oldest_review_age": self.oldest_review_age,
            "approved": self.approved,
            "finishing": self.finishing,
            "ordered": self.ordered,
            "pending": self.pending,
            "declined": self.declined,
            "failed": self.failed,
            "invalid": self.invalid,
            "carried_over": self.carried_over,
            "skipped": self.skipped,
            "written": self.written,
            "rate": self.rate,
            "to_submit": self.to_submit,
            "submission_eta": self.submission_eta,
        }


@dataclass
class BulkProgress:
    """The counters a bulk run keeps of its rows' phases (see the module docstring); :meth:`snapshot`
    reads them."""

    total: int | None = None
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    submitting: int = 0
    submitted: int = 0
    #: Rows whose submission ended without a group to wait for or an order to place (it failed).
    unsubmitted: int = 0
    approved: int = 0
    finishing: int = 0
    skipped: int = 0
    carried_over: int = 0
    written: int = 0
    lines: Counter[str] = field(default_factory=Counter)
    #: Rows in review: a token per row -> when its review began, oldest first (reviews begin in time order).
    _reviews: OrderedDict[object, float] = field(default_factory=OrderedDict, repr=False)
    #: Submissions per second of the clock, the last :data:`RATE_WINDOW` seconds: ``[second, count]``.
    _window: deque[list[int]] = field(default_factory=deque, repr=False)
    _first_entered: float | None = field(default=None, repr=False)

    # -- the runner's events -----------------------------------------------------------------------------

    def entered(self) -> None:
        """A row entered submission."""
        if self._first_entered is None:
            self._first_entered = self.clock()
        self.submitting += 1

    def left_submission(self, *, submitted: bool) -> None:
        """A row's submission ended: ``submitted`` (its group sent to review, decided already, or none
        needed), or not (it failed, or stopped)."""
        self.submitting -= 1
        if not submitted:
            self.unsubmitted += 1
            return
        self.submitted += 1
        second = int(self.clock())
        if self._window and self._window[-1][0] == second:
            self._window[-1][1] += 1
        else:
            self._window.append([second, 1])
        self._forget_old(second)

    @contextmanager
    def reviewing(self, token: object) -> Iterator[None]:
        """Around the wait for a row's review (``token``: anything unique to the row, its row number)."""
        self._reviews[token] = self.clock()
        try:
            yield
        finally:
            self._reviews.pop(token, None)

    def decided(self, status: str | None) -> None:
        """A submitted row's group as its review left it (or as it was, when there was none to wait for)."""
        if status == GroupStatus.APPROVED:
            self.approved += 1

    @contextmanager
    def finishing_row(self) -> Iterator[None]:
        """Around the finishing of a submitted row (its numbers ordered, its group attached)."""
        self.finishing += 1
        try:
            yield
        finally:
            self.finishing -= 1

    def wrote(self, status: str, *, carried: bool = False) -> None:
        """A row's line was written (``carried``: an earlier run's, for a row not run again)."""
        self.written += 1
        if carried:
            self.carried_over += 1
        else:
            self.lines[status] += 1

    def skip(self) -> None:
        """A row the run leaves alone, without a line (``only_failed``)."""
        self.skipped += 1

    # -- reading ------------------------------------------------------------------------------------------

    @property
    def in_review(self) -> int:
        return len(self._reviews)

    def oldest_review_age(self) -> float | None:
        """How long the row in review longest has waited (s), or None when none is."""
        if not self._reviews:
            return None
        since = self._reviews[next(iter(self._reviews))]
        return max(0.0, self.clock() - since)

    def rate(self) -> float | None:
        """Rows submitted per second over the last :data:`RATE_WINDOW` s (or since the first row entered
        submission, when that is more recent); None before any was submitted."""
        if self._first_entered is None or not self.submitted:
            return None
        now = self.clock()
        self._forget_old(int(now))
        span = max(1.0, min(float(RATE_WINDOW), now - self._first_entered))
        return sum(count for _, count in self._window) / span

    def to_submit(self) -> int | None:
        """Rows not yet through submission (those in it included); None while the file is not counted."""
        if self.total is None:
            return None
        through = self.submitted + self.unsubmitted + self.lines["invalid"] + self.carried_over + self.skipped
        return max(0, self.total - through)

    def snapshot(self) -> ProgressSnapshot:
        rate = self.rate()
        left = self.to_submit()
        eta = left / rate if left and rate else None
        return ProgressSnapshot(
            total=self.total,
            submitting=self.submitting,
            submitted=self.submitted,
            in_review=self.in_review,
            oldest_review_age=self.oldest_review_age(),
            approved=self.approved,
            finishing=self.finishing,
            ordered=self.lines["completed"],
            pending=self.lines["pending_approval"],
            declined=self.lines["declined"],
            failed=self.lines["failed"],
            invalid=self.lines["invalid"],
            carried_over=self.carried_over,
            skipped=self.skipped,
            written=self.written,
            rate=rate,
            to_submit=left,
            submission_eta=eta,
        )

    def _forget_old(self, second: int) -> None:
        while self._window and self._window[0][0] <= second - RATE_WINDOW:
            self._window.popleft()
