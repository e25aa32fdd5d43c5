"""What the current run's parameters may name (the trust model: ``docs/safety.md``).

A deployment's run (started from the UI, an API call, a schedule or an automation) is confined: whoever can
start it chooses its parameters and nothing more, so its paths stay in the data root
(``COMPLIANCE_INPUT_ROOT``, default ``<project>/data``), its store URLs under ``COMPLIANCE_STORAGE_ROOTS``,
and it writes nothing into the project's code or settings. A run of the command line, started by the user
at their own prompt, is not confined to the roots. The rules themselves are the library's
(:func:`~telnyx_compliance.onboarding.confine.confine_parameter`); this module only tells which run this is.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tasks._client import pipeline_settings
from telnyx_compliance.locations import Location
from telnyx_compliance.onboarding.confine import RunScope, confine_parameter
from telnyx_compliance.onboarding.request import OnboardingRequest

#: The checkout the flows run from (a deployment's pull step changes into it, COMPLIANCE_PROJECT_DIR).
PROJECT = Path(__file__).resolve().parents[1]


def in_deployment() -> bool:
    """This flow run belongs to a deployment (the UI, the API, a schedule or an automation started it)."""
    from prefect.runtime import deployment

    return deployment.id is not None


def run_scope(options: Mapping[str, Any] | None = None) -> RunScope:
    """The scope of this run's parameters; ``options``: store credentials for reading an existing object."""
    if not in_deployment():
        return RunScope.for_command_line(options)
    pipeline = pipeline_settings()
    return RunScope.for_deployment(
        PROJECT,
        input_root=pipeline.input_root,
        storage_roots=tuple(pipeline.storage_roots),
        options=options,
    )


def documents_root(scope: RunScope) -> Path | None:
    """Where the documents a request names by path must lie: ``COMPLIANCE_DOCUMENTS_BASE_DIR`` when set,
    else a deployment's data root; None for the command line (its caller names the request file's folder)."""
    base = pipeline_settings().documents_base_dir
    if base and not Location.parse(base).has_scheme:
        return Path(base)
    return scope.data_root if scope.confined else None


def confine_request(request: OnboardingRequest, scope: RunScope) -> OnboardingRequest:
    """``request`` with each document it names by path or URL checked against a confined ``scope``
    (resolved paths); raises :class:`~telnyx_compliance.onboarding.confine.ConfinementError` naming the
    first refused. The command line's requests are confined to their file's folder by the plan."""
    if not scope.confined:
        return request
    root = documents_root(scope)
    roots = (root,) if root else ()
    document_scope = RunScope(True, roots, scope.storage_roots, scope.protected, scope.options)
    documents: dict[str, Path | str] = {}
    for key, given in request.documents.items():
        documents[key] = confine_parameter(str(given), "document", document_scope, name=f"documents.{key}")
    return request.model_copy(update={"documents": documents}) if documents else request
