"""Base class of the async resources."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ..._base_client import first_match

if TYPE_CHECKING:
    from ..._client import AsyncTelnyx

__all__ = ["AsyncAPIResource", "AsyncFindExisting", "find_by_reference"]

R = TypeVar("R")
M = TypeVar("M")

#: Looks up the resource a create may already have made; returns it (shaped like the create's answer) or None.
AsyncFindExisting = Callable[[], Awaitable[R | None]]


class AsyncAPIResource:
    def __init__(self, client: AsyncTelnyx) -> None:
        self._client = client


def find_by_reference(
    customer_reference: str,
    listed: Callable[[], Awaitable[Any]],
    shape: Callable[[M], Awaitable[R | None]],
) -> AsyncFindExisting[R]:
    """The ``find_existing`` of a create carrying ``customer_reference`` (the one definition of that lookup):
    ``listed()`` lists the resources filtered on the reference (a page, or a list); the first whose
    reference is exactly this one (the API's filters ignore case) is returned as ``shape`` makes it, shaped
    like the create's answer, else None (nothing was created: the create may be replayed)."""

    async def find_existing() -> R | None:
        answer = await listed()
        match: M | None = first_match(getattr(answer, "data", answer), customer_reference)
        return None if match is None else await shape(match)

    return find_existing
