"""The ``compliance`` command line: sandbox, onboarding (one or a CSV), templates and the demo.

Imports of the heavier parts (Prefect, FastAPI) happen inside each command, so ``compliance --help`` is quick.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="compliance",
    help="Telnyx regulatory compliance for phone-number ordering, end to end.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


# Prefect's ephemeral server (no PREFECT_API_URL) gets 20 s to start by default; on a loaded two-core
# machine it has been seen to need more, failing a run before it sent anything. Set before Prefect loads.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def _fail(message: str, code: int = 2) -> typer.Exit:
    """Print an operator-facing error (no traceback) and return the exit to raise."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _settings() -> object:
    """Load TelnyxSettings, turning a configuration mistake into a one-line error."""
    from pydantic import ValidationError

    from configs.settings import MissingAPIKeyError, TelnyxSettings

    try:
        return TelnyxSettings()
    except (MissingAPIKeyError, ValidationError) as exc:
        raise _fail(str(exc)) from None


@app.command()
def sandbox(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 4010,
    seed: Annotated[
        int | None, typer.Option(help="Seed for ids, codes and faults (reproducible runs).")
    ] = None,
    latency_ms: Annotated[float | None, typer.Option(help="Mean added latency per request (ms).")] = None,
    latency_jitter_ms: Annotated[
        float | None, typer.Option(help="Jitter around the mean latency (ms).")
    ] = None,
    rate_limit: Annotated[float | None, typer.Option(help="Requests per second before 429s.")] = None,
    throttle_rate: Annotated[
        float | None, typer.Option(help="Share of requests answered 429 anyway.")
    ] = None,
    error_rate: Annotated[float | None, typer.Option(help="Share of requests answered 5xx.")] = None,
    drop_rate: Annotated[
        float | None, typer.Option(help="Share of connections closed before the write.")
    ] = None,
    lost_response_rate: Annotated[
        float | None, typer.Option(help="Share of writes committed whose response is then lost.")
    ] = None,
    approve_after: Annotated[
        float | None, typer.Option(help="Seconds from submission to a decision.")
    ] = None,
    document_ttl: Annotated[
        float | None, typer.Option(help="Unlinked documents are deleted after (s).")
    ] = None,
    persist: Annotated[Path | None, typer.Option(help="SQLite file keeping state across restarts.")] = None,
    api_key: Annotated[
        list[str] | None, typer.Option(help="Accepted API key (repeatable; default: any non-empty key).")
    ] = None,
) -> None:
    """Serve the stateful local Telnyx compliance API (Ctrl-C stops it). Flags override SANDBOX_* env vars."""
    from telnyx_compliance.sandbox import SandboxConfig, serve

    config = SandboxConfig.from_flags(
        seed=seed,
        latency_ms=latency_ms,
        latency_jitter_ms=latency_jitter_ms,
        rate_limit=rate_limit,
        throttle_rate=throttle_rate,
        error_rate=error_rate,
        drop_rate=drop_rate,
        lost_response_rate=lost_response_rate,
        approve_after=approve_after,
        document_ttl=document_ttl,
        persist_path=str(persist) if persist else None,
        api_keys=api_key or None,
    )
    serve(config, host=host, port=port)


@app.command("onboard-one")
def onboard_one(
    request_file: Annotated[
        Path, typer.Argument(help="JSON file holding one OnboardingRequest.", exists=True)
    ],
) -> None:
    """Onboard one customer through the ``onboard_customer`` flow and print the result as JSON."""
    from pydantic import ValidationError

    from telnyx_compliance.onboarding.request import OnboardingRequest

    try:
        request = OnboardingRequest.model_validate_json(request_file.read_bytes())
    except ValidationError as exc:
        raise _fail(f"{request_file}: {exc}") from None
    settings = _settings()
    from flows.onboard_customer import run_onboard_one

    result = run_onboard_one(request, settings)  # type: ignore[arg-type]
    typer.echo(json.dumps(result.model_dump(mode="json"), indent=2))
    if result.status != "completed":
        raise typer.Exit(1)


@app.command()
def onboard(
    csv_path: Annotated[Path, typer.Argument(help="Onboarding CSV (see README 'CSV format').", exists=True)],
    out: Annotated[
        Path | None, typer.Option(help="Results CSV (default: <csv>.results.csv).", dir_okay=False)
    ] = None,
    only_failed: Annotated[
        Path | None, typer.Option(help="Rerun only the rows this results CSV marks failed.", exists=True)
    ] = None,
    max_concurrency: Annotated[int | None, typer.Option(help="Concurrent onboardings.")] = None,
) -> None:
    """Onboard every row of a CSV through the ``bulk_onboard`` flow.

    Exits 0 only when every valid row completed, 1 otherwise, 2 when the file as a whole is unusable.
    """
    settings = _settings()
    from flows.bulk_onboard import run_bulk
    from telnyx_compliance.onboarding.csv_io import CSVFormatError

    try:
        summary = run_bulk(
            csv_path,
            out=out,
            only_failed=only_failed,
            settings=settings,  # type: ignore[arg-type]
            max_concurrency=max_concurrency,
            progress=sys.stderr.isatty(),
        )
    except (CSVFormatError, ValueError) as exc:
        raise _fail(f"{csv_path}: {exc}") from None
    except Exception as exc:  # the operator gets one line, never a traceback; rows done are in the results
        raise _fail(f"{csv_path}: the run stopped: {type(exc).__name__}: {exc}", code=1) from None
    typer.echo(summary.markdown())
    raise typer.Exit(summary.exit_code)


@app.command()
def template(
    country: Annotated[str, typer.Option(help="ISO country code, e.g. DE.")],
    type_: Annotated[str, typer.Option("--type", help="Phone number type, e.g. local.")] = "local",
    action: Annotated[str, typer.Option(help="ordering or porting.")] = "ordering",
    out: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
    rows: Annotated[int, typer.Option(help="Rows of synthetic values to add (with --fake).")] = 0,
    fake: Annotated[
        bool, typer.Option(help="Fill --rows rows with valid synthetic values and documents.")
    ] = False,
) -> None:
    """Write the CSV header (and a commented description of each requirement) for one market."""
    settings = _settings()
    from telnyx_compliance.onboarding.template import write_template

    if rows and not fake:
        raise _fail("--rows needs --fake (synthetic values); without it only the header is written")
    write_template(settings, country=country, phone_number_type=type_, action=action, out=out, rows=rows)  # type: ignore[arg-type]


@app.command()
def demo(
    csv_path: Annotated[Path, typer.Option("--csv", help="CSV to onboard.")] = Path(
        "examples/onboarding.csv"
    ),
    out: Annotated[Path, typer.Option(help="Results CSV.")] = Path("out/demo-results.csv"),
) -> None:
    """Start a sandbox, onboard the example CSV through the bulk flow, print the summary, stop the sandbox.

    Runs Prefect in ephemeral mode (no server) and needs no API key. The example CSV has rows that are
    invalid or get declined on purpose, so the summary shows errors too; the demo itself succeeds when
    every row got its line in the results.
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from configs.settings import PipelineSettings, TelnyxSettings
    from flows.bulk_onboard import run_bulk
    from telnyx_compliance.onboarding.csv_io import CSVFormatError
    from telnyx_compliance.onboarding.results_csv import latest_results
    from telnyx_compliance.sandbox import SandboxConfig, SandboxServer

    console = Console(stderr=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)  # a demo starts from nothing, like the sandbox does
    with SandboxServer(SandboxConfig(seed=1, approve_after=2.0)) as sandbox:
        console.print(f"[bold]Sandbox[/] on {sandbox.base_url} (seed 1, groups reviewed after 2 s)")
        settings = TelnyxSettings(base_url=sandbox.base_url, api_key=None, rate_limit=50)
        pipeline = PipelineSettings(approval_poll_interval=0.5, approval_poll_max_interval=2.0)
        try:
            summary = run_bulk(
                csv_path, out=out, settings=settings, pipeline=pipeline, progress=sys.stdout.isatty()
            )
        except CSVFormatError as exc:
            raise _fail(f"{csv_path}: {exc}") from None
        stats = sandbox.stats()

    table = Table(title="Rows by status")
    for column in ("status", "rows"):
        table.add_column(column)
    for status, count in sorted(summary.counts.items()):
        table.add_row(status, str(count))
    console.print(table)
    problems = [line for line in latest_results(out).values() if line.status != "completed"]
    if problems:
        errors = Table(title="Rows that did not complete (row numbers as in the spreadsheet)")
        for column in ("row", "customer", "status", "error"):
            errors.add_column(column, overflow="fold")
        for line in sorted(problems, key=lambda line: line.row):
            # Errors quote requirement keys in [brackets]: not rich markup.
            errors.add_row(str(line.row), escape(line.customer_reference), line.status, escape(line.error))
        console.print(errors)
    console.print(
        f"API calls: {stats['requests']['total']}; duplicates in the sandbox: {len(stats['duplicates'])}"
    )
    console.print(f"Results CSV: [bold]{out.resolve()}[/]")
    console.print(
        f"(`compliance onboard` would exit {summary.exit_code}: "
        "0 only when every valid row completed; this CSV has bad rows on purpose.)"
    )
    raise typer.Exit(0 if summary.rows else 1)


if __name__ == "__main__":  # pragma: no cover
    app()
