"""How many rows a bulk run keeps in flight: Little's law over the latency the client observes.

To keep ``rate`` requests per second going, a run needs ``rate x round trip`` requests in flight (Little's
law, ``L = lambda W``). A row in submission has at most one call in flight at a time, so that many rows,
times a headroom for the rows' own work between calls, retries and bursts, keeps the account's rate busy;
more only queues in the limiter and holds connections. The round trip used is the *floor* the client
has seen, not the average: as in TCP Vegas (and Netflix's ``concurrency-limits``), the no-queue time is
the signal, because the average grows with our own queueing and would feed back into a larger limit. The
floor decays slowly upward, so a path that became slower is followed within a few hundred calls.

With no rate known (no ``TELNYX_RATE_LIMIT`` and no rate-limit headers yet), the run is bound by its own
CPU or by the server, and a small constant keeps both busy.
"""

from __future__ import annotations

import math
import threading

__all__ = ["RoundTripFloor", "rows_in_flight"]

#: Rows in flight when the rate is not known yet: enough to keep one core and a local server busy.
UNKNOWN_RATE_ROWS = 16
#: Bounds of the rows in flight whatever the estimate.
MIN_ROWS, MAX_ROWS = 8, 256
#: Rows per (rate x round trip): a row spends time between its calls (its own work, retries, waits).
HEADROOM = 4.0


class RoundTripFloor:
    """The lowest round trip seen lately: each sample lowers it, and it creeps up 1% per sample above it."""

    DRIFT = 0.01

    def __init__(self) -> None:
        self.seconds: float | None = None
        self.samples = 0
        self._lock = threading.Lock()  # the sync client may share it across threads

    def observe(self, seconds: float) -> None:
        with self._lock:
            self.samples += 1
            if self.seconds is None or seconds <= self.seconds:
                self.seconds = seconds
            else:
                self.seconds = min(seconds, self.seconds * (1 + self.DRIFT))


def rows_in_flight(rate: float | None, round_trip: float | None) -> int:
    """Rows to keep in submission at ``rate`` requests/s over a ``round_trip`` floor (seconds)."""
    if rate is None or round_trip is None:
        return UNKNOWN_RATE_ROWS
    return max(MIN_ROWS, min(MAX_ROWS, math.ceil(rate * round_trip * HEADROOM)))
