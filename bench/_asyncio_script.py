"""What a user writes instead of this project: an asyncio script over the official ``telnyx`` SDK.

``python -m bench._asyncio_script CSV BASE_URL [CONCURRENCY]``; prints one JSON line.

It is the script the issue measured: the official ``AsyncTelnyx`` with its own retries (the SDK's default,
2), a semaphore of 48 rows at once, and per row the seed's order of calls: look up the market's
requirements, create the address, upload each document, create the requirement group, submit it, poll it
every second until decided, order the numbers, attach the group to each sub-number order. It reads the
same CSV with this project's reader and plan only to know which value goes to which requirement (no API
call); every request to Telnyx is the SDK's.
"""

from __future__ import annotations

import asyncio
import base64
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import telnyx

from telnyx_compliance.onboarding.csv_io import iter_rows
from telnyx_compliance.onboarding.mapping import RequirementMapping
from telnyx_compliance.onboarding.plan import build_plan
from telnyx_compliance.onboarding.request import OnboardingRequest
from telnyx_compliance.onboarding.requirements import RequirementSpec

POLL_SECONDS = 1.0


async def onboard_row(client: telnyx.AsyncTelnyx, request: OnboardingRequest, mapping: Any) -> None:
    reference = f"script-{request.customer_reference}"
    listing = await client.regulatory_requirements.retrieve(
        filter={
            "country_code": request.country_code,
            "phone_number_type": request.phone_number_type,
            "action": request.action,
        }
    )
    specs = [
        RequirementSpec.from_api(item.model_dump())
        for market in listing.data or []
        for item in market.regulatory_requirements or []
    ]
    plan = build_plan(request, specs, mapping)
    address_id = None
    if request.address is not None:
        address = await client.user_addresses.create(
            **request.address.model_dump(exclude_none=True), customer_reference=f"{reference}-address"
        )
        address_id = address.data.id if address.data else None
    values = []
    for item in plan.items:
        if item.requirement.field_type == "address":
            values.append({"requirement_id": item.requirement.id, "field_value": address_id or ""})
        elif item.requirement.field_type == "document" and item.document is not None:
            uploaded = await client.documents.upload(
                document={
                    "file": base64.b64encode(item.document.path.read_bytes()).decode(),
                    "filename": item.document.filename,
                    "customer_reference": f"{reference}-{item.key}",
                }
            )
            values.append({"requirement_id": item.requirement.id, "field_value": uploaded.data.id})  # type: ignore[union-attr]
        else:
            values.append({"requirement_id": item.requirement.id, "field_value": item.text or ""})
    group = await client.requirement_groups.create(
        country_code=request.country_code,
        phone_number_type=request.phone_number_type,  # type: ignore[arg-type]
        action=request.action,  # type: ignore[arg-type]
        customer_reference=f"{reference}-group",
        regulatory_requirements=values,
    )
    await client.requirement_groups.submit_for_approval(group.id)  # type: ignore[arg-type]
    # Polling is what the user's script does (the lint rule is about waiting for our own events).
    while (await client.requirement_groups.retrieve(group.id)).status == "pending-approval":  # type: ignore[arg-type]  # noqa: ASYNC110
        await asyncio.sleep(POLL_SECONDS)
    if request.phone_numbers:
        order = await client.number_orders.create(
            phone_numbers=[{"phone_number": number} for number in request.phone_numbers],
            customer_reference=f"{reference}-order",
        )
        for sub_order_id in (order.data.sub_number_orders_ids if order.data else None) or []:
            await client.sub_number_orders.update_requirement_group(
                sub_order_id, requirement_group_id=group.id
            )  # type: ignore[arg-type]


async def main(csv_path: Path, base_url: str, concurrency: int) -> dict[str, Any]:
    started = time.perf_counter()
    mapping = RequirementMapping.load()
    requests = [row.request for row in iter_rows(csv_path) if row.request is not None]
    semaphore = asyncio.Semaphore(concurrency)
    errors: dict[str, int] = {}

    async def bounded(request: OnboardingRequest) -> bool:
        async with semaphore:
            try:
                await onboard_row(client, request, mapping)
            except Exception as error:  # the script counts a row that raised as not completed
                errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1
                return False
            return True

    async with telnyx.AsyncTelnyx(api_key="bench-script", base_url=base_url) as client:
        outcomes = await asyncio.gather(*(bounded(request) for request in requests))
    return {
        "rows": len(requests),
        "completed": sum(outcomes),
        "errors": errors,
        "wall": time.perf_counter() - started,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


if __name__ == "__main__":
    concurrency = int(sys.argv[3]) if len(sys.argv) > 3 else 48
    print(json.dumps(asyncio.run(main(Path(sys.argv[1]), sys.argv[2], concurrency))), flush=True)
