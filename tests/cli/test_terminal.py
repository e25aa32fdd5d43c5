"""``compliance onboard`` in a pseudo-terminal, as an operator sees it: a first line, one progress line with
log lines above it (never inside it), no Prefect banners, a closing table; and ``--json`` for scripts."""

from __future__ import annotations

import csv
import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from telnyx_compliance import AsyncTelnyx
from telnyx_compliance.cli import app
from telnyx_compliance.onboarding.mapping import RequirementMapping
from telnyx_compliance.onboarding.template import fake_rows, fetch_requirements, render_template
from telnyx_compliance.sandbox import SandboxConfig, SandboxServer

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_in_terminal(args: list[str], env: dict[str, str], timeout: float = 180) -> tuple[int, str]:
    """Run ``compliance ARGS`` with a pseudo-terminal (120 columns) as stdin, stdout and stderr."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "telnyx_compliance.cli", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=ROOT,
        close_fds=True,
    )
    os.close(slave)
    output = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        elif process.poll() is not None:
            break
    else:
        process.kill()
    os.close(master)
    return process.wait(), output.decode("utf-8", errors="replace")


@pytest.fixture
def throttling() -> SandboxServer:
    """A sandbox that answers 10% of requests 429 (so retries log while the progress line is up)."""
    with SandboxServer(
        SandboxConfig(seed=21, approve_after=0.3, throttle_rate=0.1, retry_after=0)
    ) as sandbox:
        yield sandbox


async def _de_csv(sandbox: SandboxServer, folder: Path, rows: int) -> Path:
    async with AsyncTelnyx(api_key="k", base_url=sandbox.base_url, max_retries=6) as client:
        requirements = await fetch_requirements(client, "DE", "local", "ordering")
    mapping = RequirementMapping.load()
    path = folder / "de.csv"
    rendered = render_template(
        requirements,
        mapping,
        "DE",
        "local",
        "ordering",
        fake_rows(requirements, mapping, rows, folder, 5, country="DE"),
    )
    path.write_text(rendered, encoding="utf-8")
    return path


def _env(sandbox: SandboxServer, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELNYX_", "COMPLIANCE_", "PREFECT_"))}
    env.update(
        TELNYX_BASE_URL=sandbox.base_url,
        COMPLIANCE_APPROVAL_POLL_INTERVAL="0.1",
        PREFECT_HOME=str(home),
        TERM="xterm-256color",
        COLUMNS="120",
    )
    # Prefect's first-run telemetry notice reads DO_NOT_TRACK from the environment alone, which the command
    # no longer changes: the Makefile exports it (and the checkout's pyproject.toml turns analytics off).
    env["DO_NOT_TRACK"] = "1"
    env.pop("NO_COLOR", None)
    return env


@pytest.mark.slow
async def test_the_terminal_shows_one_progress_line_with_logs_above_it(
    throttling: SandboxServer, tmp_path: Path
) -> None:
    csv_path = await _de_csv(throttling, tmp_path, 30)
    code, raw = run_in_terminal(
        ["onboard", str(csv_path), "--verbose"], _env(throttling, tmp_path / "prefect")
    )
    text = ANSI.sub("", raw)
    assert code == 0, text[-3000:]
    first = text.strip().splitlines()[0]
    assert first.startswith("de.csv: 30 row(s) read; results in"), first
    # No banners: neither Prefect's telemetry notice nor its temporary-server notice.
    assert "anonymous usage data" not in text and "Starting temporary server" not in text
    assert "Traceback" not in text
    # Log lines went out while the bar was up, and each one sits on a line of its own, never inside it.
    logged = [line for line in text.split("\n") if "Retrying" in line]
    assert logged, "the sandbox throttles 10% of the requests: retries must have been logged"
    for line in logged:
        segment = next(part for part in line.split("\r") if "Retrying" in part)
        assert "━" not in segment and "onboarding" not in segment, repr(line)
    # The bar is one line redrawn in place (each redraw starts with a carriage return): what stays on screen
    # of a finished line is its last redraw, and only the final line keeps a bar.
    visible = [line.rstrip("\r").split("\r")[-1] for line in text.split("\n")]
    kept_bars = [line for line in visible if line.startswith("onboarding")]
    assert len(kept_bars) <= 1, kept_bars[:5]
    # The closing table, not raw markdown.
    assert "Rows by status" in text and "completed" in text and "| status | rows |" not in text
    assert re.search(r"completed\s*│\s*30", text), text[-2000:]


#: Cells a hostile CSV holds: escape sequences (clear the screen, a terminal link, the alternate screen) and
#: rich markup. Each is the customer reference of an invalid row, so the closing table lists it.
HOSTILE_REFERENCES = (
    "a\x1b[2Jb",
    "\x1b]8;;http://evil.example\x07click\x1b]8;;\x07",
    "c\x1b[?1049hd",
    "[bold red]boom[/]",
    "e\rf\ng",
)


@pytest.mark.slow
def test_escape_sequences_and_markup_from_the_csv_never_reach_the_terminal(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    with (ROOT / "examples" / "onboarding.csv").open(encoding="utf-8", newline="") as handle:
        columns = next(csv.reader(handle))
    csv_path = tmp_path / "hostile\x1b[2J.csv"  # the file's name is shown too
    with csv_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows({"customer_reference": ref, "country_code": "DE"} for ref in HOSTILE_REFERENCES)

    code, raw = run_in_terminal(["onboard", str(csv_path), "--verbose"], _env(sandbox, tmp_path / "prefect"))

    assert code == 0, raw[-3000:]  # invalid rows only: nothing to complete
    for sequence in ("\x1b[2J", "\x1b]8;;", "\x07", "\x1b[?1049h"):
        assert sequence not in raw, (sequence, raw[-3000:])
    text = ANSI.sub("", raw)
    assert "Rows that did not complete" in text
    assert r"hostile\x1b[2J.csv: 5 row(s) read" in text  # the first line shows the name, escaped
    for shown in (r"a\x1b[2Jb", r"\x1b]8;;http://evil.example\x07click", r"c\x1b[?1049hd", r"e\rf\ng"):
        assert shown in text, shown
    assert "[bold red]boom[/]" in text  # markup shown as typed


def test_json_prints_the_summary_alone_on_stdout(sandbox: SandboxServer, tmp_path: Path) -> None:
    import asyncio

    csv_path = asyncio.run(_de_csv(sandbox, tmp_path, 3))
    env = _env(sandbox, tmp_path / "prefect")
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    done = subprocess.run(
        [sys.executable, "-m", "telnyx_compliance.cli", "onboard", str(csv_path), "--json"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = done.stdout.splitlines()
    summary = json.loads(line)
    assert summary["counts"]["completed"] == 3 and summary["exit_code"] == 0
    assert summary["client"]["requests_sent"] > 0
    assert "Rows by status" in done.stderr  # the human table goes to stderr


def test_help_texts_render_without_rst_markup() -> None:
    runner = CliRunner()
    for command in ([], ["onboard"], ["onboard-one"], ["template"], ["demo"], ["sandbox"]):
        output = runner.invoke(app, [*command, "--help"]).output
        assert "``" not in output and ":class:" not in output and ":func:" not in output, (command, output)
