"""Base class of the async resources."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from ..._client import AsyncTelnyx

__all__ = ["AsyncAPIResource", "AsyncFindExisting"]

R = TypeVar("R")

#: Looks up the resource a create may already have made; returns it (shaped like the create's answer) or None.
AsyncFindExisting = Callable[[], Awaitable[R | None]]


class AsyncAPIResource:
    def __init__(self, client: AsyncTelnyx) -> None:
        self._client = client
