"""Finding 3: documents are read only from inside the documents root, whoever names them.

By default the root is the folder of the CSV or request file; ``COMPLIANCE_DOCUMENTS_BASE_DIR`` sets it.
The path is checked as written (no ``..`` out, no UNC or backslash path, no NUL, no URL) and as resolved (no
symbolic link out), and the refusal names the document before anything is written to Telnyx.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from configs.settings import PipelineSettings
from telnyx_compliance.cli import app
from telnyx_compliance.onboarding.confine import ConfinementError, confine
from telnyx_compliance.onboarding.fake import minimal_pdf
from telnyx_compliance.onboarding.plan import PlanError
from telnyx_compliance.onboarding.request import OnboardingRequest
from telnyx_compliance.onboarding.runner import plan_request
from telnyx_compliance.onboarding.template import fetch_requirements
from telnyx_compliance.sandbox import SandboxServer
from tests.support import count_writes


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """``root/inside.pdf``, ``outside/secret.pdf`` and a link ``root/link.pdf`` -> the secret."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "inside.pdf").write_bytes(minimal_pdf("inside"))
    (outside / "secret.pdf").write_bytes(minimal_pdf("secret"))
    (root / "link.pdf").symlink_to(outside / "secret.pdf")
    (root / "dir-link").symlink_to(outside, target_is_directory=True)
    return root, outside


def test_paths_inside_the_root_resolve(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    assert confine(root, "inside.pdf") == (root / "inside.pdf").resolve()
    assert confine(root, "./sub/../inside.pdf") == (root / "inside.pdf").resolve()
    assert confine(root, str(root / "inside.pdf")) == (root / "inside.pdf").resolve()


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("../outside/secret.pdf", "resolves outside the documents folder"),
        ("/etc/passwd", "resolves outside the documents folder"),
        ("link.pdf", "symbolic link"),
        ("dir-link/secret.pdf", "symbolic link"),
        ("\\\\server\\share\\secret.pdf", "UNC and backslash paths are refused"),
        ("//server/share/secret.pdf", "UNC and backslash paths are refused"),
        ("..\\outside\\secret.pdf", "UNC and backslash paths are refused"),
        ("inside.pdf\x00.png", "NUL character"),
        ("https://files.example/doc.pdf", "got a URL"),
        ("file:///etc/passwd", "got a URL"),
    ],
)
def test_everything_else_is_refused_with_the_reason(
    layout: tuple[Path, Path], written: str, reason: str
) -> None:
    root, _ = layout
    with pytest.raises(ConfinementError, match=reason):
        confine(root, written)


def _request(documents: dict[str, str]) -> OnboardingRequest:
    return OnboardingRequest.model_validate(
        {
            "customer_reference": "confined",
            "country_code": "DE",
            "address": {
                "first_name": "Erika",
                "last_name": "Mustermann",
                "business_name": "Solo GmbH",
                "street_address": "Friedrichstrasse 123",
                "locality": "Berlin",
                "postal_code": "10117",
                "country_code": "DE",
            },
            "documents": documents,
            "values": {
                "business_registration_number": "HRB 123456",
                "tax_id": "DE123456789",
                "contact_name": "Erika Mustermann",
            },
        }
    )


async def test_a_request_naming_a_file_outside_the_root_is_refused_in_the_plan(
    layout: tuple[Path, Path], sandbox: SandboxServer
) -> None:
    from telnyx_compliance import AsyncTelnyx

    root, outside = layout
    async with AsyncTelnyx(api_key="k", base_url=sandbox.base_url) as client:
        requirements = await fetch_requirements(client, "DE", "local", "ordering")
    for written in (str(outside / "secret.pdf"), "../outside/secret.pdf", "link.pdf"):
        with pytest.raises(PlanError) as caught:
            plan_request(_request({"proof_of_address": written}), requirements, documents_root=root)
        assert "Proof of Address" in str(caught.value) and "refused" in str(caught.value)
    plan = plan_request(_request({"proof_of_address": "inside.pdf"}), requirements, documents_root=root)
    assert [item.document.path for item in plan.items if item.document] == [(root / "inside.pdf").resolve()]
    # COMPLIANCE_DOCUMENTS_BASE_DIR moves the root; the default root is the working folder.
    settings = PipelineSettings(documents_base_dir=str(outside))
    assert plan_request(_request({"proof_of_address": "secret.pdf"}), requirements, settings=settings).items
    os.chdir(root)
    with pytest.raises(PlanError, match="refused"):
        plan_request(_request({"proof_of_address": str(outside / "secret.pdf")}), requirements)


def test_onboard_one_reads_documents_only_next_to_the_request_file(
    layout: tuple[Path, Path], sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, outside = layout
    monkeypatch.setenv("TELNYX_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("TELNYX_API_KEY", "k")
    before = count_writes(sandbox.stats())
    request_file = root / "request.json"
    request_file.write_text(
        _request({"proof_of_address": str(outside / "secret.pdf")}).model_dump_json(), encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["onboard-one", str(request_file)])
    assert result.exit_code == 1
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "failed"
    assert (
        "Proof of Address" in outcome["error"] and "resolves outside the documents folder" in outcome["error"]
    )
    assert count_writes(sandbox.stats()) == before  # refused before any write


def test_onboard_one_refuses_a_hidden_request_file_without_quoting_it(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("TELNYX_API_KEY=KEYsecret0123456789\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["onboard-one", str(env_file)])
    assert result.exit_code != 0
    assert "hidden files" in result.output and "KEYsecret" not in result.output
    junk = tmp_path / "request.json"
    junk.write_text('{"customer_reference": "KEYsecret0123456789/../x", "country_code": 7}', encoding="utf-8")
    result = CliRunner().invoke(app, ["onboard-one", str(junk)])
    assert result.exit_code != 0 and "not a valid onboarding request" in result.output
    assert "KEYsecret0123456789/../x" not in result.output
