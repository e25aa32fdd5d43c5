"""Base class of the async resources."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from ..._client import AsyncTelnyx

__all__ = ["LOOKUP_PAGE_SIZE", "AsyncAPIResource", "AsyncFindExisting", "finder"]

#: Page size of the listings that look a resource up by ``customer_reference``.
LOOKUP_PAGE_SIZE = 250

R = TypeVar("R")
M = TypeVar("M")

#: Looks up the resource a create may already have made; returns it (shaped like the create's answer) or None.
AsyncFindExisting = Callable[[], Awaitable[R | None]]


class AsyncAPIResource:
    def __init__(self, client: AsyncTelnyx) -> None:
        self._client = client


def finder(
    found: Callable[[], Awaitable[M | None]], shape: Callable[[M], Awaitable[R | None]]
) -> AsyncFindExisting[R]:
    """The ``find_existing`` of a create carrying a ``customer_reference``: what ``found()`` finds under that
    reference (the resource's ``find_by_reference``, the one definition of that lookup), shaped like the
    create's answer by ``shape``; None when nothing was created (the create may be replayed)."""

    async def find_existing() -> R | None:
        match = await found()
        return None if match is None else await shape(match)

    return find_existing
