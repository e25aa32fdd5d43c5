"""All sandbox state and the rules that change it, behind one lock.

``core.StoreCore`` holds the state (clock, ids, lock, tables, blobs, tokens), the ``_locked``/``_writes``
decorators and snapshot/restore; each resource's rules live in a mixin of their own module, and ``Store``
combines them. Every public method holds ``lock``.
"""

from __future__ import annotations

from .addresses import AddressesMixin
from .bundles import BundlesMixin
from .core import (
    GROUP_STATUSES,
    KINDS,
    MAX_USER_BUNDLES_PER_REQUEST,
    SANDBOX_USER_ID,
    Record,
    StoreCore,
    iso,
    iso_date,
    public,
)
from .documents import DocumentsMixin
from .number_orders import NumberOrdersMixin
from .requirement_groups import RequirementGroupsMixin
from .verified_numbers import VerifiedNumbersMixin


class Store(
    NumberOrdersMixin,
    RequirementGroupsMixin,
    DocumentsMixin,
    AddressesMixin,
    BundlesMixin,
    VerifiedNumbersMixin,
    StoreCore,
):
    """The sandbox's state. Thread-safe: every public method holds ``lock``."""


__all__ = [
    "GROUP_STATUSES",
    "KINDS",
    "MAX_USER_BUNDLES_PER_REQUEST",
    "SANDBOX_USER_ID",
    "Record",
    "Store",
    "StoreCore",
    "iso",
    "iso_date",
    "public",
]
