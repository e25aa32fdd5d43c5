"""Rows in flight by Little's law: the account's rate x the round-trip floor x a headroom."""

from __future__ import annotations

import pytest

from telnyx_compliance._concurrency import (
    HEADROOM,
    MAX_ROWS,
    MIN_ROWS,
    UNKNOWN_RATE_ROWS,
    RoundTripFloor,
    rows_in_flight,
)


def test_rows_follow_rate_times_round_trip() -> None:
    # 50 req/s on a 150 ms path: 7.5 calls in flight keep the rate busy; the headroom is for the rows' work
    assert rows_in_flight(50, 0.150) == 30 == round(50 * 0.150 * HEADROOM)
    # a slower path needs more rows for the same rate, a faster one fewer
    assert rows_in_flight(50, 0.400) > rows_in_flight(50, 0.150) > rows_in_flight(50, 0.060)


def test_rows_stay_within_bounds_and_wait_for_a_rate() -> None:
    assert rows_in_flight(5, 0.01) == MIN_ROWS
    assert rows_in_flight(10_000, 2.0) == MAX_ROWS
    assert rows_in_flight(None, 0.1) == UNKNOWN_RATE_ROWS
    assert rows_in_flight(50, None) == UNKNOWN_RATE_ROWS


def test_the_floor_ignores_queueing_but_follows_a_slower_path() -> None:
    floor = RoundTripFloor()
    for seconds in (0.2, 0.05, 0.9, 0.8, 0.06):  # answers delayed by our own queueing do not raise it much
        floor.observe(seconds)
    assert floor.seconds == pytest.approx(0.05 * 1.01 * 1.01, rel=0.01)
    for _ in range(300):  # the path itself became slower: every answer takes 0.5 s now
        floor.observe(0.5)
    assert floor.seconds == pytest.approx(0.5)
    floor.observe(0.1)  # and faster again at once
    assert floor.seconds == 0.1
