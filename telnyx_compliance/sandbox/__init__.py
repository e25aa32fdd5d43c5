"""A stateful local Telnyx numbers-compliance API (FastAPI), faithful to the shared OpenAPI contract.

``SandboxServer(SandboxConfig(seed=1)).base_url`` is what a Telnyx client takes; sandbox-only
routes live under ``/_sandbox`` (stats, config, verification codes, clock, reset).
See ``docs/sandbox.md``.
"""

from .app import create_app
from .config import SandboxConfig
from .server import SandboxServer, serve

__all__ = ["SandboxConfig", "SandboxServer", "create_app", "serve"]
