"""deepObject query strings (``filter[customer_reference][in][]=A``, ``page[size]=50``), paging, sorting."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ErrorItem, SandboxError, error

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")

Query = dict[str, Any]


def parse_query(items: Iterable[tuple[str, str]]) -> Query:
    """Nest ``a[b][c]=v`` pairs into ``{"a": {"b": {"c": v}}}``; ``a[]=v`` and repeated keys build lists."""
    nested: Query = {}
    for raw_key, value in items:
        match = _KEY.match(raw_key)
        if match is None:
            nested[raw_key] = value
            continue
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        is_list = len(parts) > 1 and parts[-1] == ""
        if is_list:
            parts = parts[:-1]
        node: dict[str, Any] = nested
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise error(
                    422, f"Query parameter '{raw_key}' mixes a value and an object.", parameter=raw_key
                )
            node = child
        leaf = parts[-1]
        existing = node.get(leaf)
        if existing is None:
            node[leaf] = [value] if is_list else value
        elif isinstance(existing, list):
            existing.append(value)
        elif isinstance(existing, str):
            node[leaf] = [existing, value]
        else:
            raise error(422, f"Query parameter '{raw_key}' mixes a value and an object.", parameter=raw_key)
    return nested


def check_filter(query: Query, allowed: Mapping[str, Any]) -> dict[str, Any]:
    """The ``filter`` object, after rejecting keys (and operators) the operation does not define.

    ``allowed`` maps a filter name to ``None`` (a plain value) or to the set of operators it takes.
    """
    raw = query.get("filter", {})
    if raw in ("", None):
        return {}
    if not isinstance(raw, dict):
        raise error(422, "filter must be an object: filter[name]=value.", parameter="filter")
    problems: list[ErrorItem] = []
    for name, value in raw.items():
        if name not in allowed:
            problems.append(
                ErrorItem(
                    f"Unknown filter '{name}'. Valid filters: {', '.join(sorted(allowed))}.",
                    parameter=f"filter[{name}]",
                )
            )
            continue
        operators = allowed[name]
        if operators is None and isinstance(value, dict):
            problems.append(ErrorItem(f"filter[{name}] takes a plain value.", parameter=f"filter[{name}]"))
        elif operators is not None and isinstance(value, dict):
            for operator in value:
                if operator not in operators:
                    problems.append(
                        ErrorItem(
                            f"Unknown operator '{operator}' for filter[{name}]; expected one of "
                            f"{', '.join(sorted(operators))}.",
                            parameter=f"filter[{name}][{operator}]",
                        )
                    )
    if problems:
        raise SandboxError(422, problems)
    return raw


def filter_values(value: Any) -> list[str]:
    """A filter value that may be a list, a comma separated string or a single value."""
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str):
        return [v for v in value.split(",") if v != ""]
    return [str(value)]


def operator_value(raw: Any, operator: str = "eq") -> Any:
    """``filter[x]=v`` and ``filter[x][eq]=v`` both mean ``eq``."""
    if isinstance(raw, dict):
        return raw.get(operator)
    return raw if operator == "eq" else None


def enum_value(value: Any, allowed: Sequence[str], parameter: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise error(
            422, f"{parameter} must be one of {', '.join(allowed)}; got '{value}'.", parameter=parameter
        )
    return value


def bool_value(value: Any, parameter: str) -> bool:
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise error(422, f"{parameter} must be true or false; got '{value}'.", parameter=parameter)


@dataclass(frozen=True)
class Page:
    number: int
    size: int


def read_page(query: Query, default_size: int = 20, max_size: int = 250) -> Page:
    raw = query.get("page", {})
    if not isinstance(raw, dict):
        raise error(422, "page must be given as page[number] and page[size].", parameter="page")
    values: dict[str, int] = {}
    for name, default, upper in (("number", 1, None), ("size", default_size, max_size)):
        text = raw.get(name)
        if text is None:
            values[name] = default
            continue
        try:
            number = int(text)
        except (TypeError, ValueError):
            raise error(
                422, f"page[{name}] must be an integer; got '{text}'.", parameter=f"page[{name}]"
            ) from None
        if number < 1 or (upper is not None and number > upper):
            bound = f"between 1 and {upper}" if upper else "at least 1"
            raise error(422, f"page[{name}] must be {bound}; got {number}.", parameter=f"page[{name}]")
        values[name] = number
    return Page(values["number"], values["size"])


def paginate(records: Sequence[dict[str, Any]], page: Page) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The records of one page and the ``meta`` Telnyx sends with it."""
    total = len(records)
    start = (page.number - 1) * page.size
    meta = {
        "page_number": page.number,
        "page_size": page.size,
        "total_pages": max(1, math.ceil(total / page.size)) if total else 0,
        "total_results": total,
    }
    return list(records[start : start + page.size]), meta


def sort_records(
    records: list[dict[str, Any]], sort: Any, allowed: Sequence[str], default: str = "-created_at"
) -> list[dict[str, Any]]:
    """Sort by ``sort`` (``field`` ascending, ``-field`` descending, several allowed)."""
    keys = filter_values(sort) if sort not in (None, "", []) else [default]
    for key in keys:
        if key.lstrip("-") not in allowed:
            choices = ", ".join(f"{name}, -{name}" for name in allowed)
            raise error(422, f"Cannot sort by '{key}'; expected one of {choices}.", parameter="sort")
    ordered = list(records)
    for key in reversed(keys):
        name = key.lstrip("-")
        ordered.sort(key=_sort_key(name), reverse=key.startswith("-"))
    return ordered


def _sort_key(name: str) -> Callable[[dict[str, Any]], tuple[int, str]]:
    def key(record: dict[str, Any]) -> tuple[int, str]:
        value = record.get(name)
        return (0, "") if value is None else (1, str(value).lower())

    return key
