"""``make bench``: ``compliance onboard`` next to what a user would write instead, same rows, same run.

Every figure is measured in this run, on this machine, each side in its own process against a sandbox in a
third process (reset between sides, so both start from nothing):

* **ours**: ``compliance onboard CSV --json`` with default settings (no ``TELNYX_RATE_LIMIT``, no
  ``TELNYX_MAX_CONCURRENCY``): wall time from launch to exit, so imports and Prefect's start-up count, as
  a user's second run sees them (Prefect's home, and its database, made once before the cases); also the
  time to the first line it prints;
* **the script**: ``bench/_asyncio_script.py``, an asyncio script over the official ``AsyncTelnyx`` (a
  semaphore, the SDK's own retries, the seed's order of calls); its wall time starts after its imports (in
  its favour). Case b tunes it as a user would (semaphores of 32, 64 and 128) and keeps its fastest; case a
  uses 48, as the issues before measured it; the CPU case uses case b's best.

Both sides' CPU is the whole process tree's (``bench/_tree.py``: Prefect's temporary server included).

Cases (``--cases``, default all):

* ``transports``: CPU per API call of each HTTP stack (``bench/_transports.py``): the official SDK with
  httpx and with aiohttp, our client on httpcore's pool (default and bounded), on ``httpx-aiohttp``, on
  ``httpx2``, and as shipped;
* ``a``: 200 DE rows, 50 ms latency, 50 requests/s per account, 2% of responses lost, review 1 s;
* ``b``: 1,000 DE rows, no latency, no rate limit, review 1 s;
* ``cpu``: the CPU of both sides at 100, 500 and 2,000 rows (three rounds of every size, the lowest of each
  counts): CPU per additional row (slope), fixed cost (intercept), per row over the 100-row run at 500 and
  2,000 rows, and Prefect's temporary server's own start-up;
* ``review``: 200 DE rows at 50 ms and 50 requests/s with a 60 s review (ours; the script with
  ``--script-on-review``, which holds its slots through each review: minutes);
* ``efficiency``: 1,000 DE rows at 50 ms and 50 requests/s, review 1 s (ours);
* ``memory``: peak RSS of ours at 1,000 and 10,000 rows, no latency, no limit;
* ``plan``: ``compliance plan`` of 10,000 DE rows on a fresh account: its calls by method, wall time and peak
  RSS (next to the bulk run's at 10,000 rows when ``memory`` ran too);
* ``validate``: validating a 100,000-row CSV (peak RSS).

``efficiency = (rows x 5 calls / rate) / wall``: the time the calls a DE row needs (address, document,
group, submit, order) take at the account's rate, over the wall time.

    python -m bench [--cases transports,a,b,cpu,review,efficiency,memory,plan,validate] [--quick]
                    [--script-on-review]
"""

from __future__ import annotations

import argparse
import asyncio
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
from telnyx_compliance._prefect_server import PrefectServerProcess

CALLS_PER_ROW = 5  # address, document, group, submit, order carrying the group (a DE row)
SCRIPT_CONCURRENCY = 64  # the script's semaphore where a case does not tune it
SCRIPT_TUNINGS = (32, 64, 128)
#: Case a's script, as the issues before measured it (at the account's limit the semaphore hardly matters).
A_SCRIPT_CONCURRENCY = 48
#: Rounds of runs (every size, each side) in the CPU case; the lowest CPU counts. The fixed cost (imports,
#: Prefect's start-up) alone varies by about 3 s CPU from run to run here, +-4 ms per row over the 400 rows
#: between the 100- and 500-row runs; and the machine's speed drifts over minutes.
REPEATS = 3
ALL_CASES = ("transports", "a", "b", "cpu", "review", "efficiency", "memory", "plan", "validate")


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
    cpu: float = 0.0  # CPU seconds of the whole process tree (bench/_tree.py), imports and start-up included
    label: str = ""

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


_SERVER_UP_AND_DOWN = (
    "import asyncio\n"
    "from telnyx_compliance._prefect_server import PrefectServerProcess\n"
    "server = PrefectServerProcess(); server.start()\n"
    "asyncio.run(server.ready()); server.stop()\n"
)


def warm_prefect_home(home: Path) -> None:
    """Prefect's home as a user has it after a first run: its database made and migrated."""
    subprocess.run(
        [sys.executable, "-c", _SERVER_UP_AND_DOWN],
        cwd=ROOT,
        env={**os.environ, "PREFECT_HOME": str(home)},
        check=True,
    )


def prefect_server_cpu(home: Path, folder: Path) -> float:
    """CPU seconds of starting Prefect's temporary server until it answers, and stopping it."""
    tree = folder / "server.tree.json"
    subprocess.run(
        [*_tree(tree), sys.executable, "-c", _SERVER_UP_AND_DOWN],
        cwd=ROOT,
        env={**os.environ, "PREFECT_HOME": str(home)},
        check=True,
    )
    return float(json.loads(tree.read_text())["cpu"])


def run_ours(
    sandbox: SandboxProcess, csv_path: Path, folder: Path, home: Path, *, api_url: str | None = None
) -> Side:
    """``compliance onboard`` as a user runs it, timed from launch to exit; ``api_url``: a Prefect server
    the user configured (``PREFECT_API_URL``), so none is started."""
    sandbox.reset()
    results = folder / "ours.results.csv"
    results.unlink(missing_ok=True)
    first_line: list[float] = []
    tree = folder / "ours.tree.json"
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            *_tree(tree),
            *(sys.executable, "-m", "bench._peak", "onboard", str(csv_path), "--out", str(results), "--json"),
        ],
        cwd=ROOT,
        env={**_environment(sandbox, home), **({"PREFECT_API_URL": api_url} if api_url else {})},
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
    reader.join()
    measured = json.loads(tree.read_text())
    lines = _json_lines(stdout)
    if process.returncode not in (0, 1) or len(lines) < 2:
        raise RuntimeError(f"compliance onboard failed ({process.returncode}):\n{''.join(stderr)[-3000:]}")
    summary, peak = lines[-2], lines[-1]
    calls, limited, duplicates = _sandbox_counts(sandbox)
    return Side(
        rows=int(summary["rows"]),
        completed=int(summary["counts"]["completed"]),
        wall=float(measured["wall"]),
        calls=calls,
        limited=limited,
        duplicates=duplicates,
        peak_rss_mb=float(peak["peak_rss_mb"]),
        first_line=first_line[0] if first_line else None,
        cpu=float(measured["cpu"]),
        label="compliance onboard",
    )


@dataclass
class Planned:
    """One ``compliance plan`` run: what it printed and what the sandbox saw."""

    rows: int
    wall: float
    peak_rss_mb: float
    by_method: dict[str, int]
    totals: dict[str, int]
    exit_code: int


def run_plan(sandbox: SandboxProcess, csv_path: Path, home: Path) -> Planned:
    """``compliance plan CSV --json`` on a fresh account, timed from launch to exit."""
    sandbox.reset()
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "bench._peak", "plan", str(csv_path), "--json"],
        cwd=ROOT,
        env=_environment(sandbox, home),
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    lines = _json_lines(completed.stdout)
    if completed.returncode not in (0, 1) or len(lines) < 2:
        raise RuntimeError(f"compliance plan failed ({completed.returncode}):\n{completed.stderr[-3000:]}")
    report, peak = lines[-2], lines[-1]
    by_method: dict[str, int] = {}
    for route, statuses in sandbox.stats()["requests"]["by_route"].items():
        method = route.split(" ", 1)[0]
        by_method[method] = by_method.get(method, 0) + sum(statuses.values())
    return Planned(
        rows=len(report["rows"]),
        wall=wall,
        peak_rss_mb=float(peak["peak_rss_mb"]),
        by_method=by_method,
        totals={verdict: count for verdict, count in report["totals"].items() if count},
        exit_code=completed.returncode,
    )


def _tree(out: Path) -> list[str]:
    """The prefix that runs a command under ``bench._tree``: its process tree's CPU goes to ``out``."""
    out.unlink(missing_ok=True)
    return [sys.executable, "-m", "bench._tree", str(out)]


def run_script(sandbox: SandboxProcess, csv_path: Path, concurrency: int = SCRIPT_CONCURRENCY) -> Side:
    sandbox.reset()
    tree = csv_path.parent / "script.tree.json"
    completed = subprocess.run(
        [
            *_tree(tree),
            *(
                sys.executable,
                "-m",
                "bench._asyncio_script",
                str(csv_path),
                sandbox.base_url,
                str(concurrency),
            ),
        ],
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
        cpu=float(json.loads(tree.read_text())["cpu"]),
        label=f"script (semaphore {concurrency})",
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
    row("CPU, process tree (s)", [f"{side.cpu:.1f}" for side in sides.values()])
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
    name: str,
    folder: Path,
    home: Path,
    *,
    rows: int,
    knobs: dict[str, Any],
    rate: float | None,
    tunings: Sequence[int] = (SCRIPT_CONCURRENCY,),
) -> tuple[Side, Side]:
    """Ours against the script; with several ``tunings`` the script runs at each and its fastest counts."""
    with SandboxProcess(seed=7, **knobs) as sandbox:
        csv_path = write_csv(sandbox, folder / name, rows, seed=1)
        ours = run_ours(sandbox, csv_path, folder / name, home)
        scripts = [run_script(sandbox, csv_path, concurrency) for concurrency in tunings]
    script = min(scripts, key=lambda side: side.wall)
    if len(scripts) > 1:
        print("\nthe script tuned: " + ", ".join(f"{side.label}: {side.wall:.1f} s" for side in scripts))
    _table(
        f"case {name}: {rows} DE rows, sandbox {knobs}",
        {"compliance onboard": ours, script.label: script},
        rate,
    )
    print(f"  speed-up: {script.wall / ours.wall:.2f}x")
    return ours, script


@dataclass(frozen=True)
class CpuLine:
    """CPU seconds against rows, from runs at a few sizes: ``fixed`` is the smallest run's CPU."""

    cpu: dict[int, float]

    @property
    def sizes(self) -> list[int]:
        return sorted(self.cpu)

    @property
    def slope(self) -> float:
        """CPU seconds per additional row between the two largest runs."""
        small, large = self.sizes[-2:]
        return (self.cpu[large] - self.cpu[small]) / (large - small)

    @property
    def intercept(self) -> float:
        large = self.sizes[-1]
        return self.cpu[large] - self.slope * large

    def per_row(self, rows: int) -> float:
        """CPU per row at ``rows`` over the smallest run's (its fixed cost taken out)."""
        smallest = self.sizes[0]
        return (self.cpu[rows] - self.cpu[smallest]) / (rows - smallest)


def _spread(sides: Sequence[Side]) -> str:
    return " / ".join(f"{side.cpu:.1f}" for side in sides)


def case_cpu(folder: Path, home: Path, sizes: Sequence[int], concurrency: int) -> tuple[CpuLine, CpuLine]:
    """The whole process tree's CPU at each size, both sides, no latency and no limit, review 1 s."""
    ours: dict[int, float] = {}
    script: dict[int, float] = {}
    with SandboxProcess(seed=7, approve_after=1) as sandbox:
        csvs = {rows: write_csv(sandbox, folder / f"cpu-{rows}", rows, seed=1) for rows in sizes}
        # Rounds of every size, REPEATS times, the lowest CPU of each counts: noise only ever adds CPU, and
        # this machine's speed drifts over minutes, which rounds spread over every size alike (one size's
        # runs back to back would read a drift as rows costing more).
        my_runs: dict[int, list[Side]] = {rows: [] for rows in sizes}
        their_runs: dict[int, list[Side]] = {rows: [] for rows in sizes}
        for _ in range(REPEATS):
            for rows, csv_path in csvs.items():
                my_runs[rows].append(run_ours(sandbox, csv_path, folder / f"cpu-{rows}", home))
                their_runs[rows].append(run_script(sandbox, csv_path, concurrency))
        for rows in sizes:
            mine = min(my_runs[rows], key=lambda side: side.cpu)
            theirs = min(their_runs[rows], key=lambda side: side.cpu)
            ours[rows], script[rows] = mine.cpu, theirs.cpu
            print(
                f"  {rows:>6} rows: ours {mine.cpu:6.1f} s CPU (runs {_spread(my_runs[rows])}; "
                f"{mine.wall:5.1f} s wall, {mine.completed}/{mine.rows}), script {theirs.cpu:6.1f} s CPU "
                f"(runs {_spread(their_runs[rows])}; {theirs.wall:5.1f} s wall, "
                f"{theirs.completed}/{theirs.rows})"
            )
        rows = sizes[0]
        with PrefectServerProcess() as server:
            asyncio.run(server.ready())
            configured = run_ours(
                sandbox,
                folder / f"cpu-{rows}" / "onboarding.csv",
                folder / f"cpu-{rows}",
                home,
                api_url=server.api_url,
            )
    server_cpu = prefect_server_cpu(home, folder)
    print(
        f"  fixed cost: Prefect's temporary server takes {server_cpu:.1f} s CPU to start and stop; with a "
        f"server configured (PREFECT_API_URL) ours at {rows} rows takes {configured.cpu:.1f} s CPU "
        f"({configured.wall:.1f} s wall) and starts none"
    )
    return CpuLine(ours), CpuLine(script)


def case_transports(calls: int, concurrency: int, repeats: int = 2) -> dict[str, float]:
    """CPU per call of each HTTP stack (``bench/_transports.py``), the best of ``repeats`` runs each."""
    from bench._transports import VARIANTS

    best: dict[str, float] = {}
    with SandboxProcess(seed=7) as sandbox:
        for _ in range(repeats):
            for variant in VARIANTS:
                completed = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "bench._transports",
                        variant,
                        sandbox.base_url,
                        str(calls),
                        str(concurrency),
                    ],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                report = _json_lines(completed.stdout)[-1]
                best[variant] = min(best.get(variant, float("inf")), float(report["cpu_ms_per_call"]))
    return best


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
    peaks: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="compliance-bench-") as tmp:
        folder = Path(tmp)
        home = folder / "prefect-home"
        warm_prefect_home(home)
        if "transports" in cases:
            calls = n(3000)
            per_call = case_transports(calls, concurrency=64)
            print(f"\ncase transports: CPU per call (ms), {calls} GETs 64 at a time, best of 2 runs")
            for variant, ms in per_call.items():
                print(f"  {variant:>20}: {ms:.2f}")
            goals.append(
                _goal("our client's CPU per call <= the official SDK's", per_call["ours"] <= per_call["sdk"])
            )
        if "a" in cases:
            knobs = {"latency_ms": 50, "rate_limit": 50, "lost_response_rate": 0.02, "approve_after": 1}
            ours, script = case_versus(
                "a", folder, home, rows=n(200), knobs=knobs, rate=50, tunings=(A_SCRIPT_CONCURRENCY,)
            )
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
        tuned = SCRIPT_CONCURRENCY
        if "b" in cases:
            knobs = {"approve_after": 1}
            ours, script = case_versus(
                "b", folder, home, rows=n(1000), knobs=knobs, rate=None, tunings=SCRIPT_TUNINGS
            )
            tuned = int(script.label.rsplit(" ", 1)[1].rstrip(")"))
            goals.append(
                _goal(
                    ">= 1.3x faster than the best-tuned script (start-up included)",
                    script.wall / ours.wall >= 1.3,
                )
            )
            goals.append(_goal("<= 5.3 calls per DE row", ours.calls_per_row <= 5.3))
            goals.append(
                _goal(
                    "every row completed, 0 duplicates", ours.completed == ours.rows and not ours.duplicates
                )
            )
        if "cpu" in cases:
            sizes = (n(100), n(500), n(2000))
            print(
                f"\ncase cpu: CPU seconds of the whole process tree at {sizes} DE rows, no latency, no limit"
            )
            ours_line, script_line = case_cpu(folder, home, sizes, tuned)
            for label, line in (("compliance onboard", ours_line), (f"script ({tuned})", script_line)):
                print(
                    f"  {label:>20}: {line.slope * 1000:5.2f} ms per additional row, "
                    f"{line.intercept:5.1f} s fixed; per row over the {sizes[0]}-row run: "
                    f"{line.per_row(sizes[1]) * 1000:.2f} ms at {sizes[1]}, "
                    f"{line.per_row(sizes[2]) * 1000:.2f} ms at {sizes[2]}"
                )
            ratio = ours_line.slope / script_line.slope
            print(f"  CPU per additional row, ours / the script's: {ratio:.2f}")
            goals.append(_goal("CPU per additional row <= 0.6x the script's", ratio <= 0.6))
            flat = ours_line.per_row(sizes[2]) / ours_line.per_row(sizes[1])
            print(f"  CPU per row at {sizes[2]} rows / at {sizes[1]}: {flat:.2f}")
            goals.append(
                _goal(f"CPU per row flat: {sizes[2]} rows within 10% of {sizes[1]}", abs(flat - 1) <= 0.1)
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
        if "plan" in cases:
            rows = n(10_000)
            with SandboxProcess(seed=7, approve_after=1) as sandbox:
                csv_path = write_csv(sandbox, folder / f"plan-{rows}", rows, seed=1)
                planned = run_plan(sandbox, csv_path, home)
            calls = sum(planned.by_method.values())
            print(
                f"\ncase plan: compliance plan of {planned.rows} DE rows, fresh account: "
                f"{planned.wall:.1f} s, "
                f"{calls} calls {planned.by_method}, peak RSS {planned.peak_rss_mb:.0f} MB, "
                f"verdicts {planned.totals}, exit {planned.exit_code}"
            )
            goals.append(_goal("the plan sends GET requests only", set(planned.by_method) <= {"GET"}))
            goals.append(_goal("the plan makes at most 12 calls on a fresh account", calls <= 12))
            goals.append(_goal("the plan takes under 10 s (start-up included)", planned.wall < 10))
            if rows in peaks:
                print(f"  peak RSS, plan / bulk run at {rows} rows: {planned.peak_rss_mb / peaks[rows]:.2f}")
                goals.append(
                    _goal("the plan's peak RSS within the bulk run's", planned.peak_rss_mb <= peaks[rows])
                )
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
