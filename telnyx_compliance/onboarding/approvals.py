"""Waiting for Telnyx's review of many requirement groups at once, with a few list calls per round.

A bulk run submits its groups at full rate and hands each one to one :class:`ApprovalWatcher`; no row
holds a concurrency slot while Telnyx reviews. The watcher polls for the whole run:

* **One call per round** while nothing moved: ``GET /requirement_groups?filter[status]=pending-approval``
  lists every group still under review. A group we wait for that is no longer in it was decided: **one more
  call** lists the ``declined`` groups (reviewers' reasons included), and a group not in it was approved (a
  review ends in one or the other; ``expired`` only ever follows an approval). Neither list grows with the
  approvals of the account's history, so a round costs the same at the 10,000th row as at the first. An
  approval read this way is ``presumed``: the order
  placed carrying the group confirms it (``requirements_met``), and the row reads the group itself only
  when it does not, or when it has nothing to order.
* **Rounds space out as the wait grows**: at a tenth of the time the oldest group has waited (a decision is
  seen at most about 10% late), between ``min_interval`` and ``max_interval``; while rows are still being
  submitted, no more often than ``busy_interval`` (what is approved meanwhile is ordered a little later,
  but the rate limit spent on polling goes to submissions instead).
* **One deadline for the run**, not one per row: :meth:`close` says no more groups are coming; ``timeout``
  seconds later every group still pending is handed back as pending (the caller hands them over to
  reconcile together).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from telnyx_compliance._client import AsyncTelnyx
from telnyx_compliance._exceptions import APIError
from telnyx_compliance._safe_logging import library_logger
from telnyx_compliance.models.requirement_groups import GroupStatus, RequirementGroup
from telnyx_compliance.onboarding.snapshots import GroupSnapshot

__all__ = ["ApprovalWatcher"]

logger = library_logger("telnyx_compliance.approvals")

#: A round comes after this share of the time the oldest waiting group has waited.
POLL_SHARE = 0.1


@dataclass
class _Waiting:
    since: float
    last_seen: GroupSnapshot
    futures: list[asyncio.Future[GroupSnapshot]] = field(default_factory=list)


class ApprovalWatcher:
    """Waits for many requirement groups' reviews with shared list calls (see the module docstring)."""

    def __init__(
        self,
        client: AsyncTelnyx,
        *,
        min_interval: float = 2.0,
        max_interval: float = 60.0,
        busy_interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.min_interval = min_interval
        self.max_interval = max(max_interval, min_interval)
        self.busy_interval = busy_interval
        self._clock = clock
        self._sleep = sleep
        self._waiting: dict[str, _Waiting] = {}
        self._deadline: float | None = None
        self._changed = asyncio.Event()
        self._last_poll = float("-inf")
        #: Polling rounds and list calls so far; the most groups waited for at once.
        self.rounds = 0
        self.calls = 0
        self.peak_waiting = 0

    @property
    def waiting(self) -> int:
        """Groups still waiting for a decision."""
        return len(self._waiting)

    async def wait(self, group: GroupSnapshot) -> GroupSnapshot:
        """The group once decided (any status but ``pending-approval``; an approval read from the lists is
        ``presumed``, see the module docstring), or as last seen, still pending, when the run's deadline
        passes."""
        if group.status != GroupStatus.PENDING:
            return group
        future: asyncio.Future[GroupSnapshot] = asyncio.get_running_loop().create_future()
        entry = self._waiting.get(group.id)
        if entry is None:
            entry = self._waiting[group.id] = _Waiting(since=self._clock(), last_seen=group)
        entry.futures.append(future)
        self.peak_waiting = max(self.peak_waiting, len(self._waiting))
        self._changed.set()
        return await future

    def close(self, timeout: float) -> None:
        """No more groups are coming: stop waiting ``timeout`` seconds from now."""
        self._deadline = self._clock() + max(0.0, timeout)
        self._changed.set()

    def _interval(self) -> float:
        oldest = min((entry.since for entry in self._waiting.values()), default=self._clock())
        interval = min(self.max_interval, max(self.min_interval, POLL_SHARE * (self._clock() - oldest)))
        if self._deadline is None:  # rows are still being submitted
            interval = max(interval, min(self.busy_interval, self.max_interval))
        return interval

    async def run(self) -> None:
        """Poll until closed and nothing waits any more (or the deadline passed); run it as a task."""
        while True:
            if self._deadline is not None and (not self._waiting or self._clock() >= self._deadline):
                self._hand_back_pending()
                return
            if not self._waiting:
                self._changed.clear()
                await self._changed.wait()
                continue
            due = self._last_poll + self._interval()
            if self._deadline is not None:
                due = min(due, self._deadline)
            pause = due - self._clock()
            if pause > 0:
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=pause)
                continue
            if self._deadline is not None and self._clock() >= self._deadline:
                continue
            await self._poll()

    async def _poll(self) -> None:
        started = self._last_poll = self._clock()
        self.rounds += 1
        try:
            self.calls += 1
            pending = await self.client.requirement_groups.list(filter={"status": GroupStatus.PENDING})
            still = {group.id for group in pending if group.id}
            # A group registered while the list was on its way may be missing from it although pending.
            moved = [
                group_id
                for group_id, entry in self._waiting.items()
                if group_id not in still and entry.since < started
            ]
            if not moved:
                return
            self.calls += 1
            declined = await self.client.requirement_groups.list(filter={"status": GroupStatus.DECLINED})
            rejected: dict[str, RequirementGroup] = {group.id: group for group in declined if group.id}
        except APIError as error:  # the client's retries gave up: try again next round
            logger.warning("Polling requirement groups failed (%s); trying again next round", error)
            return
        for group_id in moved:
            entry = self._waiting.get(group_id)
            if entry is None:
                continue
            found = rejected.get(group_id)
            if found is not None:
                self._settle(group_id, GroupSnapshot.from_api(found))
            else:
                self._settle(group_id, entry.last_seen.presume(GroupStatus.APPROVED))

    def _settle(self, group_id: str, outcome: GroupSnapshot) -> None:
        entry = self._waiting.pop(group_id)
        for future in entry.futures:
            if not future.done():
                future.set_result(outcome)

    def _hand_back_pending(self) -> None:
        for group_id in list(self._waiting):
            self._settle(group_id, self._waiting[group_id].last_seen)
