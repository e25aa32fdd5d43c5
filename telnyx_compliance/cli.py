"""The ``compliance`` command line: sandbox, onboarding (one or a CSV), its plan, status, templates, demo.

Imports of the heavier parts (Prefect, FastAPI) happen inside each command, so ``compliance --help`` is quick.

The flow-backed commands load their flow the way a Prefect worker loads a deployment's entrypoint: from its
file, relative to the project folder (:func:`_project_module`). Nothing here changes ``sys.path`` or
``os.environ``: Prefect's settings for the command (its temporary server, no analytics) are set for the
command's own context (:func:`_prefect_settings`), and the run the command starts reaches the flow through
``handing_over`` (``telnyx_compliance.onboarding.bulk.lifecycle``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from telnyx_compliance._prefect_server import PrefectServerProcess
    from telnyx_compliance.onboarding.bulk import BulkSummary
    from telnyx_compliance.onboarding.csv_source import BulkLocations
    from telnyx_compliance.settings import PipelineSettings, TelnyxSettings
    from telnyx_compliance.terminal import Terminal

app = typer.Typer(
    name="compliance",
    help="Telnyx regulatory compliance for phone-number ordering, end to end.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _fail(message: str, code: int = 2) -> typer.Exit:
    """Print an operator-facing error (no traceback) and return the exit to raise."""
    from telnyx_compliance._text import escape_controls

    typer.secho(f"error: {escape_controls(message)}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


#: Prefect's ephemeral server (no PREFECT_API_URL) gets 20 s to start by default; on a loaded two-core
#: machine it has been seen to need more, failing a run before it sent anything.
EPHEMERAL_STARTUP_TIMEOUT = 120


def _project_module(path: str) -> ModuleType:
    """A module of the application (``flows/...``: the checkout's top-level folders), loaded from its file
    the way a Prefect worker loads a deployment's entrypoint (``load_script_as_module``), relative to the
    project folder (:func:`_project_folder`).

    The installed distribution holds only ``telnyx_compliance``; the application is the checkout. Its
    modules import their siblings (``configs``, ``tasks``) as an editable install or the checkout as the
    working folder makes them importable, as for a deployment's run (its pull step changes into the
    checkout).
    """
    from prefect.exceptions import ScriptError
    from prefect.utilities.importtools import load_script_as_module

    project = _project_folder(path)
    if project is None:
        raise _fail(
            f"this command runs the Prefect flows, which live in a checkout of the project ({path} not "
            "found): run it from the checkout or set COMPLIANCE_PROJECT_DIR to it"
        )
    try:
        return load_script_as_module(str(project / path))
    except ScriptError as error:
        raise _fail(f"{project / path}: cannot be loaded: {error.user_exc!r}") from None


def _project_folder(path: str) -> Path | None:
    """The checkout holding ``path``: ``COMPLIANCE_PROJECT_DIR`` when set, else the one this environment
    installed (an editable install), else the working folder; None when none holds it."""
    import importlib.util

    named = os.environ.get("COMPLIANCE_PROJECT_DIR")
    if named:
        return Path(named) if (Path(named) / path).is_file() else None
    top = path.split("/", 1)[0]
    spec = importlib.util.find_spec(top)  # finds the installed checkout's package; changes nothing
    installed = [Path(folder).parent for folder in (spec.submodule_search_locations or [])] if spec else []
    for candidate in (*installed, Path.cwd()):
        if (candidate / path).is_file():
            return candidate
    return None


@contextmanager
def _prefect_settings(api_url: str | None = None) -> Iterator[None]:
    """Prefect's settings for what the command runs inside this block (a context of Prefect's, not the
    environment): no server-side analytics, time for a temporary server to start on a loaded machine, and
    the API of the command's own server (``api_url``) when it started one."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_SERVER_ANALYTICS_ENABLED,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
        temporary_settings,
    )

    updates: dict[Any, Any] = {
        PREFECT_SERVER_ANALYTICS_ENABLED: False,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: EPHEMERAL_STARTUP_TIMEOUT,
    }
    if api_url is not None:
        updates[PREFECT_API_URL] = api_url
    with temporary_settings(updates=updates):
        yield


def _settings() -> object:
    """Load TelnyxSettings, turning a configuration mistake into a one-line error."""
    from pydantic import ValidationError

    from telnyx_compliance.settings import MissingAPIKeyError, TelnyxSettings

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
        list[str] | None,
        typer.Option(
            help="Accepted API key, on /v2 and the /_sandbox admin routes (repeatable; default: any "
            "non-empty key on loopback). Required when --host is not loopback."
        ),
    ] = None,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            help="Another name the sandbox answers to (repeatable; default: 127.0.0.1, localhost, [::1]): "
            "any other Host header gets a 421, a guard against DNS rebinding."
        ),
    ] = None,
    public_base_url: Annotated[
        str | None,
        typer.Option(help="The sandbox's root URL as clients reach it, for the links it hands out."),
    ] = None,
    allow_private_urls: Annotated[
        bool | None,
        typer.Option(
            "--allow-private-urls/--refuse-private-urls",
            help="Fetch documents given as a URL from loopback/private/link-local hosts "
            "(default: only when listening on loopback).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the stateful local Telnyx compliance API (Ctrl-C stops it). Flags override SANDBOX_* env vars."""
    from pydantic import ValidationError

    from telnyx_compliance.sandbox import SandboxConfig, serve
    from telnyx_compliance.sandbox.hardening import ExposureError, check_exposure

    try:
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
            allowed_hosts=allowed_host or None,
            public_base_url=public_base_url,
            allow_private_urls=allow_private_urls,
        )
        check_exposure(config, host)  # before binding: beyond loopback, an API key is required
    except ValidationError as exc:
        raise _fail(" ".join(str(exc).split())) from None
    except ExposureError as exc:
        raise _fail(str(exc)) from None
    serve(config, host=host, port=port)


@app.command("onboard-one")
def onboard_one(
    request_file: Annotated[
        Path, typer.Argument(help="JSON file holding one OnboardingRequest.", exists=True, dir_okay=False)
    ],
) -> None:
    """Onboard one customer through the onboard_customer flow and print the result as JSON.

    Document paths in the request are relative to the request file's folder and must lie inside it (or
    inside COMPLIANCE_DOCUMENTS_BASE_DIR when set).
    """
    from pydantic import ValidationError

    from telnyx_compliance._text import excerpt
    from telnyx_compliance.onboarding.request import OnboardingRequest
    from telnyx_compliance.settings import PipelineSettings

    if request_file.name.startswith("."):
        raise _fail(f"{request_file}: hidden files are not read as requests")
    try:
        request = OnboardingRequest.model_validate_json(request_file.read_bytes())
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc'])) or 'request'}: {excerpt(error['msg'], 160)}"
            for error in exc.errors(include_input=False, include_url=False)
        )
        raise _fail(f"{request_file}: not a valid onboarding request: {problems}") from None
    settings = _settings()
    pipeline = PipelineSettings()
    if pipeline.documents_base_dir is None:
        pipeline = pipeline.model_copy(update={"documents_base_dir": str(request_file.resolve().parent)})
    run_onboard_one = _project_module("flows/onboard_customer.py").run_onboard_one

    with _prefect_settings():
        result = run_onboard_one(request, settings, pipeline)
    typer.echo(json.dumps(result.model_dump(mode="json"), indent=2))
    if result.status != "completed":
        raise typer.Exit(1)


@app.command()
def onboard(
    csv_path: Annotated[
        str,
        typer.Argument(
            help="Onboarding CSV (see docs/bulk-runs.md): a path, or a URL (s3://, gs://, az://, file://, "
            "http(s)://); documents are read relative to its folder or prefix.",
            metavar="CSV",
        ),
    ],
    out: Annotated[
        str | None,
        typer.Option(help="Results CSV, a path or a store URL (default: <csv>.results.csv beside the CSV)."),
    ] = None,
    only_failed: Annotated[
        str | None,
        typer.Option(help="Rerun only the rows this results CSV (a path or a URL) marks failed."),
    ] = None,
    max_concurrency: Annotated[
        int | None,
        typer.Option(help="Rows in submission at once (default: follows the rate Telnyx allows)."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON on stdout (for scripts).")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show every log line: Prefect's and each retried request.")
    ] = False,
) -> None:
    """Onboard every row of a CSV through the bulk_onboard flow.

    Exits 0 only when every valid row completed, 1 otherwise, 2 when the file as a whole is unusable.
    """
    settings = _settings()
    summary = _run_bulk_command(
        csv_path,
        out=out,
        only_failed=only_failed,
        settings=settings,  # type: ignore[arg-type]
        max_concurrency=max_concurrency,
        json_output=json_output,
        verbose=verbose,
    )
    raise typer.Exit(summary.exit_code)


def _run_bulk_command(
    csv_path: str,
    *,
    out: str | None,
    only_failed: str | None,
    settings: TelnyxSettings,
    pipeline: PipelineSettings | None = None,
    max_concurrency: int | None = None,
    json_output: bool = False,
    verbose: bool = False,
) -> BulkSummary:
    """``compliance onboard``: the first line within a second or two, rows sent before Prefect is up.

    Prefect's temporary server is started first, in its own process; the CSV is read and the run starts
    while it boots and while Prefect is imported (in a thread); the run under way is then handed to the
    ``bulk_onboard`` flow (``run_handed_over``). With ``PREFECT_API_URL`` set, that server is used instead.
    """
    import asyncio

    from telnyx_compliance._prefect_server import PrefectServerProcess
    from telnyx_compliance.locations import Location
    from telnyx_compliance.onboarding.confine import ConfinementError, RunScope
    from telnyx_compliance.onboarding.csv_io import CSVFormatError, count_rows
    from telnyx_compliance.onboarding.csv_source import CSVSourceError, confine_bulk, locate_bulk
    from telnyx_compliance.settings import PipelineSettings
    from telnyx_compliance.terminal import Terminal

    pipeline = pipeline or PipelineSettings()
    named = Location.parse(csv_path).redacted
    try:  # a deployment's rules but the roots: results CSVs only, never over another file
        csv_path, out, only_failed = confine_bulk(
            RunScope.for_command_line(), csv_path, out, only_failed, names=("CSV", "--out", "--only-failed")
        )
    except ConfinementError as exc:
        raise _fail(str(exc)) from None
    server = PrefectServerProcess.unless_configured()
    if server is not None:
        server.start()
    terminal = Terminal(live=sys.stderr.isatty() and not json_output, verbose=verbose)
    terminal.route_logs()
    try:
        try:
            locations = locate_bulk(
                csv_path,
                out,
                only_failed,
                documents_base=pipeline.documents_base_dir,
                staging_root=pipeline.staging_path(),
                max_document_bytes=pipeline.max_document_bytes,
            )
            rows = count_rows(locations.csv)
        except (CSVFormatError, CSVSourceError) as exc:
            if server is not None:
                server.stop(wait=False)
            raise _fail(str(exc)) from None
        terminal.started(
            named.split("?", 1)[0].rsplit("/", 1)[-1],
            rows,
            Location.parse(locations.results_location).redacted,
        )
        try:
            summary, stats = asyncio.run(
                _bulk_in_prefect(
                    csv_path,
                    out,
                    only_failed,
                    locations,
                    settings,
                    pipeline,
                    max_concurrency,
                    terminal,
                    server,
                )
            )
        except (CSVFormatError, ValueError) as exc:
            terminal.stop()
            raise _fail(f"{named}: {exc}") from None
        except Exception as exc:  # one line, never a traceback; the rows done are in the results
            terminal.stop()
            raise _fail(f"{named}: the run stopped: {type(exc).__name__}: {exc}", code=1) from None
    finally:
        terminal.stop()
        if server is not None:
            server.stop(wait=False)  # everything is sent to it; it finishes on its own
    from telnyx_compliance.onboarding.results_csv import latest_results

    problems = [line for line in latest_results(summary.results_path).values() if line.status != "completed"]
    terminal.summary(summary, problems, api_calls=int(stats["requests_sent"]))
    if json_output:  # one line, for scripts: the summary and the client's counters
        typer.echo(json.dumps({**summary.as_dict(), "client": stats}))
    return summary


async def _bulk_in_prefect(
    csv_path: str,
    out: str | None,
    only_failed: str | None,
    locations: BulkLocations,
    settings: TelnyxSettings,
    pipeline: PipelineSettings | None,
    max_concurrency: int | None,
    terminal: Terminal,
    server: PrefectServerProcess | None,
) -> tuple[BulkSummary, dict[str, Any]]:
    import asyncio

    from telnyx_compliance import RateLimiter
    from telnyx_compliance.onboarding.bulk import BulkRun
    from telnyx_compliance.onboarding.csv_io import CSVFormatError
    from telnyx_compliance.settings import PipelineSettings

    pipeline = pipeline or PipelineSettings()
    async with settings.async_client(RateLimiter(settings.rate_limit)) as client:
        run = BulkRun(
            locations.csv,
            client,
            locations=locations,
            settings=pipeline,
            max_concurrency=max_concurrency,
            on_row=terminal.row,
        )
        task = run.start()  # rows are sent from here on, before Prefect is up
        shown = asyncio.ensure_future(terminal.follow(run.progress))  # the phase counts in the progress line
        task.add_done_callback(lambda _: shown.cancel())
        # Prefect loads (in a thread) once the file passed its check (a file unusable as a whole is reported
        # without waiting for it).
        await asyncio.wait({task, asyncio.ensure_future(run.read.wait())}, return_when="FIRST_COMPLETED")
        flows = await asyncio.to_thread(_project_module, "flows/bulk_onboard.py")
        terminal.route_logs()  # Prefect installed its console handler on import
        if server is not None:
            await asyncio.wait({task, asyncio.ensure_future(server.ready())}, return_when="FIRST_COMPLETED")
            if task.done() and isinstance(task.exception(), CSVFormatError | ValueError):
                # Nothing was sent and the temporary server's runs are seen by nobody: say so at once.
                raise task.exception()  # type: ignore[misc]
            await server.ready()
        with _prefect_settings(server.api_url if server is not None else None):
            try:
                with flows.use_settings(settings, pipeline):  # the flow module's, from its tasks
                    summary = await flows.run_handed_over(
                        run, csv_path, out=out, only_failed=only_failed, max_concurrency=max_concurrency
                    )
            finally:
                await flows.drain_prefect_services()
        return summary, client.stats.as_dict()


@app.command()
def status(
    results: Annotated[
        Path | None,
        typer.Option(
            help="A results CSV of `compliance onboard`: only the groups of its customer references.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the report as one JSON document on stdout (for scripts).")
    ] = False,
) -> None:
    """Where every requirement group of this pipeline stands; read-only (GET list calls only).

    Pending since when, declined and why, approved and attached to its orders or not, expired.

    The same report the scheduled reconcile publishes (reconcile-requirement-groups).

    Exits 0 once the report is printed, 1 when Telnyx could not be read, 2 on a configuration or file error.
    """
    import asyncio

    from rich.console import Console

    from telnyx_compliance._exceptions import APIError
    from telnyx_compliance.onboarding.results_csv import is_results_file, read_results
    from telnyx_compliance.onboarding.status import group_status
    from telnyx_compliance.settings import PipelineSettings, TelnyxSettings
    from telnyx_compliance.terminal_status import print_status

    settings = _settings()
    assert isinstance(settings, TelnyxSettings)
    prefix = PipelineSettings().reference_prefix
    references: list[str] | None = None
    if results is not None:
        try:
            if not is_results_file(str(results)):
                raise _fail(f"{results}: not a results CSV of `compliance onboard` (its header differs)")
            references = list(dict.fromkeys(r.customer_reference for r in read_results(results)))
        except (OSError, ValueError) as exc:
            raise _fail(f"{results}: {exc}") from None

    async def take() -> Any:
        async with settings.async_client() as client:
            return await group_status(client, prefix, references)

    try:
        report = asyncio.run(take())
    except APIError as exc:
        raise _fail(f"Telnyx could not be read: {type(exc).__name__}: {exc}", code=1) from None
    except ValueError as exc:  # a reference prefix the pipeline would refuse
        raise _fail(str(exc)) from None
    if json_output:
        typer.echo(json.dumps(report.model_dump(mode="json"), indent=2))
        return
    console = Console(file=sys.stdout, highlight=False, width=None if sys.stdout.isatty() else 200)
    print_status(report, console)


@app.command()
def plan(
    csv_path: Annotated[
        str,
        typer.Argument(
            help="Onboarding CSV, as `compliance onboard` takes it (a path or a URL).", metavar="CSV"
        ),
    ],
    out: Annotated[
        str | None,
        typer.Option(
            help="Results CSV of earlier runs (default: <csv>.results.csv): rows it completed are done."
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the plan as JSON on stdout.")] = False,
    number_lookups: Annotated[
        bool,
        typer.Option(
            help="Ask Telnyx about each phone number to order, as the run does (one call per 20 numbers). "
            "By default each is checked against its numbering plan instead (a valid number of its row's "
            "country and type): a few calls whatever the rows.",
        ),
    ] = False,
) -> None:
    """Say what `compliance onboard CSV` would do with each row, sending GET requests only.

    Verdicts: create, resume (steps left), update (changed requirements; whether an approved group goes
    back to review), wait (under review), done, invalid (every problem by column), blocked (the run would
    refuse the row). Then the totals, the calls the run would make and how long they take at the rate the
    account allows now. Exits 0 when every row would proceed, 1 otherwise, 2 when the file as a whole is
    unusable.
    """
    import asyncio

    from telnyx_compliance import RateLimiter
    from telnyx_compliance._exceptions import APIError
    from telnyx_compliance.onboarding.confine import ConfinementError, RunScope
    from telnyx_compliance.onboarding.csv_io import CSVFormatError
    from telnyx_compliance.onboarding.csv_source import CSVSourceError, confine_bulk, locate_bulk
    from telnyx_compliance.onboarding.planning import BulkPlan, plan_bulk
    from telnyx_compliance.settings import PipelineSettings, TelnyxSettings

    settings = _settings()
    assert isinstance(settings, TelnyxSettings)
    pipeline = PipelineSettings()
    try:
        csv_path, out, _ = confine_bulk(
            RunScope.for_command_line(), csv_path, out, None, names=("CSV", "--out", "")
        )
        locations = locate_bulk(
            csv_path,
            out,
            None,
            documents_base=pipeline.documents_base_dir,
            staging_root=pipeline.staging_path(),
            max_document_bytes=pipeline.max_document_bytes,
        )
    except (ConfinementError, CSVSourceError) as exc:
        raise _fail(str(exc)) from None

    async def planned() -> BulkPlan:
        async with settings.async_client(RateLimiter(settings.rate_limit)) as client:
            return await plan_bulk(
                locations.csv,
                client,
                settings=pipeline,
                results_path=locations.results,
                documents_root=locations.documents_root,
                fetch_document=locations.fetch_document,
                number_lookups=number_lookups,
            )

    try:
        result = asyncio.run(planned())
    except CSVFormatError as exc:
        raise _fail(str(exc)) from None
    except APIError as exc:
        raise _fail(f"what exists could not be read: {type(exc).__name__}: {exc}", code=1) from None
    if json_output:
        typer.echo(json.dumps(result.as_dict()))
    else:
        _print_plan(result)
    raise typer.Exit(result.exit_code)


def _print_plan(result: Any) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from telnyx_compliance._text import escape_controls

    console = Console()
    table = Table("row", "customer", "verdict", "steps", "detail")
    for line in result.table():
        table.add_row(*(escape(escape_controls(value)) for value in line.values()))
    console.print(table)
    for text in result.summary_lines():
        console.print(escape(text))


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

    Runs Prefect with a temporary server and needs no API key. The example CSV has rows that are invalid
    or get declined on purpose, so the summary shows errors too; the demo itself succeeds when every row
    got its line in the results.
    """
    from rich.console import Console

    from telnyx_compliance.sandbox import SandboxConfig, SandboxServer
    from telnyx_compliance.settings import PipelineSettings, TelnyxSettings

    console = Console(stderr=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)  # a demo starts from nothing, like the sandbox does
    config = SandboxConfig(seed=1, approve_after=2.0, rate_limit=50, latency_ms=20)
    with SandboxServer(config) as sandbox:
        console.print(
            f"[bold]Sandbox[/] on {sandbox.base_url} (seed 1; 50 requests/s per account; groups reviewed "
            "after 2 s)"
        )
        settings = TelnyxSettings(base_url=sandbox.base_url, api_key=None)
        pipeline = PipelineSettings(approval_poll_interval=0.5, approval_poll_max_interval=2.0)
        summary = _run_bulk_command(
            str(csv_path), out=str(out), only_failed=None, settings=settings, pipeline=pipeline
        )
        stats = sandbox.stats()
    console.print(
        f"Sandbox: {stats['requests']['total']} API calls, "
        f"{stats['requests']['by_status'].get('429', 0)} answered 429, "
        f"duplicates: {len(stats['duplicates'])}"
    )
    console.print(
        f"(`compliance onboard` would exit {summary.exit_code}: "
        "0 only when every valid row completed; this CSV has bad rows on purpose.)"
    )
    raise typer.Exit(0 if summary.rows else 1)


if __name__ == "__main__":  # pragma: no cover
    app()
