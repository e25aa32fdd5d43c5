"""Run names that carry the customer reference, so the Prefect UI reads per customer."""

from __future__ import annotations

from typing import Any


def customer_of(parameters: dict[str, Any]) -> str:
    """The customer reference found in a run's parameters (a request, a plan, a result, an onboarding in
    progress, or a dict of one)."""
    for name in ("request", "plan", "result", "progress"):
        value = parameters.get(name)
        if value is None:
            continue
        if name == "progress":
            value = value.get("plan") if isinstance(value, dict) else getattr(value, "plan", None)
            if value is None:
                continue
        if isinstance(value, dict):
            found = value.get("customer_reference") or (value.get("key") or {}).get("customer_reference")
        else:
            found = getattr(value, "customer_reference", None) or getattr(
                getattr(value, "key", None), "customer_reference", None
            )
        if found:
            return str(found)
    return "unknown"


def run_name(action: str) -> Any:
    """A ``task_run_name`` callable: ``<action>-<customer reference>``."""

    def name(parameters: dict[str, Any]) -> str:
        return f"{action}-{customer_of(parameters)}"

    name.__name__ = f"{action.replace('-', '_')}_run_name"
    return name
