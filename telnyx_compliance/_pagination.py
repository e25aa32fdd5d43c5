"""Auto-paginating list results (``_sync_pagination.py`` is generated from this file).

``client.documents.list(...)`` returns an ``AsyncPaginator``: ``await`` it for the first page, or
``async for item in ...`` to walk every item of every page (``page[number]`` / ``page[size]``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx

from ._base_client import parse_page
from .models.shared import PaginationMeta

if TYPE_CHECKING:
    from ._client import AsyncTelnyx

__all__ = ["AsyncPage", "AsyncPaginator"]

T = TypeVar("T")


class AsyncPage(Generic[T]):
    """One page: ``data`` (items) and ``meta`` (page_number, page_size, total_pages, total_results)."""

    def __init__(
        self, *, data: list[T], meta: PaginationMeta | None, page_number: int, paginator: AsyncPaginator[T]
    ) -> None:
        self.data = data
        self.meta = meta
        self.page_number = meta.page_number if meta is not None and meta.page_number else page_number
        self._paginator = paginator

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(page_number={self.page_number}, items={len(self.data)}, meta={self.meta!r})"

    def has_next_page(self) -> bool:
        if not self.data or self.meta is None or self.meta.total_pages is None:
            return False
        return self.page_number < self.meta.total_pages

    async def get_next_page(self) -> AsyncPage[T]:
        if not self.has_next_page():
            raise RuntimeError("No next page: check has_next_page() first")
        return await self._paginator.fetch_page(self.page_number + 1)

    async def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        """This page and every following one; stops if the server does not advance."""
        page = self
        yield page
        while page.has_next_page():
            following = await page.get_next_page()
            if following.page_number <= page.page_number:
                return
            page = following
            yield page

    async def _iter_items(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.data:
                yield item

    def __aiter__(self) -> AsyncIterator[T]:
        """Every item of this page and of the pages after it."""
        return self._iter_items()


class AsyncPaginator(Generic[T]):
    """A not-yet-fetched list result."""

    def __init__(
        self,
        client: AsyncTelnyx,
        path: str,
        item_type: type[T],
        *,
        params: Mapping[str, Any] | None = None,
        page_number: int | None = None,
        page_size: int | None = None,
    ) -> None:
        self._client = client
        self._path = path
        self._item_type = item_type
        self._params = dict(params or {})
        self._page_number = page_number
        self._page_size = page_size

    async def fetch_page(self, page_number: int | None) -> AsyncPage[T]:
        params = {**self._params, "page": {"number": page_number, "size": self._page_size}}

        def cast(response: httpx.Response) -> tuple[list[T], PaginationMeta | None]:
            return parse_page(response, self._item_type)

        data, meta = await self._client._request("GET", self._path, cast=cast, params=params)
        return AsyncPage(data=data, meta=meta, page_number=page_number or 1, paginator=self)

    async def first_page(self) -> AsyncPage[T]:
        return await self.fetch_page(self._page_number)

    async def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        async for page in (await self.first_page()).iter_pages():
            yield page

    async def _iter_items(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.data:
                yield item

    def __aiter__(self) -> AsyncIterator[T]:
        return self._iter_items()

    # unasync: begin async-only
    def __await__(self) -> Generator[Any, None, AsyncPage[T]]:
        return self.first_page().__await__()

    # unasync: end async-only
