"""Fixtures of the ops flows' tests: a sandbox whose reviews wait for its clock, and pending onboardings."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from configs.settings import PipelineSettings
from telnyx_compliance.onboarding.results import OnboardingResult
from telnyx_compliance.onboarding.runner import onboard
from telnyx_compliance.sandbox import SandboxConfig, SandboxServer

from .support import REVIEW_SECONDS, PendingFactory, client_for, make_requests


@pytest.fixture
def slow_sandbox() -> Iterator[SandboxServer]:
    """A fresh sandbox per test; groups are decided only when the test advances its clock."""
    with SandboxServer(SandboxConfig(seed=7, approve_after=REVIEW_SECONDS)) as server:
        yield server


@pytest.fixture
def pending_onboardings(slow_sandbox: SandboxServer, tmp_path: Path) -> PendingFactory:
    """``await pending_onboardings(n, country="DE", seed=0, deny=False)``: onboardings handed over with their
    group pending; with ``deny`` their documents will be denied by review. Use a distinct seed per call."""

    async def make(
        n: int = 1, *, country: str = "DE", seed: int = 0, deny: bool = False
    ) -> list[OnboardingResult]:
        settings = PipelineSettings(approval_poll_timeout=0)
        folder = tmp_path / f"batch-{country}-{seed}"
        folder.mkdir()
        async with client_for(slow_sandbox) as client:
            requests = await make_requests(client, folder, n, country=country, seed=seed)
            if deny:  # the sandbox's reviewer denies documents carrying its marker
                for document in (folder / "documents").iterdir():
                    document.write_bytes(document.read_bytes() + b"\n% SANDBOX-DENY\n")
            results = await asyncio.gather(*(onboard(client, r, settings=settings) for r in requests))
        for result in results:
            assert result.status == "pending_approval", result.error
        return list(results)

    return make
