"""Base classes and schemas shared by every API group."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["PaginationMeta", "RequestModel", "TelnyxModel"]


class TelnyxModel(BaseModel):
    """Response model: unknown fields are kept (``extra="allow"``), every field is optional."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())


class RequestModel(BaseModel):
    """Request body model: unknown fields are refused so a typo fails before any request is sent."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())


class PaginationMeta(TelnyxModel):
    page_number: int | None = None
    page_size: int | None = None
    total_pages: int | None = None
    total_results: int | None = None
