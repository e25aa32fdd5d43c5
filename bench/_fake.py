"""Write a fake onboarding CSV for benchmarks.

``python -m bench._fake BASE_URL FOLDER ROWS SEED NUMBERS [MARKETS]``. Rows cycle through ``MARKETS``
(countries, comma separated; default :data:`MARKETS`);
each market's requirements come from the sandbox, so
the values satisfy its acceptance criteria. Prints ``{"csv": PATH}``.
"""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from pathlib import Path

from telnyx_compliance import AsyncTelnyx
from telnyx_compliance.onboarding.mapping import RequirementMapping
from telnyx_compliance.onboarding.template import fake_rows, fetch_requirements

MARKETS = (("DE", "local"), ("GB", "local"), ("FR", "local"))


async def _requirements(base_url: str, markets: tuple[tuple[str, str], ...]) -> dict[tuple[str, str], list]:  # type: ignore[type-arg]
    async with AsyncTelnyx(api_key="bench", base_url=base_url) as client:
        return {
            market: await fetch_requirements(client, market[0], market[1], "ordering") for market in markets
        }


def main(
    base_url: str,
    folder: Path,
    rows: int,
    seed: int,
    with_numbers: bool,
    markets: tuple[tuple[str, str], ...] = MARKETS,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    mapping = RequirementMapping.load()
    requirements = asyncio.run(_requirements(base_url, markets))
    all_rows: list[dict[str, str]] = []
    share = -(-rows // len(markets))
    for index, (market, specs) in enumerate(requirements.items()):
        count = min(share, rows - len(all_rows))
        if count <= 0:
            break
        market_rows = fake_rows(
            specs,
            mapping,
            count,
            folder,
            seed * 100 + index,
            country=market[0],
            phone_number_type=market[1],
            with_phone_numbers=with_numbers,
        )
        all_rows.extend(market_rows)
    head = ["customer_reference", "country_code", "phone_number_type", "action"]
    columns = head + sorted({column for row in all_rows for column in row} - set(head))
    path = folder / "onboarding.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(all_rows)
    return path


if __name__ == "__main__":
    chosen = tuple((country, "local") for country in sys.argv[6].split(",")) if len(sys.argv) > 6 else MARKETS
    csv_path = main(
        sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1", chosen
    )
    print(json.dumps({"csv": str(csv_path)}), flush=True)
