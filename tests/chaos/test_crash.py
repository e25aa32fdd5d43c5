"""Crash: the onboarding process killed with SIGKILL at a random point (three seeds), on a sandbox injecting
the same faults as test_faults, then rerun with the same results CSV: every row completes, nothing is created
twice, every input row has exactly one line in the results CSV.

Runs ``python -m bench.chaos`` with the library runner (``bench._chaos_run``: the bulk runner without
Prefect's start-up, so the rounds stay quick); ``make chaos`` kills ``compliance onboard`` itself.
"""

from __future__ import annotations

import pytest

from .support import chaos

pytestmark = pytest.mark.slow


def test_killed_onboarding_reruns_to_completion_without_duplicates() -> None:
    report = chaos(
        "--rows", "0", "--seed", "3", "--kill-rounds", "3", "--kill-rows", "40", "--runner", "library"
    )
    rounds = report["kills"]
    assert len(rounds) == 3
    for round_ in rounds:
        check = round_["check"]
        assert check["not_completed"] == {}, (round_["seed"], check["not_completed"])
        assert check["completed"] == check["rows"] == 40
        assert check["duplicates"] == {}, round_["seed"]
        assert check["missing_rows"] == [], round_["seed"]
        assert check["extra_lines"] == 0, round_["seed"]
        assert check["number_orders"] == 40, round_["seed"]
        assert round_["exit_codes"][-1] == 0, round_.get("output_tail")
    # The seeds kill mid-run: at least one round is cut short (the others may finish first).
    assert any(round_["killed"] for round_ in rounds)
    assert report["ok"]
