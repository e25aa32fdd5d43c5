"""All sandbox state and the rules that change it, behind one lock.

``core.StoreCore`` holds the state (clock, ids, lock, tables, blobs, tokens), the ``_locked``/``_writes``
decorators and snapshot/restore. Each resource's rules are a part in a module of their own, given the core
and, explicitly, the other parts it uses: ``Store`` owns them (``store.addresses``, ``store.documents``,
``store.bundles``, ``store.verified_numbers``, ``store.groups``, ``store.orders``). Every public method holds
the core's ``lock``.
"""

from __future__ import annotations

from ..catalog import Catalog
from ..config import SandboxConfig
from .addresses import AddressesStore
from .bundles import BundlesStore
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
from .documents import DocumentsStore
from .number_orders import NumberOrdersStore
from .requirement_groups import RequirementGroupsStore
from .verified_numbers import VerifiedNumbersStore


class Store(StoreCore):
    """The sandbox's state and its parts, one per resource. Thread-safe: every public method holds
    ``lock``."""

    def __init__(self, config: SandboxConfig, catalog: Catalog | None = None) -> None:
        super().__init__(config, catalog)
        self.addresses = AddressesStore(self)
        self.documents = DocumentsStore(self)
        self.bundles = BundlesStore(self)
        self.verified_numbers = VerifiedNumbersStore(self)
        self.groups = RequirementGroupsStore(self, documents=self.documents)
        self.orders = NumberOrdersStore(
            self, groups=self.groups, documents=self.documents, bundles=self.bundles
        )


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
