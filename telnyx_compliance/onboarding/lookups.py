"""What the onboarding reads from Telnyx before it writes: the requirements of a market and what Telnyx
says about each phone number, kept in a :class:`RequirementsCache`.

Nothing here writes to Telnyx. The bulk runner fills one cache for the whole run through
:func:`prefetch_requirements` and :func:`prefetch_numbers`; a single onboarding looks up as it goes. What
exists already under a ``customer_reference`` is the other question, answered by :mod:`.index`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from telnyx_compliance._client import AsyncTelnyx
from telnyx_compliance._exceptions import APIError
from telnyx_compliance.onboarding.errors import OnboardingError, UnknownMarketError
from telnyx_compliance.onboarding.plan import PlanProblem
from telnyx_compliance.onboarding.request import OnboardingKey, OnboardingRequest
from telnyx_compliance.onboarding.requirements import RequirementSpec

__all__ = [
    "MarketKey",
    "NumberRequirements",
    "RequirementsCache",
    "check_phone_numbers",
    "lookup_all_requirements",
    "lookup_requirements",
    "lookup_requirements_for_numbers",
    "merge_requirements",
    "prefetch_numbers",
    "prefetch_requirements",
]

MarketKey = tuple[str, str, str]  # country code, phone number type, action
#: Phone numbers per ``/phone_numbers_regulatory_requirements`` call: it has no page size parameter and
#: answers one page of 20 (numbers past the 20th of one call would come back unknown).
_NUMBERS_PER_LOOKUP = 20


# -- requirements ----------------------------------------------------------------------------------


async def lookup_requirements(client: AsyncTelnyx, key: OnboardingKey) -> list[RequirementSpec]:
    """The market's requirements (``/regulatory_requirements`` by country, number type and action)."""
    response = await client.regulatory_requirements.retrieve(
        filter={
            "country_code": key.country_code,
            "phone_number_type": key.phone_number_type,
            "action": key.action,
        }
    )
    for market in response.data or []:
        same_market = (
            (market.country_code or key.country_code).upper() == key.country_code
            and (market.phone_number_type or key.phone_number_type) == key.phone_number_type
            and (market.action or key.action) == key.action
        )
        if same_market:
            return [_requirement_spec(item) for item in market.regulatory_requirements or []]
    raise UnknownMarketError(
        f"Telnyx lists no requirements for {key.country_code} {key.phone_number_type} numbers ({key.action})"
    )


def _requirement_spec(item: Any) -> RequirementSpec:
    """A requirement from an API answer; one this pipeline cannot read (a new ``field_type``, no id) is an
    :class:`OnboardingError` naming it, not a crash."""
    try:
        return RequirementSpec.from_api(item)
    except ValidationError as error:
        raw = item.model_dump() if isinstance(item, BaseModel) else dict(item)
        label = raw.get("name") or raw.get("label") or raw.get("id") or raw.get("requirement_id") or "?"
        reasons = "; ".join(
            f"{'.'.join(map(str, problem['loc']))}: {str(problem['msg']).removeprefix('Value error, ')}"
            for problem in error.errors(include_url=False, include_input=False)
        )
        raise OnboardingError(
            f"Telnyx lists a requirement this pipeline cannot fill ({str(label)[:80]!r}: {reasons})"
        ) from None


class NumberRequirements(BaseModel):
    """What Telnyx says about one phone number: its country, type and requirements."""

    model_config = ConfigDict(frozen=True)

    phone_number: str
    country_code: str | None = None
    phone_number_type: str | None = None
    requirements: tuple[RequirementSpec, ...] = ()


@dataclass
class RequirementsCache:
    """Requirements already looked up: per market, and per phone number (a bulk run shares one)."""

    requirements: dict[MarketKey, list[RequirementSpec]] = field(default_factory=dict)
    #: What Telnyx says about each phone number (:func:`prefetch_numbers`, batched for a bulk run).
    numbers: dict[str, NumberRequirements] = field(default_factory=dict)


async def lookup_requirements_for_numbers(
    client: AsyncTelnyx, phone_numbers: Sequence[str]
) -> list[NumberRequirements]:
    """Requirements per phone number (``/phone_numbers_regulatory_requirements``), one call per
    :data:`_NUMBERS_PER_LOOKUP` numbers (the endpoint answers one page of that default size)."""
    found: list[NumberRequirements] = []
    for start in range(0, len(phone_numbers), _NUMBERS_PER_LOOKUP):
        chunk = phone_numbers[start : start + _NUMBERS_PER_LOOKUP]
        response = await client.phone_numbers_regulatory_requirements.retrieve(
            filter={"phone_number": ",".join(chunk)}
        )
        found.extend(_number_requirements(entry) for entry in response.data or [])
    return found


def _number_requirements(entry: Any) -> NumberRequirements:
    country = next(
        (r.region_name for r in entry.region_information or [] if r.region_type == "country_code"), None
    )
    specs = tuple(
        _requirement_spec(
            {
                "id": item.id,
                "name": item.label or "",
                "field_type": item.field_type,
                "description": item.description,
                "example": item.example,
            }
        )
        for item in entry.regulatory_requirements or []
        if item.id and item.field_type
    )
    return NumberRequirements(
        phone_number=entry.phone_number or "",
        country_code=country,
        phone_number_type=entry.phone_number_type,
        requirements=specs,
    )


def check_phone_numbers(
    key: OnboardingKey, requested: Sequence[str], numbers: Sequence[NumberRequirements]
) -> list[PlanProblem]:
    """A problem per requested number that is not of the onboarding's country and type."""
    by_number = {entry.phone_number: entry for entry in numbers}
    problems = []
    for phone_number in requested:
        entry = by_number.get(phone_number)
        got = None if entry is None else f"{phone_number} ({entry.phone_number_type}, {entry.country_code})"
        if (
            entry is None
            or (entry.country_code or key.country_code).upper() != key.country_code
            or (entry.phone_number_type or key.phone_number_type) != key.phone_number_type
        ):
            problems.append(
                PlanProblem(
                    requirement_id="phone_numbers",
                    requirement_name="Phone number",
                    key="phone_numbers",
                    kind="textual",
                    expected=f"a {key.phone_number_type} number in {key.country_code}",
                    got=got or f"{phone_number} (unknown to Telnyx)",
                    source="phone_numbers",
                )
            )
    return problems


def merge_requirements(
    market: Sequence[RequirementSpec], numbers: Iterable[NumberRequirements]
) -> list[RequirementSpec]:
    """The market's requirements plus any a specific number adds (by id, market definitions win)."""
    merged = {spec.id: spec for spec in market}
    for entry in numbers:
        for spec in entry.requirements:
            merged.setdefault(spec.id, spec)
    return list(merged.values())


async def lookup_all_requirements(
    client: AsyncTelnyx, request: OnboardingRequest, *, cache: RequirementsCache | None = None
) -> tuple[list[RequirementSpec], list[PlanProblem]]:
    """The market's requirements (kept in ``cache`` per market), plus those of the requested numbers and a
    problem per number that does not belong to the market (one extra call, only when ordering numbers)."""
    cache = cache or RequirementsCache()
    key = request.key
    market = (key.country_code, key.phone_number_type, key.action)
    if market not in cache.requirements:
        cache.requirements[market] = await lookup_requirements(client, key)
    requirements = list(cache.requirements[market])
    if not request.phone_numbers:
        return requirements, []
    if not all(number in cache.numbers for number in request.phone_numbers):
        found = await lookup_requirements_for_numbers(client, request.phone_numbers)
        cache.numbers.update((entry.phone_number, entry) for entry in found if entry.phone_number)
        numbers = found
    else:
        numbers = [cache.numbers[number] for number in request.phone_numbers]
    problems = check_phone_numbers(request.key, request.phone_numbers, numbers)
    return merge_requirements(requirements, numbers), problems


async def prefetch_requirements(
    client: AsyncTelnyx, cache: RequirementsCache, keys: Iterable[OnboardingKey]
) -> None:
    """Keep in ``cache`` the requirements of every market of ``keys`` (one lookup per market), so that
    concurrent onboardings of one market do not each look them up. A market Telnyx does not list (or a
    failed lookup) stays uncached: each onboarding of it then reports the error itself."""
    markets = {(key.country_code, key.phone_number_type, key.action): key for key in keys}

    async def lookup(market: tuple[str, str, str], key: OnboardingKey) -> None:
        with contextlib.suppress(OnboardingError, APIError):
            cache.requirements[market] = await lookup_requirements(client, key)

    await asyncio.gather(
        *(lookup(market, key) for market, key in markets.items() if market not in cache.requirements)
    )


async def prefetch_numbers(
    client: AsyncTelnyx, cache: RequirementsCache, phone_numbers: Iterable[str]
) -> None:
    """Keep in ``cache`` what Telnyx says about each phone number, :data:`_NUMBERS_PER_LOOKUP` per call
    (the calls run concurrently; the client's rate limiter paces them).

    A number missing from an answer stays uncached, so its onboarding looks it up again and reports it.
    """
    wanted = [number for number in dict.fromkeys(phone_numbers) if number not in cache.numbers]

    async def lookup(chunk: Sequence[str]) -> None:
        with contextlib.suppress(APIError):
            for entry in await lookup_requirements_for_numbers(client, chunk):
                if entry.phone_number in chunk:
                    cache.numbers[entry.phone_number] = entry

    await asyncio.gather(
        *(
            lookup(wanted[start : start + _NUMBERS_PER_LOOKUP])
            for start in range(0, len(wanted), _NUMBERS_PER_LOOKUP)
        )
    )
