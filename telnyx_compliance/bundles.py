"""Bundle hygiene: which user bundles are unused, which are old enough to deactivate, and deactivating them.

Deactivation is a dry run unless asked for, and every bundle is re-read right before it is deactivated: a
bundle that got a resource since the survey, or that another run deactivated meanwhile, is left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from telnyx_compliance._client import AsyncTelnyx
from telnyx_compliance._exceptions import NotFoundError, UnprocessableEntityError
from telnyx_compliance._text import escape_markdown
from telnyx_compliance.models.bundle_pricing import UserBundle

__all__ = [
    "BundleLine",
    "BundleSurvey",
    "Deactivation",
    "bundle_report_markdown",
    "deactivate_bundles",
    "survey_bundles",
]

_PAGE_SIZE = 250
DeactivationOutcome = Literal["deactivated", "would_deactivate", "in_use", "already_inactive", "not_found"]


class BundleLine(BaseModel):
    """One user bundle as the report shows it."""

    model_config = ConfigDict(frozen=True)

    id: str
    billing_bundle: str
    country: str | None = None
    active: bool
    resources: int
    created_at: str | None = None
    age_days: int | None = None
    unused: bool


class BundleSurvey(BaseModel):
    """Every user bundle, the unused ones, and those old enough to deactivate."""

    model_config = ConfigDict(frozen=True)

    today: date
    older_than_days: int
    bundles: tuple[BundleLine, ...]

    @property
    def unused(self) -> tuple[BundleLine, ...]:
        return tuple(b for b in self.bundles if b.unused)

    @property
    def eligible(self) -> tuple[BundleLine, ...]:
        """Unused, active and at least ``older_than_days`` old (bundles of unknown age are kept)."""
        return tuple(
            b
            for b in self.unused
            if b.active and b.age_days is not None and b.age_days >= self.older_than_days
        )


class Deactivation(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    outcome: DeactivationOutcome


def _created(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None


def _line(bundle: UserBundle, unused_ids: set[str], today: date) -> BundleLine:
    created = _created(bundle.created_at)
    summary = bundle.billing_bundle
    name = (summary.name or summary.id or "?") if summary else "?"
    country = (bundle.model_extra or {}).get("country_iso")
    return BundleLine(
        id=bundle.id or "",
        billing_bundle=name,
        country=str(country) if country else None,
        active=bool(bundle.active),
        resources=len(bundle.resources or []),
        created_at=bundle.created_at,
        age_days=(today - created).days if created else None,
        unused=(bundle.id or "") in unused_ids,
    )


async def survey_bundles(
    client: AsyncTelnyx, *, older_than_days: int, today: date | None = None
) -> BundleSurvey:
    """List every user bundle and the unused ones (``/user_bundles/unused``)."""
    today = today or datetime.now(UTC).date()
    unused = await client.bundle_pricing.user_bundles.list_unused()
    unused_ids = {i for group in unused.data or [] for i in group.user_bundle_ids or []}
    lines = [
        _line(bundle, unused_ids, today)
        async for bundle in client.bundle_pricing.user_bundles.list(page_size=_PAGE_SIZE)
        if bundle.id
    ]
    return BundleSurvey(today=today, older_than_days=older_than_days, bundles=tuple(lines))


async def deactivate_bundles(
    client: AsyncTelnyx, bundle_ids: Sequence[str], *, apply: bool
) -> list[Deactivation]:
    """Deactivate each bundle still active and unused when re-read; with ``apply=False`` only say so."""
    outcomes: list[Deactivation] = []
    for bundle_id in bundle_ids:
        try:
            current = (await client.bundle_pricing.user_bundles.retrieve(bundle_id)).data
        except NotFoundError:
            outcomes.append(Deactivation(id=bundle_id, outcome="not_found"))
            continue
        if current is None or not current.active:
            outcomes.append(Deactivation(id=bundle_id, outcome="already_inactive"))
            continue
        if current.resources:
            outcomes.append(Deactivation(id=bundle_id, outcome="in_use"))
            continue
        if not apply:
            outcomes.append(Deactivation(id=bundle_id, outcome="would_deactivate"))
            continue
        try:
            await client.bundle_pricing.user_bundles.deactivate(bundle_id)
        except UnprocessableEntityError:  # deactivated by a concurrent run since we read it
            outcomes.append(Deactivation(id=bundle_id, outcome="already_inactive"))
            continue
        outcomes.append(Deactivation(id=bundle_id, outcome="deactivated"))
    return outcomes


def bundle_report_markdown(
    survey: BundleSurvey, deactivations: Sequence[Deactivation], *, apply: bool
) -> str:
    """The survey and what was (or would be) deactivated."""
    active = [b for b in survey.bundles if b.active]
    lines = [
        "# User bundle hygiene",
        "",
        f"{len(survey.bundles)} user bundle(s), {len(active)} active, {len(survey.unused)} unused; "
        f"{len(survey.eligible)} unused for at least {survey.older_than_days} day(s).",
        "",
        "**Applied**: deactivations were made."
        if apply
        else "**Dry run**: nothing was deactivated; run with `apply=True` to deactivate.",
        "",
    ]
    outcome_of = {d.id: d.outcome for d in deactivations}
    if survey.unused:
        lines += [
            "## Unused bundles",
            "",
            "| Bundle | Billing bundle | Created | Age (days) | Action |",
            "|---|---|---|---|---|",
        ]
        for bundle in survey.unused:
            action = outcome_of.get(bundle.id, "kept (too recent)" if bundle.active else "inactive")
            age = "?" if bundle.age_days is None else str(bundle.age_days)
            # The ids and dates come from the API: quoted as text; the age and the action are ours.
            data = (bundle.id, bundle.billing_bundle, bundle.created_at or "?")
            lines.append(
                "| " + " | ".join(escape_markdown(str(cell)) for cell in data) + f" | {age} | {action} |"
            )
        lines.append("")
    return "\n".join(lines)
