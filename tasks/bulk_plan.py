"""What ``bulk_onboard(plan_only=True)`` shows in Prefect: the plan of a CSV (no write sent), as a table of
the rows (a verdict each) and a markdown summary of the totals, the calls the run would make and their time.

Cells are literal text (control characters escaped, markdown escaped), as in the bulk run's own artifacts.
"""

from __future__ import annotations

from prefect import task
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.cache_policies import NO_CACHE

from telnyx_compliance._text import escape_controls, escape_markdown
from telnyx_compliance.onboarding.planning import VERDICTS, BulkPlan

#: Rows shown in the plan's table (the JSON of ``compliance plan --json`` has them all).
TABLE_ROWS = 1000
TABLE_COLUMNS = ("row", "customer_reference", "verdict", "steps", "detail")


@task(name="publish-bulk-plan", cache_policy=NO_CACHE, persist_result=False)
async def publish_bulk_plan(plan: BulkPlan) -> None:
    """A table of the rows with their verdicts (first :data:`TABLE_ROWS`) and a markdown summary."""
    lines = plan.table()
    shown = [
        {column: escape_markdown(escape_controls(line[column])) for column in TABLE_COLUMNS}
        for line in lines[:TABLE_ROWS]
    ]
    more = f" (first {len(shown)} of {len(lines)})" if len(lines) > len(shown) else ""
    await acreate_table_artifact(
        table=shown or {column: [] for column in TABLE_COLUMNS},
        key="bulk-onboarding-plan",
        description=f"What a run of this CSV would do, row by row{more}; nothing was sent",
    )
    totals = "\n".join(f"| {verdict} | {plan.totals[verdict]} |" for verdict in VERDICTS)
    writes = "\n".join(f"| `{route}` | {count} |" for route, count in sorted(plan.writes.items()))
    markdown = "\n\n".join(
        [
            f"# Plan of {escape_markdown(escape_controls(plan.csv.rsplit('/', 1)[-1]))}",
            "| verdict | rows |\n|---|---|\n" + totals,
            "| write the run would send | count |\n|---|---|\n" + (writes or "| (none) | 0 |"),
            *(escape_markdown(line) for line in plan.summary_lines()),
        ]
    )
    await acreate_markdown_artifact(
        markdown=markdown, key="bulk-onboarding-plan-summary", description="Bulk onboarding plan"
    )
