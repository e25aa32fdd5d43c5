"""The baseline: the same calls as a plain sequential loop with the official ``telnyx`` SDK, as a user would
script it. Run as ``python -m bench._baseline CSV BASE_URL ROWS``; prints one JSON line.

It reuses our CSV reader and plan only to know which value goes to which requirement (that costs no
API call); every Telnyx call is the SDK's, one after the other, waiting for approval by polling.
"""

from __future__ import annotations

import base64
import json
import resource
import sys
import time
from pathlib import Path

import telnyx

from telnyx_compliance.onboarding.csv_io import iter_rows
from telnyx_compliance.onboarding.mapping import RequirementMapping
from telnyx_compliance.onboarding.plan import build_plan
from telnyx_compliance.onboarding.requirements import RequirementSpec


def main(csv_path: Path, base_url: str, limit: int) -> dict[str, float | int]:
    client = telnyx.Telnyx(api_key="bench-baseline", base_url=base_url, max_retries=6)
    mapping = RequirementMapping.load()
    calls = 0
    rows = 0
    started = time.perf_counter()
    for parsed in iter_rows(csv_path):
        if rows >= limit:
            break
        request = parsed.request
        if request is None:
            continue
        rows += 1
        reference = f"baseline-{request.customer_reference}"
        listing = client.regulatory_requirements.retrieve(
            filter={
                "country_code": request.country_code,
                "phone_number_type": request.phone_number_type,
                "action": request.action,
            }
        )
        calls += 1
        specs = [
            RequirementSpec.from_api(item.model_dump())
            for market in listing.data or []
            for item in market.regulatory_requirements or []
        ]
        plan = build_plan(request, specs, mapping)
        address_id = None
        if request.address is not None:
            address = client.user_addresses.create(
                **request.address.model_dump(exclude_none=True), customer_reference=f"{reference}-address"
            )
            calls += 1
            address_id = address.data.id if address.data else None
        values = []
        for item in plan.items:
            if item.requirement.field_type == "address":
                values.append({"requirement_id": item.requirement.id, "field_value": address_id or ""})
            elif item.requirement.field_type == "document" and item.document is not None:
                uploaded = client.documents.upload(
                    document={
                        "file": base64.b64encode(item.document.path.read_bytes()).decode(),
                        "filename": item.document.filename,
                        "customer_reference": f"{reference}-{item.key}",
                    }
                )
                calls += 1
                values.append({"requirement_id": item.requirement.id, "field_value": uploaded.data.id})  # type: ignore[union-attr]
            else:
                values.append({"requirement_id": item.requirement.id, "field_value": item.text or ""})
        group = client.requirement_groups.create(
            country_code=request.country_code,
            phone_number_type=request.phone_number_type,
            action=request.action,
            customer_reference=f"{reference}-group",
            regulatory_requirements=values,
        )
        calls += 1
        client.requirement_groups.submit_for_approval(group.id)  # type: ignore[arg-type]
        calls += 1
        while True:
            status = client.requirement_groups.retrieve(group.id).status  # type: ignore[arg-type]
            calls += 1
            if status != "pending-approval":
                break
            time.sleep(0.5)
        if request.phone_numbers:
            order = client.number_orders.create(
                phone_numbers=[{"phone_number": number} for number in request.phone_numbers],
                customer_reference=f"{reference}-order",
            )
            calls += 1
            for sub_order_id in (order.data.sub_number_orders_ids if order.data else None) or []:
                client.sub_number_orders.update_requirement_group(sub_order_id, requirement_group_id=group.id)  # type: ignore[arg-type]
                calls += 1
    return {
        "rows": rows,
        "calls": calls,
        "wall": time.perf_counter() - started,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]))), flush=True)
