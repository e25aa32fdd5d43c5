"""Markdown an operator reads when an onboarding did not complete: each requirement, its value, the reason.

Documents are shown by filename; nothing here ever holds file bytes, download links or secrets.
"""

from __future__ import annotations

from telnyx_compliance._text import escape_markdown
from telnyx_compliance.onboarding.results import OnboardingResult


def _cell(text: str | None) -> str:
    """A value as literal text in a markdown table cell: a CSV value cannot add links, images or HTML."""
    return escape_markdown(text.strip()) if text else ""


def outcome_markdown(result: OnboardingResult) -> str:
    """A markdown report of one onboarding: a status line, ids, and a table of requirements."""
    title = {
        "declined": "declined",
        "failed": "failed",
        "pending_approval": "pending approval",
        "completed": "completed",
    }[result.status]
    group_status = result.requirement_group_status or "not created"
    lines = [
        f"# Onboarding {_cell(result.customer_reference)} {title}",
        "",
        f"- Market: {_cell(result.country_code)} {_cell(result.phone_number_type)} {_cell(result.action)}",
        f"- Requirement group: {_cell(result.requirement_group_id) or '-'} ({_cell(group_status)})",
    ]
    if result.address_id:  # ids come from the API's answers: text, like the rest
        lines.append(f"- Address: {_cell(result.address_id)}")
    if result.error:
        lines.append(f"- Error: {_cell(result.error)}")
    if result.requirements:
        lines += [
            "",
            "| Requirement | Kind | Value | Status | Reason |",
            "| --- | --- | --- | --- | --- |",
        ]
        for outcome in result.requirements:
            lines.append(
                f"| {_cell(outcome.name)} | {_cell(outcome.kind)} | {_cell(outcome.value)} | "
                f"{_cell(outcome.status) or '-'} | {_cell(outcome.reason) or '-'} |"
            )
    return "\n".join(lines) + "\n"
