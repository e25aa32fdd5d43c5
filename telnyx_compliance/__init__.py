"""Telnyx numbers-compliance: typed client, local sandbox and onboarding pipeline.

```python
from telnyx_compliance import AsyncTelnyx

async with AsyncTelnyx() as client:  # TELNYX_API_KEY, TELNYX_BASE_URL
    async for document in client.documents.list(filter={"customer_reference": {"eq": "tc-acme"}}):
        ...
```
"""

from . import models
from ._base_client import DEFAULT_BASE_URL, ClientStats, MissingAPIKeyError
from ._client import AsyncTelnyx
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ErrorObject,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    is_transient,
)
from ._pagination import AsyncPage, AsyncPaginator
from ._rate_limit import RateLimiter
from ._sync_client import Telnyx
from ._sync_pagination import Page, Paginator

__all__ = [
    "DEFAULT_BASE_URL",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncPage",
    "AsyncPaginator",
    "AsyncTelnyx",
    "AuthenticationError",
    "BadRequestError",
    "ClientStats",
    "ConflictError",
    "ErrorObject",
    "InternalServerError",
    "MissingAPIKeyError",
    "NotFoundError",
    "Page",
    "Paginator",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimiter",
    "Telnyx",
    "UnprocessableEntityError",
    "is_transient",
    "models",
]
