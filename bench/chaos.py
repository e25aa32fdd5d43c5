"""``make chaos``: bulk onboarding against a faulty sandbox, and killed with SIGKILL then rerun.

    python -m bench.chaos [--rows 1000] [--seed 1] [--throttle-rate 0.2] [--error-rate 0.05]
                          [--drop-rate 0.02] [--lost-response-rate 0.02] [--kill-rounds 3] [--kill-rows 200]
                          [--runner cli|library] [--json]

* **Faults.** A ``compliance sandbox`` subprocess (seeded) answers 429 to ``--throttle-rate`` of the
  requests, 5xx to ``--error-rate``, closes ``--drop-rate`` of the connections before handling them and
  handles ``--lost-response-rate`` of them (the write commits) but loses the answer. ``--rows`` fake rows
  (documents, values and phone numbers from the sandbox catalog) go through ``compliance onboard CSV
  --out RESULTS`` (the ``bulk_onboard`` flow, Prefect in ephemeral mode).
* **Kills.** Each of ``--kill-rounds`` rounds onboards ``--kill-rows`` rows on the sandbox reset (same
  fault rates), sends SIGKILL to the onboarding process (its process group) once the sandbox has seen a
  random number of its requests (round i of n: within the i-th n-th of the run), then reruns the same
  command with the same results CSV to completion.

After each run the checks are the pipeline's promises: every valid row ``completed``, no resource created
twice (``/_sandbox/stats`` ``duplicates``; one number order per row), exactly one results line per input row.
Prints the figures (``--json``: one JSON object) and exits 1 when a promise is broken.
``--runner library`` runs :mod:`bench._chaos_run` (the same library runner without Prefect) instead of the
CLI: the tests use it for quick kill rounds.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench._fake import main as write_fake_csv
from bench._sandbox import ROOT, SandboxProcess
from telnyx_compliance.onboarding.results_csv import read_results

FAULTS = ("throttle_rate", "error_rate", "drop_rate", "lost_response_rate")
_ROW_AGAIN = re.compile(r"failed on a transient error; running it again")
#: Sandbox requests per row, roughly, under the default faults (to draw kill points over a whole run).
_REQUESTS_PER_ROW = 11


@dataclass
class Check:
    """The promises checked against one CSV, its results CSV and the sandbox's stats."""

    rows: int
    completed: int
    statuses: dict[str, int]
    missing_rows: list[int]
    extra_lines: int
    not_completed: dict[int, str]
    duplicates: dict[str, dict[str, int]]
    number_orders: int

    @property
    def ok(self) -> bool:
        return (
            self.completed == self.rows
            and not self.missing_rows
            and not self.extra_lines
            and not self.duplicates
            and self.number_orders == self.rows
        )


def check(csv_path: Path, results_path: Path, stats: dict[str, Any]) -> Check:
    """Every input row completed, one results line each, no duplicates (each fake row orders one number)."""
    with csv_path.open(newline="", encoding="utf-8") as handle:
        expected = {index + 2 for index, _ in enumerate(csv.DictReader(handle))}
    lines = list(read_results(results_path)) if results_path.exists() else []
    latest = {line.row: line for line in lines}
    statuses = Counter(line.status for line in latest.values())
    return Check(
        rows=len(expected),
        completed=sum(1 for row in expected if row in latest and latest[row].status == "completed"),
        statuses=dict(statuses),
        missing_rows=sorted(expected - latest.keys()),
        extra_lines=len(lines) - len(expected & latest.keys()),
        not_completed={
            line.row: f"{line.status}: {line.error}"[:300]
            for line in latest.values()
            if line.status != "completed"
        },
        duplicates=dict(stats["duplicates"]),
        number_orders=int(stats["resources"].get("number_orders", 0)),
    )


@dataclass
class Run:
    """One onboarding process: how it ended and what the client counted (when it said)."""

    exit_code: int
    seconds: float
    killed_after_requests: int | None = None
    requests_sent: int | None = None
    retries: int | None = None
    #: Rows the runner ran again after a transient failure (its log lines).
    rows_run_again: int = 0
    output_tail: str = ""


@dataclass
class Settings:
    rows: int
    seed: int
    faults: dict[str, float]
    runner: str = "cli"
    concurrency: int = 32
    rate_limit: float = 400.0
    approve_after: float = 0.3
    retry_after: float = 0.0
    folder: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))


def _environment(settings: Settings, sandbox: SandboxProcess, prefect_home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TELNYX_BASE_URL": sandbox.base_url,
        "TELNYX_API_KEY": "chaos-key",
        "TELNYX_RATE_LIMIT": str(settings.rate_limit),
        "TELNYX_MAX_CONCURRENCY": str(settings.concurrency),
        "TELNYX_RETRY_MAX_WAIT": "2",
        "COMPLIANCE_APPROVAL_POLL_INTERVAL": "0.2",
        "COMPLIANCE_APPROVAL_POLL_MAX_INTERVAL": "1",
        "COMPLIANCE_APPROVAL_POLL_TIMEOUT": "120",
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # The ephemeral server's start-up (default limit 20 s) can exceed that on a busy machine.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "DO_NOT_TRACK": "1",
    }


def _command(settings: Settings, csv_path: Path, results: Path) -> list[str]:
    if settings.runner == "library":
        return [sys.executable, "-m", "bench._chaos_run", str(csv_path), str(results)]
    return [
        sys.executable,
        "-m",
        "telnyx_compliance.cli",
        "onboard",
        str(csv_path),
        "--out",
        str(results),
        "--json",
        "--verbose",  # the rows run again are counted from its log lines
    ]


def onboard(
    settings: Settings,
    sandbox: SandboxProcess,
    csv_path: Path,
    results: Path,
    *,
    kill_after_requests: int | None = None,
    timeout: float = 1800,
) -> Run:
    """Run the onboarding process; with ``kill_after_requests``, SIGKILL it once the sandbox has seen that
    many more requests (it may finish first)."""
    log = results.with_suffix(f".{time.monotonic_ns()}.log")
    env = _environment(settings, sandbox, settings.folder / "prefect-home")
    start_requests = int(sandbox.stats()["requests"]["total"])
    started = time.perf_counter()
    with log.open("wb") as output:
        process = subprocess.Popen(
            _command(settings, csv_path, results),
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the kill takes Prefect's server with it
        )
        killed_at: int | None = None
        try:
            while process.poll() is None:
                if time.perf_counter() - started > timeout:
                    process.kill()
                    raise TimeoutError(f"onboarding did not finish within {timeout} s; output in {log}")
                if kill_after_requests is not None:
                    seen = int(sandbox.stats()["requests"]["total"]) - start_requests
                    if seen >= kill_after_requests:
                        os.killpg(process.pid, signal.SIGKILL)
                        killed_at = seen
                        process.wait()
                        break
                time.sleep(0.02 if kill_after_requests is not None else 0.2)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    text = log.read_text(encoding="utf-8", errors="replace")
    run = Run(
        exit_code=process.returncode,
        seconds=time.perf_counter() - started,
        killed_after_requests=killed_at,
        rows_run_again=len(_ROW_AGAIN.findall(text)),
        output_tail=text[-3000:],
    )
    if killed_at is None:  # both runners end with one JSON line holding the client's counters
        for line in reversed(text.splitlines()):
            if line.startswith("{"):
                counters = json.loads(line)["client"]
                run.requests_sent, run.retries = counters["requests_sent"], counters["retries"]
                break
    return run


def _sandbox(settings: Settings, seed: int) -> SandboxProcess:
    return SandboxProcess(seed=seed, approve_after=settings.approve_after)


def _configure(sandbox: SandboxProcess, knobs: dict[str, float]) -> None:
    import httpx

    httpx.patch(f"{sandbox.root_url}/_sandbox/config", json=knobs, timeout=10).raise_for_status()


def _faults(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    kinds = ("throttled", "error", "dropped", "lost_response")
    old, new = before["requests"]["faults"], after["requests"]["faults"]
    return {kind: int(new.get(kind, 0)) - int(old.get(kind, 0)) for kind in kinds}


def fault_run(settings: Settings) -> dict[str, Any]:
    """``settings.rows`` rows through one onboarding process against the faulty sandbox."""
    folder = settings.folder / f"faults-{settings.seed}"
    with _sandbox(settings, settings.seed) as sandbox:
        csv_path = write_fake_csv(sandbox.base_url, folder, settings.rows, settings.seed, True)
        _configure(sandbox, {**settings.faults, "retry_after": settings.retry_after})
        before = sandbox.stats()
        run = onboard(settings, sandbox, csv_path, folder / "results.csv")
        after = sandbox.stats()
    result = check(csv_path, folder / "results.csv", after)
    return {
        "rows": settings.rows,
        "exit_code": run.exit_code,
        "wall_seconds": round(run.seconds, 1),
        "sandbox_requests": int(after["requests"]["total"]) - int(before["requests"]["total"]),
        "client_requests": run.requests_sent,
        "client_retries": run.retries,
        "rows_run_again": run.rows_run_again,
        "faults": _faults(before, after),
        "check": asdict(result),
        "ok": result.ok and run.exit_code == 0,
        **({} if result.ok and run.exit_code == 0 else {"output_tail": run.output_tail}),
    }


def kill_round(
    settings: Settings, sandbox: SandboxProcess, seed: int, *, part: tuple[int, int] = (0, 1), reruns: int = 1
) -> dict[str, Any]:
    """On the sandbox reset, SIGKILL the onboarding at a random point (drawn from ``seed``), then rerun it
    with the same results CSV; ``reruns`` further runs at most, to completion.

    ``part`` = (i, n): the point is drawn from the i-th of n equal parts of the run's expected requests, so
    n rounds kill early, midway and late rather than wherever the draws happen to fall."""
    folder = settings.folder / f"kill-{seed}"
    rng = random.Random(f"kill/{seed}")
    expected = max(2, settings.rows * _REQUESTS_PER_ROW)
    index, parts = part
    kill_after = max(1, int(expected * (index + rng.random()) / parts))
    sandbox.reset()
    _configure(sandbox, dict.fromkeys(FAULTS, 0.0))  # the CSV's requirement lookups go through unharmed
    csv_path = write_fake_csv(sandbox.base_url, folder, settings.rows, seed, True)
    _configure(sandbox, {**settings.faults, "retry_after": settings.retry_after})
    before = sandbox.stats()
    results = folder / "results.csv"
    killed = onboard(settings, sandbox, csv_path, results, kill_after_requests=kill_after)
    lines_at_kill = sum(1 for _ in read_results(results)) if results.exists() else 0
    runs = [onboard(settings, sandbox, csv_path, results)]
    unfinished: list[dict[int, str]] = []  # rows a rerun left not completed, and why
    while runs[-1].exit_code != 0 and len(runs) <= reruns:
        unfinished.append(check(csv_path, results, sandbox.stats()).not_completed)
        runs.append(onboard(settings, sandbox, csv_path, results))
    after = sandbox.stats()
    result = check(csv_path, results, after)
    ok = result.ok and runs[-1].exit_code == 0
    return {
        "seed": seed,
        "rows": settings.rows,
        "kill_after_requests": kill_after,
        "killed": killed.killed_after_requests is not None,
        "result_lines_at_kill": lines_at_kill,
        "reruns": len(runs),
        "unfinished_after_rerun": unfinished,
        "exit_codes": [killed.exit_code, *(run.exit_code for run in runs)],
        "wall_seconds": round(killed.seconds + sum(run.seconds for run in runs), 1),
        "sandbox_requests": int(after["requests"]["total"]) - int(before["requests"]["total"]),
        "client_retries": sum(run.retries or 0 for run in runs) or None,
        "rows_run_again": sum(run.rows_run_again for run in [killed, *runs]),
        "faults": _faults(before, after),
        "check": asdict(result),
        "ok": ok,
        **({} if ok else {"output_tail": runs[-1].output_tail}),
    }


def _print_figures(report: dict[str, Any]) -> None:
    faults = report.get("faults")
    if faults is not None:
        check_ = faults["check"]
        print(f"fault run ({report['runner']}): {faults['rows']} rows, seed {report['seed']}")
        print(f"  rates: {report['rates']}")
        print(f"  faults injected: {faults['faults']} (sandbox requests {faults['sandbox_requests']})")
        print(
            f"  client requests {faults['client_requests']}, retries {faults['client_retries']}, "
            f"rows run again after a transient failure {faults['rows_run_again']}"
        )
        print(
            f"  completed {check_['completed']}/{check_['rows']}, duplicates {len(check_['duplicates'])}, "
            f"lost rows {len(check_['missing_rows'])}, extra lines {check_['extra_lines']}, "
            f"number orders {check_['number_orders']}; wall {faults['wall_seconds']} s; "
            f"{'OK' if faults['ok'] else 'BROKEN'}"
        )
    for round_ in report.get("kills", []):
        check_ = round_["check"]
        state = (
            f"killed after {round_['kill_after_requests']} requests "
            f"({round_['result_lines_at_kill']} result lines written)"
            if round_["killed"]
            else f"finished before request {round_['kill_after_requests']}"
        )
        print(
            f"kill round seed {round_['seed']}: {round_['rows']} rows, {state}, "
            f"then {round_['reruns']} rerun(s); "
            f"faults {round_['faults']} in {round_['sandbox_requests']} requests, "
            f"client retries (reruns) {round_['client_retries']}, "
            f"rows run again {round_['rows_run_again']}; completed {check_['completed']}/{check_['rows']}, "
            f"duplicates {len(check_['duplicates'])}, lost rows {len(check_['missing_rows'])}, "
            f"wall {round_['wall_seconds']} s; {'OK' if round_['ok'] else 'BROKEN'}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000, help="rows of the fault run (0: skip it)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--throttle-rate", type=float, default=0.20)
    parser.add_argument("--error-rate", type=float, default=0.05)
    parser.add_argument("--drop-rate", type=float, default=0.02)
    parser.add_argument("--lost-response-rate", type=float, default=0.02)
    parser.add_argument("--retry-after", type=float, default=0.0, help="Retry-After of the sandbox's 429s")
    parser.add_argument("--approve-after", type=float, default=0.3)
    parser.add_argument("--kill-rounds", type=int, default=3)
    parser.add_argument("--kill-rows", type=int, default=200)
    parser.add_argument("--runner", choices=("cli", "library"), default="cli")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of figures")
    args = parser.parse_args(argv)
    rates = {name: float(getattr(args, name)) for name in FAULTS}

    report: dict[str, Any] = {"seed": args.seed, "rates": rates, "runner": args.runner}
    with tempfile.TemporaryDirectory(prefix="compliance-chaos-") as tmp:
        base = Settings(
            rows=args.rows,
            seed=args.seed,
            faults=rates,
            runner=args.runner,
            concurrency=args.concurrency,
            approve_after=args.approve_after,
            retry_after=args.retry_after,
            folder=Path(tmp),
        )
        if args.rows > 0:
            report["faults"] = fault_run(base)
        kill_settings = Settings(**{**asdict(base), "rows": args.kill_rows, "folder": Path(tmp)})
        report["kills"] = []
        if args.kill_rounds > 0:
            with _sandbox(kill_settings, args.seed) as sandbox:  # reset before each round
                report["kills"] = [
                    kill_round(
                        kill_settings, sandbox, args.seed * 1000 + index, part=(index, args.kill_rounds)
                    )
                    for index in range(args.kill_rounds)
                ]
    report["ok"] = all(part["ok"] for part in [report.get("faults", {"ok": True}), *report["kills"]])
    if args.json:
        print(json.dumps(report), flush=True)
    else:
        _print_figures(report)
        print("all promises kept" if report["ok"] else "PROMISES BROKEN")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
