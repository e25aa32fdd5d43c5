"""A market's requirements, normalised from whichever Telnyx endpoint described them.

``/regulatory_requirements`` gives acceptance criteria as strings, ``/requirement_types`` as integers;
field types come as ``address``/``address_id``, ``document``, ``textual``. :class:`RequirementSpec` is the
one shape the plan, the CSV template and the reports work with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

FieldKind = Literal["address", "document", "textual"]

_FIELD_KINDS: dict[str, FieldKind] = {
    "address": "address",
    "address_id": "address",
    "document": "document",
    "document_id": "document",
    "textual": "textual",
    "text": "textual",
}


class AcceptanceCriteria(BaseModel):
    """What a value must satisfy; every field optional, as in the API."""

    model_config = ConfigDict(extra="allow", frozen=True)

    regex: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    acceptable_values: tuple[str, ...] = ()
    acceptable_characters: str | None = None
    case_sensitive: bool | None = None
    locality_limit: str | None = None
    time_limit: str | None = None

    @field_validator("min_length", "max_length", mode="before")
    @classmethod
    def _int_or_none(cls, value: object) -> int | None:
        if value is None or value == "":
            return None
        try:
            return int(str(value).strip())
        except ValueError:
            return None  # prose such as "see description": not machine-checkable

    @field_validator("case_sensitive", mode="before")
    @classmethod
    def _bool_or_none(cls, value: object) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        text = str(value).strip().casefold()
        if text in {"true", "yes", "1"}:
            return True
        if text in {"false", "no", "0"}:
            return False
        return None

    @field_validator("acceptable_values", mode="before")
    @classmethod
    def _values(cls, value: object) -> tuple[str, ...]:
        if not value:
            return ()
        if isinstance(value, str):
            return (value,)
        return tuple(str(item) for item in value)  # type: ignore[attr-defined]


class RequirementSpec(BaseModel):
    """One requirement of a market (country, number type, action)."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    field_type: FieldKind
    description: str = ""
    example: str = ""
    acceptance_criteria: AcceptanceCriteria = Field(default_factory=AcceptanceCriteria)

    @field_validator("field_type", mode="before")
    @classmethod
    def _kind(cls, value: object) -> FieldKind:
        kind = _FIELD_KINDS.get(str(value).strip().casefold())
        if kind is None:
            raise ValueError(f"unknown requirement field_type {value!r}")
        return kind

    @classmethod
    def from_api(cls, requirement: Mapping[str, Any] | BaseModel) -> RequirementSpec:
        """Build from a ``regulatory_requirements[]`` item (a client model or a plain dict)."""
        raw = requirement.model_dump() if isinstance(requirement, BaseModel) else dict(requirement)
        return cls.model_validate(
            {
                "id": raw.get("id") or raw.get("requirement_id"),
                "name": raw.get("name") or "",
                "field_type": raw.get("field_type") or raw.get("type"),
                "description": raw.get("description") or "",
                "example": raw.get("example") or "",
                "acceptance_criteria": raw.get("acceptance_criteria") or {},
            }
        )
