"""Faults: 300 rows through ``compliance onboard`` against a sandbox answering 20% 429, 5% 5xx, dropping 2% of
the connections and losing 2% of the responses (writes committed): every row completes, nothing is created
twice, every input row has exactly one line in the results CSV.

Runs ``python -m bench.chaos`` (the harness of ``make chaos``) at 300 rows; see bench/chaos.py.
"""

from __future__ import annotations

import pytest

from ._chaos_harness import chaos

pytestmark = pytest.mark.slow


def test_300_rows_under_faults_complete_once_each() -> None:
    report = chaos("--rows", "300", "--seed", "7", "--kill-rounds", "0", "--runner", "cli")
    run = report["faults"]
    check = run["check"]
    assert check["rows"] == 300
    assert check["not_completed"] == {}, check["not_completed"]
    assert check["completed"] == 300
    assert check["duplicates"] == {}
    assert check["missing_rows"] == []
    assert check["extra_lines"] == 0
    assert check["number_orders"] == 300
    assert run["exit_code"] == 0, run.get("output_tail")
    # Every kind of fault was actually injected, and the client retried through them.
    assert all(count > 0 for count in run["faults"].values()), run["faults"]
    assert run["client_retries"] and run["client_retries"] >= sum(run["faults"].values()) // 2
    assert report["ok"]
