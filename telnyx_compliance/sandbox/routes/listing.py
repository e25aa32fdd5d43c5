"""Each operation's query, declared once: its filters (operators, enum or boolean values) and its sorts.

``QuerySpec.filters_of`` rejects what the operation does not define (unknown filters, operators, values);
``QuerySpec.sorted`` applies ``sort`` (``field`` ascending, ``-field`` descending, both derived from
``sorts``) or the default order; ``QuerySpec.page`` sorts and pages into Telnyx's ``{"data", "meta"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..query import Query, bool_value, check_filter, enum_value, paginate, read_page, sort_records
from ..store import Record


@dataclass(frozen=True)
class Filter:
    """One filter: a plain value (``operators`` None) or the operators it takes; maybe an enum or boolean."""

    operators: frozenset[str] | None = None
    values: tuple[str, ...] | None = None
    boolean: bool = False


#: ``filter[name]=value``: a plain value.
PLAIN = Filter()
#: ``filter[name]=true|false``.
BOOLEAN = Filter(boolean=True)


def ops(*operators: str) -> Filter:
    """``filter[name][op]=value`` for each of ``operators`` (``""``: the plain ``filter[name]=value`` too)."""
    return Filter(frozenset(operators))


def one_of(*values: str) -> Filter:
    """A plain value, one of ``values``."""
    return Filter(values=values)


@dataclass(frozen=True)
class QuerySpec:
    filters: Mapping[str, Filter] = field(default_factory=dict)
    #: Fields ``sort`` accepts, ascending as named or descending as ``-field``.
    sorts: tuple[str, ...] = ()
    #: The order without ``sort`` (always, when ``sorts`` is empty); None: the store's order.
    default_sort: str | None = None
    #: ``sort`` takes one value, checked as the contract's enum (else a comma separated list).
    single_sort: bool = False
    page_size: int = 20

    @property
    def sort_choices(self) -> tuple[str, ...]:
        return (*self.sorts, *(f"-{name}" for name in self.sorts))

    def filters_of(self, query: Query) -> dict[str, Any]:
        """The ``filter`` object, checked: names and operators first, then enum and boolean values."""
        filters = check_filter(query, {name: f.operators for name, f in self.filters.items()})
        for name, declared in self.filters.items():
            if name not in filters:
                continue
            if declared.values is not None:
                enum_value(filters[name], declared.values, f"filter[{name}]")
            if declared.boolean:
                bool_value(filters[name], f"filter[{name}]")
        return filters

    def sorted(self, records: list[Record], query: Query) -> list[Record]:
        if not self.sorts:
            if self.default_sort is None:
                return records
            return sort_records(records, None, (self.default_sort.lstrip("-"),), self.default_sort)
        sort = query.get("sort")
        if self.single_sort and sort not in (None, ""):
            enum_value(sort, self.sort_choices, "sort")
        return sort_records(records, sort, self.sorts, default=self.default_sort or "-created_at")

    def page(self, records: list[Record], query: Query) -> dict[str, Any]:
        """Sorted, then one page of them with Telnyx's ``meta``."""
        data, meta = paginate(self.sorted(records, query), read_page(query, self.page_size))
        return {"data": data, "meta": meta}
