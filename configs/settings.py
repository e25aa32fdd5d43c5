"""The application's configuration: the settings the flows, tasks and command line run with.

The types live in the library (:mod:`telnyx_compliance.settings`), which owns its configuration and never
imports this package; this module is where the application (Prefect tasks and flows, the ``compliance``
command) takes them from, so there is one place to extend them for the application alone.
"""

from __future__ import annotations

from telnyx_compliance.settings import (
    DEFAULT_BASE_URL,
    SANDBOX_API_KEY,
    MissingAPIKeyError,
    PipelineSettings,
    TelnyxSettings,
    is_local_url,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "SANDBOX_API_KEY",
    "MissingAPIKeyError",
    "PipelineSettings",
    "TelnyxSettings",
    "is_local_url",
]
