"""The store's core: clock, ids, lock, tables, the ``_locked``/``_writes`` decorators, persistence.

Records are kept as JSON-ready dicts in the API's shape; keys starting with ``_`` are internal (sandbox-clock
timestamps, links between resources) and never leave the store. Time-driven transitions (review, approval,
expiry, document TTL) are evaluated lazily from the sandbox clock whenever state is read, so nothing runs in
the background and ``advance_clock`` is all a test needs. Each resource's rules are a ``Part``
given this core and the other parts it uses; ``Store`` (in ``__init__``) builds them.
"""

from __future__ import annotations

import base64
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from telnyx_compliance.models.requirement_groups import GroupStatus

from ..catalog import Catalog, default_catalog, stable_id
from ..config import SandboxConfig
from ..errors import error, not_found
from ..query import filter_values

P = ParamSpec("P")
R = TypeVar("R")

Record = dict[str, Any]

KINDS = (
    "documents",
    "document_links",
    "user_addresses",
    "requirement_groups",
    "number_orders",
    "sub_number_orders",
    "number_order_phone_numbers",
    "user_bundles",
    "verified_numbers",
)
#: The user every sandbox resource belongs to.
SANDBOX_USER_ID = stable_id("sandbox-user")
GROUP_STATUSES = tuple(GroupStatus)
#: One bulk request orders at most this many user bundles (the contract sets no bound; each is a record).
MAX_USER_BUNDLES_PER_REQUEST = 1000


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_date(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def public(record: Record) -> Record:
    """A record without its internal ``_`` keys."""
    return {key: value for key, value in record.items() if not key.startswith("_")}


def _core_of(owner: object) -> StoreCore:
    """The core a locked method runs on: the store itself, or the core a part of it was given."""
    core = owner.core if isinstance(owner, Part) else owner
    assert isinstance(core, StoreCore)
    return core


def _locked(method: Callable[P, R]) -> Callable[P, R]:
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        store = _core_of(args[0])
        with store.lock:
            store._tick()
            return method(*args, **kwargs)

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


def _writes(method: Callable[P, R]) -> Callable[P, R]:
    """A locked method that changes state: persisted afterwards when persistence is on."""

    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        store = _core_of(args[0])
        with store.lock:
            store._tick()
            try:
                return method(*args, **kwargs)
            finally:
                store._changed()

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


def matches_reference(record: Record, raw: Any) -> bool:
    """``customer_reference`` filters: plain, ``eq``, ``in``, ``contains`` (case-insensitive like Telnyx)."""
    reference = str(record.get("customer_reference") or "")
    if isinstance(raw, dict):
        if "eq" in raw and reference.lower() != str(raw["eq"]).lower():
            return False
        if "in" in raw and reference not in filter_values(raw["in"]):
            return False
        return not ("contains" in raw and str(raw["contains"]).lower() not in reference.lower())
    return reference == str(raw)


class StoreCore:
    """The state every resource shares (tables, blobs, tokens, verifications), the sandbox clock and ids;
    each resource's rules are a :class:`Part` of the store, given this core."""

    def __init__(self, config: SandboxConfig, catalog: Catalog | None = None) -> None:
        self.config = config
        self.catalog = catalog or default_catalog()
        self.lock = threading.RLock()
        #: Called (under the lock) after every change, e.g. to persist; set by the persistence layer.
        self.on_change: Callable[[StoreCore], None] | None = None
        #: Cancellations so far, and the active numbers as of (number count, cancellations): kept up to date
        #: by adding the numbers ordered since, so a run of N orders costs O(N), not O(N^2).
        self.cancellations = 0
        self.active_numbers_cache: tuple[tuple[int, int], set[str]] | None = None
        #: The document links of each linked resource (link ids), for the table it was built from.
        self.links_index: tuple[dict[str, Record], dict[str, set[str]]] | None = None
        self._init_state()

    def _init_state(self) -> None:
        self._rng = random.Random(self.config.seed)
        self._clock_offset = 0.0
        self.tables: dict[str, dict[str, Record]] = {kind: {} for kind in KINDS}
        self.active_numbers_cache = None
        self.links_index = None
        self.blobs: dict[str, bytes] = {}
        self.download_tokens: dict[str, Record] = {}
        self.verifications: dict[str, Record] = {}
        self._next_sweep = 0.0

    # -- clock and ids --------------------------------------------------------------------------------------

    def now(self) -> float:
        """Sandbox clock: wall clock plus every ``advance_clock``."""
        return time.time() + self._clock_offset

    @property
    def clock_offset(self) -> float:
        return self._clock_offset

    @_writes
    def advance_clock(self, seconds: float) -> float:
        if seconds < 0:
            raise error(
                422, "seconds must be positive; the sandbox clock never goes back.", pointer="/seconds"
            )
        self._clock_offset += seconds
        self._next_sweep = 0.0
        return self.now()

    @_writes
    def reset(self) -> None:
        """Forget every resource and restart ids, codes and the clock from the seed."""
        self._init_state()

    def new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def stamp(self, record: Record, *, created: bool = False) -> Record:
        now = self.now()
        if created:
            record["created_at"] = iso(now)
            record["_created"] = now
        record["updated_at"] = iso(now)
        return record

    def _tick(self) -> None:
        """Apply time-driven deletions due on the sandbox clock (document TTL, expired tokens)."""
        now = self.now()
        if now < self._next_sweep:
            return
        next_sweep = now + 3600.0
        for document in list(self.tables["documents"].values()):
            since = document.get("_unlinked_since")
            if since is None:
                continue
            due = since + self.config.document_ttl
            if due <= now:
                self.drop_document(document["id"])
            else:
                next_sweep = min(next_sweep, due)
        for token, link in list(self.download_tokens.items()):
            if link["expires"] <= now:
                del self.download_tokens[token]
        self._next_sweep = next_sweep

    def sweep_by(self, at: float) -> None:
        """Make the next time-driven sweep (``_tick``) happen no later than ``at`` on the sandbox clock."""
        self._next_sweep = min(self._next_sweep, at)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self)

    def config_changed(self) -> None:
        with self.lock:
            self._next_sweep = 0.0

    def get_record(self, kind: str, resource_id: str, label: str) -> Record:
        record = self.tables[kind].get(resource_id)
        if record is None:
            raise not_found(label, resource_id)
        return record

    def drop_document(self, document_id: str) -> None:
        """Drop a document, its bytes and its download tokens (also the document TTL sweep of ``_tick``)."""
        self.tables["documents"].pop(document_id, None)
        self.blobs.pop(document_id, None)
        for token, link in list(self.download_tokens.items()):
            if link["document_id"] == document_id:
                del self.download_tokens[token]

    # -- introspection and persistence ----------------------------------------------------------------------

    @_locked
    def resource_counts(self) -> dict[str, int]:
        return {kind: len(table) for kind, table in self.tables.items()}

    @_locked
    def duplicates(self) -> dict[str, dict[str, int]]:
        """Resources of one type sharing a ``customer_reference``: what an idempotent pipeline avoids."""
        found: dict[str, dict[str, int]] = {}
        for kind, table in self.tables.items():
            counts = Counter(r["customer_reference"] for r in table.values() if r.get("customer_reference"))
            repeated = {reference: n for reference, n in sorted(counts.items()) if n > 1}
            if repeated:
                found[kind] = repeated
        return found

    @_locked
    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-ready data (document bytes base64)."""
        return {
            "version": 1,
            "clock_offset": self._clock_offset,
            "rng": _rng_state(self._rng),
            "tables": self.tables,
            "blobs": {key: base64.b64encode(value).decode() for key, value in self.blobs.items()},
            "download_tokens": self.download_tokens,
            "verifications": self.verifications,
        }

    def restore(self, snapshot: dict[str, Any]) -> None:
        with self.lock:
            self._init_state()
            self._clock_offset = float(snapshot["clock_offset"])
            state = snapshot["rng"]
            self._rng.setstate((state[0], tuple(state[1]), state[2]))
            for kind in KINDS:
                self.tables[kind] = dict(snapshot["tables"].get(kind, {}))
            self.blobs = {key: base64.b64decode(value) for key, value in snapshot["blobs"].items()}
            self.download_tokens = dict(snapshot["download_tokens"])
            self.verifications = dict(snapshot["verifications"])


class Part:
    """One resource's rules, on the core it is given (and, for some, the other parts it names)."""

    def __init__(self, core: StoreCore) -> None:
        self.core = core


def _rng_state(rng: random.Random) -> list[Any]:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def normal_time(value: Any, operator: str) -> str:
    """A ``created_at[gt|lt]`` filter value in the store's timestamp format, for string comparison."""
    text = str(value).strip().replace(" ", "+")
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise error(
            422,
            f"filter[created_at][{operator}] must be an ISO 8601 date-time; got '{value}'.",
            parameter=f"filter[created_at][{operator}]",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        # In UTC it falls before year 1 or after 9999 (e.g. 0001-01-01T00:00+00:01): the ends of the range
        # compare the same way with every stored timestamp.
        parsed = (datetime.min if parsed.year == 1 else datetime.max).replace(tzinfo=UTC)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
