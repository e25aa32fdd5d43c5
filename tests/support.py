"""Helpers the pipeline tests import (a test module cannot import ``conftest``: several exist)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telnyx_compliance.onboarding.request import OnboardingRequest

MakeRequest = Callable[..., OnboardingRequest]


def count_writes(stats: dict[str, Any]) -> int:
    """POST/PATCH/DELETE requests the sandbox answered, from ``sandbox.stats()``."""
    by_route: dict[str, dict[str, int]] = stats["requests"]["by_route"]
    return sum(
        sum(statuses.values())
        for route, statuses in by_route.items()
        if route.split(" ", 1)[0] in {"POST", "PATCH", "DELETE"}
    )
