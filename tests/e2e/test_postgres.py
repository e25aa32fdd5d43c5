"""End to end on production-like infrastructure: a Prefect server on PostgreSQL, two process workers on one
pool, a sandbox account with a real rate limit, and a local S3 endpoint (moto) in the workers' environment.

Two bulk runs share the account's limit at once: both complete, nothing is created twice, almost no request
is refused, and the pair spends most of the limit (the ratio is printed: ``shared limit: ...``). A failed run
is retried as the UI's Retry button does.

Inputs and outputs live in a bucket on that S3 endpoint, as they must with workers on several machines: each
run's CSV and documents under its own prefix, its results written there (parts, then the final object), read
back from the bucket by the test; the workers have the endpoint and credentials in their environment and may
use only ``s3://BUCKET`` (``COMPLIANCE_STORAGE_ROOTS``).
"""

from __future__ import annotations

import asyncio
import csv
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

import asyncpg
import pytest
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.client.schemas.objects import FlowRun, State, StateType
from prefect.settings import PREFECT_API_URL, temporary_settings

from telnyx_compliance import AsyncTelnyx
from telnyx_compliance.sandbox import SandboxConfig, SandboxServer

from .services import MotoS3, PostgresCluster
from .support import PrefectStack
from .test_prefect_server import _run, _write_csv

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]

RATE_LIMIT = 20.0  # the sandbox account's limit, requests per second
RATE_WINDOW = 1.0
ROWS = 60  # per CSV
APPROVE_AFTER = 1.0
BUCKET = "compliance-e2e"
DEPLOYMENT = "bulk_onboard/bulk-onboard"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    config = SandboxConfig(
        seed=29, approve_after=APPROVE_AFTER, rate_limit=RATE_LIMIT, rate_limit_window=RATE_WINDOW
    )
    with SandboxServer(config) as server:
        yield server


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    with PostgresCluster(database="prefect") as cluster:
        yield cluster


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3]:
    with MotoS3(log_dir=tmp_path_factory.mktemp("moto")) as server:
        server.create_bucket(BUCKET)
        yield server


@pytest.fixture(scope="module")
def stack(
    sandbox: SandboxServer, postgres: PostgresCluster, s3: MotoS3, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrefectStack]:
    worker_env = {
        "TELNYX_BASE_URL": sandbox.base_url,
        "TELNYX_API_KEY": "e2e-key",
        # Enough retries to ride out a rare 429, few enough that a fault storm fails a run within seconds.
        "TELNYX_MAX_RETRIES": "3",
        "TELNYX_RETRY_MAX_WAIT": "0.5",
        "TELNYX_RETRY_TOTAL_TIMEOUT": "5",
        "COMPLIANCE_APPROVAL_POLL_TIMEOUT": "60",
        "COMPLIANCE_APPROVAL_POLL_INTERVAL": "0.5",
        "COMPLIANCE_APPROVAL_POLL_MAX_INTERVAL": "1",
        # The CSVs of these runs are written under pytest's temporary folder, not the project folder.
        "COMPLIANCE_INPUT_ROOT": str(tmp_path_factory.getbasetemp()),
        "COMPLIANCE_STORAGE_ROOTS": f"s3://{BUCKET}",
        **s3.env(),
    }
    # --limit 1: a worker takes one flow run at a time, so two runs started together go to both workers.
    # Without a limit every worker claims every scheduled run it sees; two runs then usually land on two
    # workers (starting one keeps a worker busy for a moment), but that is a race, not a guarantee.
    stack = PrefectStack(
        tmp_path_factory.mktemp("prefect-home"),
        worker_env,
        database_url=postgres.url,
        workers=2,
        worker_limit=1,
    )
    try:
        try:
            stack.start()
        except Exception as error:
            raise RuntimeError(f"{error}\npostgres log:\n{postgres.log()}") from error
        yield stack
    finally:
        stack.stop()


@pytest.fixture
async def prefect(stack: PrefectStack) -> AsyncIterator[PrefectClient]:
    with temporary_settings({PREFECT_API_URL: stack.api_url}):
        async with get_client() as client:
            yield client


def _diagnostics(stack: PrefectStack, postgres: PostgresCluster) -> str:
    logs = "\n".join(f"--- {name} ---\n{text}" for name, text in stack.worker_logs().items())
    return f"{logs}\n--- server ---\n{stack.log('server')}\n--- postgres ---\n{postgres.log()}"


@dataclass
class Sample:
    at: float  # time.monotonic()
    requests: int  # /v2 requests the sandbox answered so far
    refused: int  # of which 429
    running: int  # of the watched runs, how many were Running


@dataclass
class Watch:
    runs: dict[UUID, FlowRun] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)


def _requests(sandbox: SandboxServer) -> tuple[int, int]:
    requests = sandbox.stats()["requests"]
    return int(requests["total"]), int(requests["by_status"].get("429", 0))


async def _watch(
    client: PrefectClient,
    run_ids: list[UUID],
    sandbox: SandboxServer,
    stack: PrefectStack,
    postgres: PostgresCluster,
    *,
    timeout: float = 300,
    every: float = 0.25,
) -> Watch:
    """Wait until every run is final, sampling the sandbox's request counts and how many runs are Running."""
    watch = Watch()
    deadline = time.monotonic() + timeout
    while True:
        runs = await asyncio.gather(*(client.read_flow_run(run_id) for run_id in run_ids))
        requests, refused = _requests(sandbox)
        running = sum(1 for run in runs if run.state is not None and run.state.is_running())
        watch.samples.append(Sample(time.monotonic(), requests, refused, running))
        watch.runs = {run.id: run for run in runs}
        if all(run.state is not None and run.state.is_final() for run in runs):
            return watch
        if time.monotonic() > deadline:
            states = {run.name: run.state.name if run.state else None for run in runs}
            diagnostics = _diagnostics(stack, postgres)
            raise AssertionError(f"runs not final after {timeout}s: {states}\n{diagnostics}")
        await asyncio.sleep(every)


def _rate(samples: list[Sample]) -> float:
    """Requests per second between the first and the last sample."""
    elapsed = samples[-1].at - samples[0].at
    return (samples[-1].requests - samples[0].requests) / elapsed if elapsed > 0 else 0.0


def _busiest(samples: list[Sample], seconds: float) -> float:
    """The highest request rate over any ``seconds`` (or more) between two samples."""
    best = 0.0
    for end in samples:
        earlier = [sample for sample in samples if end.at - sample.at >= seconds]
        if earlier:
            best = max(best, _rate([earlier[-1], end]))
    return best


def _assert_workers_alive(stack: PrefectStack, postgres: PostgresCluster) -> None:
    exited = stack.exited_workers()
    assert not exited, f"workers exited: {exited}\n{_diagnostics(stack, postgres)}"


async def _process_gone(run: FlowRun, timeout: float = 60) -> None:
    """Until the process that ran ``run`` has exited (its ``infrastructure_pid``, set by the worker)."""
    assert run.infrastructure_pid, run
    stat = Path("/proc") / run.infrastructure_pid.rsplit(":", 1)[-1] / "stat"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
                break  # exited, not yet reaped
        except (OSError, IndexError):
            break
        assert time.monotonic() < deadline, f"the process of {run.name} still runs after {timeout}s"
        await asyncio.sleep(0.2)


def _submitted_by(stack: PrefectStack, run: FlowRun) -> list[str]:
    """The workers that handed ``run`` to their infrastructure (the one that won its Pending transition)."""
    line = f"Flow run '{run.name}' submitted to infrastructure"
    return [name for name, text in stack.worker_logs(tail=None).items() if line in text]


def _column(csv_path: Path, name: str) -> list[str]:
    with csv_path.open(encoding="utf-8") as handle:
        return [row[name] for row in csv.DictReader(handle) if row.get(name)]


def _upload(s3: MotoS3, csv_path: Path, prefix: str) -> str:
    """The CSV and its documents folder under ``s3://BUCKET/<prefix>/``; returns the CSV's URL."""
    filesystem = s3.filesystem()
    for path in csv_path.parent.rglob("*"):
        if path.is_file() and not path.name.endswith(".results.csv"):
            filesystem.pipe_file(
                f"{BUCKET}/{prefix}/{path.relative_to(csv_path.parent).as_posix()}", path.read_bytes()
            )
    return f"s3://{BUCKET}/{prefix}/{csv_path.name}"


def _bucket_results(s3: MotoS3, url: str) -> list[dict[str, str]]:
    """The lines of the results object at ``url``, read from the bucket (no parts may be left beside it)."""
    filesystem = s3.filesystem()
    key = url.removeprefix("s3://")
    assert not filesystem.exists(f"{key}.parts"), "parts left beside the final results object"
    return list(csv.DictReader(filesystem.cat_file(key).decode("utf-8").splitlines()))


async def _listed(sandbox: SandboxServer) -> tuple[dict[str, Counter[str]], set[str]]:
    """customer_reference counts of every address, document and requirement group, as a client lists them,
    and the ids of the groups."""
    async with AsyncTelnyx(api_key="e2e", base_url=sandbox.base_url) as client:
        addresses = [item.customer_reference async for item in client.user_addresses.list(page_size=250)]
        documents = [item.customer_reference async for item in client.documents.list(page_size=250)]
        groups = await client.requirement_groups.list()
    counts = {
        kind: Counter(reference for reference in references if reference)
        for kind, references in (
            ("user_addresses", addresses),
            ("documents", documents),
            ("requirement_groups", [group.customer_reference for group in groups]),
        )
    }
    return counts, {str(group.id) for group in groups}


async def test_two_bulk_runs_on_two_workers_share_the_account_limit(
    prefect: PrefectClient,
    stack: PrefectStack,
    sandbox: SandboxServer,
    postgres: PostgresCluster,
    s3: MotoS3,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    folder = tmp_path_factory.mktemp("shared-limit")
    csvs = [await _write_csv(sandbox, folder / name, ROWS, seed) for name, seed in (("a", 101), ("b", 102))]
    numbers = [set(_column(path, "phone_numbers")) for path in csvs]
    assert not numbers[0] & numbers[1], "the two CSVs must order different numbers"
    references = [_column(path, "customer_reference") for path in csvs]
    assert all(len(refs) == ROWS for refs in references) and not set(references[0]) & set(references[1])

    before_requests, before_refused = _requests(sandbox)
    started = time.monotonic()
    urls = [_upload(s3, path, f"batches/{name}") for path, name in zip(csvs, "ab", strict=True)]
    outs = [f"s3://{BUCKET}/results/{name}.csv" for name in "ab"]
    runs = await asyncio.gather(
        *(_run(prefect, DEPLOYMENT, csv_path=url, out=out) for url, out in zip(urls, outs, strict=True))
    )
    watch = await _watch(prefect, [run.id for run in runs], sandbox, stack, postgres)
    elapsed = time.monotonic() - started
    finals = [watch.runs[run.id] for run in runs]
    after_requests, after_refused = _requests(sandbox)

    for run in finals:
        assert run.state is not None and run.state.is_completed(), (run.state, _diagnostics(stack, postgres))
        assert run.run_count == 1, run.run_count  # each run executed once, by one worker
    bucket_results = [_bucket_results(s3, out) for out in outs]
    for lines in bucket_results:
        assert len(lines) == ROWS
        assert {line["status"] for line in lines} == {"completed"}, Counter(line["status"] for line in lines)

    # Each run's page leads to its results object in the bucket (readable from any machine).
    for run, out in zip(runs, outs, strict=True):
        artifacts = await prefect.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
        )
        links = [a.data for a in artifacts if a.key == "bulk-onboarding-results-file"]
        assert links and out.removeprefix("s3://") in str(links[0]) and s3.endpoint_url in str(links[0])

    # Which worker ran which run: with --limit 1 each, the two runs must be on different workers.
    submitted = {run.name: _submitted_by(stack, run) for run in finals}
    print(f"workers: {submitted}")
    assert all(len(workers) == 1 for workers in submitted.values()), submitted
    assert len({workers[0] for workers in submitted.values()}) == 2, submitted

    # Nothing created twice, neither as the sandbox counts it nor as a client lists it.
    assert sandbox.stats()["duplicates"] == {}
    listed, group_ids = await _listed(sandbox)
    for kind, counts in listed.items():
        assert {ref: n for ref, n in counts.items() if n > 1} == {}, kind
    row_groups = [line["requirement_group_id"] for lines in bucket_results for line in lines]
    assert len(set(row_groups)) == 2 * ROWS  # one group per row, none shared
    assert set(row_groups) <= group_ids

    # Almost no request refused for the account's limit.
    requests = after_requests - before_requests
    refused = after_refused - before_refused
    assert refused <= 0.01 * requests, f"{refused} of {requests} /v2 requests answered 429"

    # How much of the account's limit the two runs spent while both were running.
    both = [sample for sample in watch.samples if sample.running == 2]
    assert len(both) >= 2, "the two runs never ran at the same time"
    shared = _rate(both) / RATE_LIMIT
    busiest = _busiest(both, 5.0) / RATE_LIMIT
    print(
        f"shared limit: {shared:.2f} of {RATE_LIMIT:g} req/s used over {both[-1].at - both[0].at:.1f} s "
        f"with both runs Running (busiest 5 s: {busiest:.2f}); {requests} /v2 requests, {refused} answered "
        f"429 ({refused / max(requests, 1):.2%}); {2 * ROWS} rows in {elapsed:.1f} s"
    )
    assert shared <= 1.05  # the account's limit holds across both processes
    assert shared >= 0.5, "the two runs left most of the account's limit unused"

    _assert_workers_alive(stack, postgres)

    # The runs' states live in PostgreSQL (not in a SQLite file the server fell back to).
    connection = await asyncpg.connect(
        host="127.0.0.1", port=postgres.port, user="postgres", database=postgres.database
    )
    try:
        stored = await connection.fetchval(
            "SELECT count(*) FROM flow_run WHERE id = ANY($1::uuid[])", [run.id for run in runs]
        )
    finally:
        await connection.close()
    assert stored == 2


async def test_a_failed_run_retried_from_the_ui_completes(
    prefect: PrefectClient,
    stack: PrefectStack,
    sandbox: SandboxServer,
    postgres: PostgresCluster,
    s3: MotoS3,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    csv_path = await _write_csv(sandbox, tmp_path_factory.mktemp("retry"), 3, seed=103)
    url = _upload(s3, csv_path, "batches/retry")

    # Faults beyond the client's retry budget: the run fails.
    sandbox.configure(error_rate=1.0)
    try:
        run = await _run(prefect, DEPLOYMENT, csv_path=url)
        run = (await _watch(prefect, [run.id], sandbox, stack, postgres, timeout=120)).runs[run.id]
    finally:
        sandbox.configure(error_rate=0.0)
    assert run.state is not None and run.state.is_failed(), run.state

    # A worker started with --limit holds the run's slot until the run's process has exited, which is a
    # moment after the run is Failed; a Retry inside that moment makes that worker see the run scheduled
    # again while it still holds its slot, and anyio's CapacityLimiter raises "this borrower is already
    # holding one of this CapacityLimiter's tokens" out of the worker's poll loop: the worker process dies
    # (Prefect 3.8.8; workers without --limit have no limiter). An operator's click comes later than that.
    await _process_gone(run)
    await asyncio.sleep(1.0)  # the worker releases the slot once it has reaped the process

    # The UI's Retry button: the same flow run, rescheduled; it finishes without creating anything twice.
    await prefect.set_flow_run_state(
        run.id,
        State(type=StateType.SCHEDULED, name="AwaitingRetry", message="Retry from the UI"),
        force=True,
    )
    run = (await _watch(prefect, [run.id], sandbox, stack, postgres, timeout=120)).runs[run.id]
    assert run.state is not None and run.state.is_completed(), (run.state, _diagnostics(stack, postgres))
    assert run.run_count >= 2
    lines = _bucket_results(s3, f"s3://{BUCKET}/batches/retry/onboarding.results.csv")
    assert [line["status"] for line in lines] == ["completed"] * 3
    assert sandbox.stats()["duplicates"] == {}
    _assert_workers_alive(stack, postgres)


async def test_the_workers_s3_endpoint_serves_the_bucket(s3: MotoS3, stack: PrefectStack) -> None:
    """The S3 endpoint the workers are pointed at (``AWS_ENDPOINT_URL``...) answers, with the bucket."""
    assert {key: stack.worker_env[key] for key in s3.env()} == s3.env()
    filesystem = s3.filesystem()
    filesystem.pipe(f"{BUCKET}/probe/hello.csv", b"customer_reference\nfake-1\n")
    assert filesystem.cat(f"s3://{BUCKET}/probe/hello.csv") == b"customer_reference\nfake-1\n"
