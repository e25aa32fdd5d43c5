"""``make bench``: bulk onboarding against a rate-limited, slow sandbox, next to a sequential SDK baseline.

Everything is measured in this run, on this machine: the pipeline (the ``bulk_onboard`` flow, Prefect in
ephemeral mode), the baseline (a plain loop with the official ``telnyx`` SDK on the same sandbox, over a
sample of rows, its per-row time extrapolated to N), and CSV validation of a large file (peak RSS).
Each part runs in its own process so peak RSS and CPU are its own.

    python -m bench [--rows 1000] [--baseline-rows 20] [--validate-rows 100000] [--quick]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench._sandbox import ROOT, SandboxProcess


def _run_json(module: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if completed.returncode not in (0, 1):
        raise RuntimeError(f"{module} failed ({completed.returncode}):\n{completed.stderr[-4000:]}")
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def write_fake_csv(base_url: str, folder: Path, rows: int, seed: int, *, with_numbers: bool = True) -> Path:
    """A CSV of ``rows`` valid rows across :data:`MARKETS`, documents shared per market."""
    return Path(
        _run_json(
            "bench._fake",
            base_url,
            str(folder),
            str(rows),
            str(seed),
            "1" if with_numbers else "0",
        )["csv"]
    )


def minimum_calls(csv_path: Path) -> int:
    """What the workflow cannot do with less: per market one requirements lookup; per onboarding group one
    address, one upload per document, one group create, one submit, one status read, one number order and
    one attach per sub-number order (one per market)."""
    markets: set[tuple[str, str, str]] = set()
    total = 0
    with csv_path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            markets.add((row["country_code"], row["phone_number_type"], row["action"]))
            documents = sum(1 for column, value in row.items() if column.startswith("doc_") and value)
            address = 1 if row.get("address_street_address") else 0
            order = 2 if row.get("phone_numbers") else 0
            total += address + documents + 3 + order
    return total + len(markets)


def _sandbox_calls(before: dict[str, Any], after: dict[str, Any]) -> tuple[int, int]:
    def counts(stats: dict[str, Any]) -> tuple[int, int]:
        requests = stats["requests"]
        return int(requests["total"]), int(requests["by_status"].get("429", 0))

    total_before, limited_before = counts(before)
    total_after, limited_after = counts(after)
    return total_after - total_before, limited_after - limited_before


def _print_table(rows: Sequence[tuple[str, str, str]]) -> None:
    width = max(len(name) for name, _, _ in rows)
    print(f"{'':{width}}  {'pipeline':>14}  {'baseline':>14}")
    for name, ours, theirs in rows:
        print(f"{name:{width}}  {ours:>14}  {theirs:>14}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--baseline-rows", type=int, default=20)
    parser.add_argument("--validate-rows", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--rate-limit", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=48)
    parser.add_argument("--quick", action="store_true", help="rows=100, baseline=5, validate=5,000")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.baseline_rows, args.validate_rows = 100, 5, 5_000

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"sandbox: latency {args.latency_ms:g} ms, rate limit {args.rate_limit:g}/s, approval after 1 s; "
        f"pipeline concurrency {args.concurrency}"
    )
    with tempfile.TemporaryDirectory(prefix="compliance-bench-") as tmp:
        folder = Path(tmp)
        knobs = {"latency_ms": args.latency_ms, "rate_limit": args.rate_limit, "approve_after": 1, "seed": 7}
        with SandboxProcess(**knobs) as sandbox:
            pipeline_csv = write_fake_csv(sandbox.base_url, folder / "pipeline", args.rows, seed=1)
            baseline_csv = write_fake_csv(sandbox.base_url, folder / "baseline", args.baseline_rows, seed=2)
            minimum = minimum_calls(pipeline_csv)

            before = sandbox.stats()
            ours = _run_json(
                "bench._bulk",
                str(pipeline_csv),
                str(folder / "results.csv"),
                str(args.concurrency),
                env={"TELNYX_BASE_URL": sandbox.base_url, "TELNYX_RATE_LIMIT": str(args.rate_limit * 0.97)},
            )
            calls, limited = _sandbox_calls(before, sandbox.stats())
            duplicates = sandbox.stats()["duplicates"]

            before = sandbox.stats()
            theirs = _run_json(
                "bench._baseline", str(baseline_csv), sandbox.base_url, str(args.baseline_rows)
            )
            baseline_calls, baseline_limited = _sandbox_calls(before, sandbox.stats())
            validation_csv = write_fake_csv(
                sandbox.base_url, folder / "validate", args.validate_rows, seed=3, with_numbers=False
            )

        validation = _run_json("bench._validate", str(validation_csv))

    rows = int(ours["rows"])
    ideal = calls / args.rate_limit
    wall = float(ours["wall"])
    baseline_per_row = float(theirs["wall"]) / max(1, int(theirs["rows"]))
    baseline_wall = baseline_per_row * rows
    _print_table(
        [
            ("rows", f"{rows}", f"{theirs['rows']} (sample)"),
            ("completed", f"{ours['completed']}", "-"),
            ("API calls", f"{calls}", f"{baseline_calls}"),
            ("calls per row", f"{calls / rows:.2f}", f"{baseline_calls / max(1, int(theirs['rows'])):.2f}"),
            ("minimum calls per row", f"{minimum / rows:.2f}", "-"),
            ("calls vs minimum", f"{calls / minimum:.2f}x", "-"),
            ("429s", f"{limited} ({limited / max(1, calls):.2%})", f"{baseline_limited}"),
            ("wall time (s)", f"{wall:.1f}", f"{baseline_wall:.1f} (extrap.)"),
            ("ideal time (s)", f"{ideal:.1f}", "-"),
            ("efficiency", f"{ideal / wall:.2f}", "-"),
            ("peak RSS (MB)", f"{ours['peak_rss_mb']:.0f}", f"{theirs.get('peak_rss_mb', 0):.0f}"),
            ("duplicates", f"{len(duplicates)}", "-"),
        ]
    )
    print(f"speed-up vs sequential SDK loop: {baseline_wall / wall:.1f}x")
    startup = float(ours.get("prefect_startup", 0.0))
    print(
        f"Prefect ephemeral server start-up, not in the wall time: {startup:.1f} s "
        f"(with it: efficiency {ideal / (wall + startup):.2f}, "
        f"speed-up {baseline_wall / (wall + startup):.1f}x)"
    )
    print(
        f"validating {validation['rows']:,} rows: {validation['seconds']:.1f} s, "
        f"peak RSS {validation['peak_rss_mb']:.0f} MB"
    )
    goals = {
        "efficiency >= 0.85": ideal / wall >= 0.85,
        "429s <= 1% of calls": limited <= 0.01 * calls,
        "calls per row <= 1.25 x minimum": calls <= 1.25 * minimum,
        ">= 20x faster than the baseline": baseline_wall / wall >= 20,
        "validation peak RSS <= 500 MB": validation["peak_rss_mb"] <= 500,
        "no duplicates": not duplicates,
    }
    for goal, met in goals.items():
        print(f"  [{'x' if met else ' '}] {goal}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
