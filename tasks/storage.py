"""Credentials for storage URLs kept in Prefect: a Secret block holding fsspec's storage options as JSON.

Workers usually take store credentials from the environment (``AWS_*``, ``GOOGLE_APPLICATION_CREDENTIALS``,
``AZURE_STORAGE_*``). Where the credentials are kept in Prefect instead, create a ``Secret`` block whose
value is a JSON object of fsspec options (for S3: ``{"key": ..., "secret": ..., "endpoint_url": ...}``) and
name it in the flow's ``storage_credentials`` parameter. The value is never logged or returned, and an error
about the options (a misspelt key, a wrong value) names the block, not what it holds.
"""

from __future__ import annotations

import json
from typing import Any

from telnyx_compliance.storage import NamedOptions


class StorageCredentialsError(ValueError):
    """The named block is missing or does not hold a JSON object (the message never quotes its value)."""


async def storage_options(block_name: str | None) -> dict[str, Any] | None:
    """The options in the Secret block ``block_name``; None when no block is named. They know the block's
    name: a store that refuses them is reported as refusing "the storage options in Secret block '…'"."""
    if not block_name:
        return None
    from prefect.blocks.system import Secret

    try:
        block: Secret[Any] = await Secret.aload(block_name)
    except ValueError:
        raise StorageCredentialsError(f"no Secret block named {block_name!r}") from None
    value: Any = block.get()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            value = None
    if not isinstance(value, dict):
        raise StorageCredentialsError(
            f"Secret block {block_name!r} must hold a JSON object of storage options (its value is not shown)"
        )
    return NamedOptions(value, f"Secret block {block_name!r}")
