"""``make bench``: ``compliance onboard`` next to what a user would write instead, same rows, same run.

Every figure is measured in this run, on this machine, each side in its own process against a sandbox in a
third process (reset between sides, so both start from nothing):

* **ours**: ``compliance onboard CSV --json`` with default settings (no ``TELNYX_RATE_LIMIT``, no
  ``TELNYX_MAX_CONCURRENCY``): wall time from launch to exit, so imports and Prefect's start-up count, as
  a user's second run sees them (Prefect's home, and its database, made once before the cases); also the
  time to the first line it prints;
* **the script**: ``bench/_asyncio_script.py``, an asyncio script over the official ``AsyncTelnyx`` (a
  semaphore of 48, the SDK's own retries, the seed's order of calls); its wall time starts after its
  imports (in its favour).

Cases (``--cases``, default all):

* ``a``: 200 DE rows, 50 ms latency, 50 requests/s per account, 2% of responses lost, review 1 s;
* ``b``: 1,000 DE rows, no latency, no rate limit, review 1 s;
* ``review``: 200 DE rows at 50 ms and 50 requests/s with a 60 s review (ours; the script with
  ``--script-on-review``, which holds its 48 slots through each review: minutes);
* ``efficiency``: 1,000 DE rows at 50 ms and 50 requests/s, review 1 s (ours);
* ``memory``: peak RSS of ours at 1,000 and 10,000 rows, no latency, no limit;
* ``validate``: validating a 100,000-row CSV (peak RSS).

``efficiency = (rows x 5 calls / rate) / wall``: the time the calls a DE row needs (address, document,
group, submit, order) take at the account's rate, over the wall time.

    python -m bench [--cases a,b,review,efficiency,memory,validate] [--quick] [--script-on-review]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._sandbox import ROOT, SandboxProcess

CALLS_PER_ROW = 5  # address, document, group, submit, order carrying the group (a DE row)
ALL_CASES = ("a", "b", "review", "efficiency", "memory", "validate")


@dataclass
class Side:
    """One side's run: what it reported and what the sandbox saw."""

    rows: int
    completed: int
    wall: float
    calls: int
    limited: int
    duplicates: int
    peak_rss_mb: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)
    first_line: float | None = None

    @property
    def calls_per_row(self) -> float:
        return self.calls / max(1, self.rows)


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def write_csv(sandbox: SandboxProcess, folder: Path, rows: int, seed: int, *, numbers: bool = True) -> Path:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench._fake",
            sandbox.base_url,
            str(folder),
            str(rows),
            str(seed),
            "1" if numbers else "0",
            "DE",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(_json_lines(completed.stdout)[-1]["csv"])


def _sandbox_counts(sandbox: SandboxProcess) -> tuple[int, int, int]:
    stats = sandbox.stats()
    requests = stats["requests"]
    return int(requests["total"]), int(requests["by_status"].get("429", 0)), len(stats["duplicates"])


def _environment(sandbox: SandboxProcess, home: Path) -> dict[str, str]:
    return {
        **{
            k: v for k, v in os.environ.items() if not k.startswith(("TELNYX_", "COMPLIANCE_", "PREFECT_API"))
        },
        "TELNYX_BASE_URL": sandbox.base_url,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }


def warm_prefect_home(home: Path) -> None:
    """Prefect's home as a user has it after a first run: its database made and migrated."""
    code = (
        "import asyncio\n"
        "from telnyx_compliance._prefect_server import PrefectServerProcess\n"
        "server = PrefectServerProcess(); server.start()\n"
        "asyncio.run(server.ready()); server.stop()\n"
    )
    subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PREFECT_HOME": str(home)}, check=True
    )


def run_ours(sandbox: SandboxProcess, csv_path: Path, folder: Path, home: Path) -> Side:
    """``compliance onboard`` as a user runs it, timed from launch to exit."""
    sandbox.reset()
    results = folder / "ours.results.csv"
    results.unlink(missing_ok=True)
    first_line: list[float] = []
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench._peak", "onboard", str(csv_path), "--out", str(results), "--json"],
        cwd=ROOT,
        env=_environment(sandbox, home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr: list[str] = []

    def read_stderr() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            if not first_line:
                first_line.append(time.perf_counter() - started)
            stderr.append(line)

    reader = threading.Thread(target=read_stderr)
    reader.start()
    stdout = process.stdout.read() if process.stdout is not None else ""
    process.wait()
    wall = time.perf_counter() - started
    reader.join()
    lines = _json_lines(stdout)
    if process.returncode not in (0, 1) or len(lines) < 2:
        raise RuntimeError(f"compliance onboard failed ({process.returncode}):\n{''.join(stderr)[-3000:]}")
    summary, peak = lines[-2], lines[-1]
    calls, limited, duplicates = _sandbox_counts(sandbox)
    return Side(
        rows=int(summary["rows"]),
        completed=int(summary["counts"]["completed"]),
        wall=wall,
        calls=calls,
        limited=limited,
        duplicates=duplicates,
        peak_rss_mb=float(peak["peak_rss_mb"]),
        first_line=first_line[0] if first_line else None,
    )


def run_script(sandbox: SandboxProcess, csv_path: Path) -> Side:
    sandbox.reset()
    completed = subprocess.run(
        [sys.executable, "-m", "bench._asyncio_script", str(csv_path), sandbox.base_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = _json_lines(completed.stdout)
    if not lines:
        raise RuntimeError(f"the asyncio script failed:\n{completed.stderr[-3000:]}")
    report = lines[-1]
    calls, limited, duplicates = _sandbox_counts(sandbox)
    return Side(
        rows=int(report["rows"]),
        completed=int(report["completed"]),
        wall=float(report["wall"]),
        calls=calls,
        limited=limited,
        duplicates=duplicates,
        peak_rss_mb=float(report["peak_rss_mb"]),
        errors=dict(report["errors"]),
    )


def _table(title: str, sides: dict[str, Side], rate: float | None) -> None:
    print(f"\n{title}")
    names = list(sides)
    print(f"  {'':24}" + "".join(f"{name:>22}" for name in names))

    def row(label: str, values: Sequence[str]) -> None:
        print(f"  {label:24}" + "".join(f"{value:>22}" for value in values))

    row("wall time (s)", [f"{side.wall:.1f}" for side in sides.values()])
    row("rows completed", [f"{side.completed} / {side.rows}" for side in sides.values()])
    row("API calls per row", [f"{side.calls_per_row:.2f}" for side in sides.values()])
    row("429s", [f"{side.limited} ({side.limited / max(1, side.calls):.2%})" for side in sides.values()])
    row("duplicates left", [str(side.duplicates) for side in sides.values()])
    row("peak RSS (MB)", [f"{side.peak_rss_mb:.0f}" for side in sides.values()])
    row(
        "first line after (s)",
        [f"{side.first_line:.1f}" if side.first_line is not None else "-" for side in sides.values()],
    )
    if rate:
        row("efficiency", [f"{side.rows * CALLS_PER_ROW / rate / side.wall:.2f}" for side in sides.values()])
    for name, side in sides.items():
        if side.errors:
            print(f"  {name} errors: {side.errors}")


def _goal(text: str, met: bool) -> bool:
    print(f"  [{'x' if met else ' '}] {text}")
    return met


def case_versus(
    name: str, folder: Path, home: Path, *, rows: int, knobs: dict[str, Any], rate: float | None
) -> tuple[Side, Side]:
    with SandboxProcess(seed=7, **knobs) as sandbox:
        csv_path = write_csv(sandbox, folder / name, rows, seed=1)
        ours = run_ours(sandbox, csv_path, folder / name, home)
        script = run_script(sandbox, csv_path)
    _table(
        f"case {name}: {rows} DE rows, sandbox {knobs}",
        {"compliance onboard": ours, "asyncio script": script},
        rate,
    )
    print(f"  speed-up: {script.wall / ours.wall:.2f}x")
    return ours, script


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(ALL_CASES))
    parser.add_argument("--quick", action="store_true", help="fewer rows in every case")
    parser.add_argument("--script-on-review", action="store_true", help="also run the script in 'review'")
    args = parser.parse_args(argv)
    cases = set(args.cases.split(","))
    scale = 0.2 if args.quick else 1.0

    def n(rows: int) -> int:
        return max(10, int(rows * scale))

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    goals: list[bool] = []
    with tempfile.TemporaryDirectory(prefix="compliance-bench-") as tmp:
        folder = Path(tmp)
        home = folder / "prefect-home"
        warm_prefect_home(home)
        if "a" in cases:
            knobs = {"latency_ms": 50, "rate_limit": 50, "lost_response_rate": 0.02, "approve_after": 1}
            ours, script = case_versus("a", folder, home, rows=n(200), knobs=knobs, rate=50)
            goals.append(_goal(">= 1.3x faster than the asyncio script", script.wall / ours.wall >= 1.3))
            goals.append(
                _goal(
                    "every row completed, 0 duplicates", ours.completed == ours.rows and not ours.duplicates
                )
            )
            goals.append(
                _goal("efficiency >= 0.8 (start-up included)", ours.rows * 5 / 50 / ours.wall >= 0.8)
            )
            goals.append(_goal("<= 1% of calls answered 429", ours.limited <= 0.01 * ours.calls))
            goals.append(_goal("first line within 3 s", (ours.first_line or 99) <= 3.0))
        if "b" in cases:
            knobs = {"approve_after": 1}
            ours, script = case_versus("b", folder, home, rows=n(1000), knobs=knobs, rate=None)
            goals.append(_goal("no slower than the asyncio script (>= 1.0x)", script.wall / ours.wall >= 1.0))
            goals.append(_goal("<= 5.3 calls per DE row", ours.calls_per_row <= 5.3))
            goals.append(
                _goal(
                    "every row completed, 0 duplicates", ours.completed == ours.rows and not ours.duplicates
                )
            )
        if "review" in cases:
            knobs = {"latency_ms": 50, "rate_limit": 50, "approve_after": 60}
            with SandboxProcess(seed=7, **knobs) as sandbox:
                csv_path = write_csv(sandbox, folder / "review", n(200), seed=1)
                sides = {"compliance onboard": run_ours(sandbox, csv_path, folder / "review", home)}
                if args.script_on_review:
                    sides["asyncio script"] = run_script(sandbox, csv_path)
            ours = sides["compliance onboard"]
            _table(f"case review: {n(200)} DE rows, review 60 s, sandbox {knobs}", sides, 50)
            ideal = ours.rows * 5 / 50 + 60
            print(f"  ideal (the calls at the rate limit, plus one review): {ideal:.0f} s")
            goals.append(_goal(f"wall <= {ideal + 20:.0f} s (start-up included)", ours.wall <= ideal + 20))
            goals.append(_goal("<= 5.5 calls per row", ours.calls_per_row <= 5.5))
        if "efficiency" in cases:
            knobs = {"latency_ms": 50, "rate_limit": 50, "approve_after": 1}
            with SandboxProcess(seed=7, **knobs) as sandbox:
                csv_path = write_csv(sandbox, folder / "efficiency", n(1000), seed=1)
                ours = run_ours(sandbox, csv_path, folder / "efficiency", home)
            _table(f"case efficiency: {n(1000)} DE rows, sandbox {knobs}", {"compliance onboard": ours}, 50)
            goals.append(_goal("efficiency >= 0.95 at 1,000 rows", ours.rows * 5 / 50 / ours.wall >= 0.95))
        if "memory" in cases:
            peaks = {}
            for rows in (n(1000), n(10_000)):
                with SandboxProcess(seed=7, approve_after=1) as sandbox:
                    csv_path = write_csv(sandbox, folder / f"memory-{rows}", rows, seed=1)
                    side = run_ours(sandbox, csv_path, folder / f"memory-{rows}", home)
                peaks[rows] = side.peak_rss_mb
                print(
                    f"\ncase memory: {rows} rows, no limit: {side.wall:.1f} s, "
                    f"peak RSS {side.peak_rss_mb:.0f} MB, "
                    f"{side.completed}/{side.rows} completed, {side.duplicates} duplicates"
                )
            small, large = peaks[n(1000)], peaks[n(10_000)]
            print(f"  peak RSS at {n(10_000)} rows / at {n(1000)} rows: {large / small:.2f}")
            goals.append(_goal("peak RSS at 10x the rows within 10% of the peak", large <= 1.1 * small))
        if "validate" in cases:
            with SandboxProcess(seed=7) as sandbox:
                csv_path = write_csv(sandbox, folder / "validate", n(100_000), seed=3, numbers=False)
            completed = subprocess.run(
                [sys.executable, "-m", "bench._validate", str(csv_path)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            report = _json_lines(completed.stdout)[-1]
            print(
                f"\ncase validate: {report['rows']:,} rows in {report['seconds']:.1f} s, "
                f"peak RSS {report['peak_rss_mb']:.0f} MB"
            )
            goals.append(_goal("validation peak RSS <= 500 MB", report["peak_rss_mb"] <= 500))
    print(f"\n{sum(goals)} of {len(goals)} goals met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
