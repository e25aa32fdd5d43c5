"""Deterministic ``customer_reference`` values for every resource an onboarding creates.

A reference is derived from the :class:`OnboardingKey` (customer, country, number type, action) and the
resource's role, so a rerun of the same request looks up and finds what an earlier run created::

    tc-acme-de-local-ordering-address-1a2b3c4d      the user address (hash of its fields)
    tc-acme-de-local-ordering-doc-5f1c9e2a-08a96c641c3a   one document (requirement id, file sha256)
    tc-acme-de-local-ordering-group                 the requirement group
    tc-acme-de-local-ordering-order-9c0d1e2f        the number order for a set of phone numbers

Every reference starts with ``<prefix>-`` (``PipelineSettings.reference_prefix``, ``tc`` by default) and is at
most :data:`MAX_REFERENCE_LENGTH` characters. When the readable base would be too long, or when lowercasing
the customer reference would lose information (``ACME`` and ``acme`` are different customers), the base
keeps a readable prefix and ends with ``~`` plus 8 hex digits of the key's sha256, so it stays unique.

The address reference carries a hash of the address, so an edited address yields a new address (user
addresses cannot be updated) and the requirement group is PATCHed to point at it; the document reference
carries the file's sha256 prefix for the same reason.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable

from telnyx_compliance.onboarding.request import AddressInput, OnboardingKey

#: Longest reference produced; well inside what Telnyx stores for ``customer_reference``.
MAX_REFERENCE_LENGTH = 64
DEFAULT_PREFIX = "tc"

GROUP_SUFFIX = "-group"
ORDER_SUFFIX = "-order"
_ADDRESS_ROLE = "-address-"  # + 8 hex digits
_DOCUMENT_ROLE = "-doc-"
#: Longest role suffix: "-doc-" + 8 (requirement id) + "-" + 12 (sha256) = 26 characters.
_LONGEST_ROLE = len(_DOCUMENT_ROLE) + 8 + 1 + 12
_BASE_BUDGET = MAX_REFERENCE_LENGTH - _LONGEST_ROLE
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_SAFE_PREFIX = re.compile(r"^[a-z0-9][a-z0-9-]{0,7}$")


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def reference_base(key: OnboardingKey, prefix: str = DEFAULT_PREFIX) -> str:
    """``<prefix>-<customer>-<cc>-<type>-<action>``, shortened with a hash suffix when needed."""
    if not _SAFE_PREFIX.match(prefix):
        raise ValueError(f"reference prefix must be 1-8 lowercase letters, digits or '-', got {prefix!r}")
    slug = key.slug()
    readable = f"{prefix}-{slug}"
    lossless = key.customer_reference == key.customer_reference.lower()
    if lossless and len(readable) <= _BASE_BUDGET:
        return readable
    digest = _sha256_hex(
        f"{key.customer_reference}\n{key.country_code}\n{key.phone_number_type}\n{key.action}"
    )
    keep = _BASE_BUDGET - len("~") - 8
    return f"{readable[:keep].rstrip('-.')}~{digest[:8]}"


def address_reference(key: OnboardingKey, address: AddressInput, prefix: str = DEFAULT_PREFIX) -> str:
    """Reference of the user address: changes when any address field changes."""
    canonical = json.dumps(address.model_dump(mode="json", exclude_none=True), sort_keys=True)
    return f"{reference_base(key, prefix)}{_ADDRESS_ROLE}{_sha256_hex(canonical)[:8]}"


def document_reference(
    key: OnboardingKey, requirement_id: str, sha256: str, prefix: str = DEFAULT_PREFIX
) -> str:
    """Reference of the document filling ``requirement_id``: changes when the file's content changes."""
    requirement_part = _NOT_ALNUM.sub("", requirement_id.lower())[:8] or "req"
    sha_part = sha256.lower()[:12]
    if not re.fullmatch(r"[0-9a-f]{12}", sha_part):
        raise ValueError(f"expected a hex sha256 digest, got {sha256!r}")
    return f"{reference_base(key, prefix)}{_DOCUMENT_ROLE}{requirement_part}-{sha_part}"


def group_reference(key: OnboardingKey, prefix: str = DEFAULT_PREFIX) -> str:
    """Reference of the requirement group (one per onboarding key)."""
    return f"{reference_base(key, prefix)}{GROUP_SUFFIX}"


def order_reference(key: OnboardingKey, phone_numbers: Iterable[str], prefix: str = DEFAULT_PREFIX) -> str:
    """Reference of the number order for ``phone_numbers`` (several orders may share one key and group)."""
    numbers = "\n".join(sorted(set(phone_numbers)))
    return f"{order_reference_prefix(key, prefix)}{_sha256_hex(numbers)[:8]}"


def order_reference_prefix(key: OnboardingKey, prefix: str = DEFAULT_PREFIX) -> str:
    """Common start of the references of every number order placed for one onboarding key."""
    return f"{reference_base(key, prefix)}{ORDER_SUFFIX}-"


def is_group_reference(reference: str | None, prefix: str = DEFAULT_PREFIX) -> bool:
    """True for a requirement group this pipeline created (how reconcile recognises ours)."""
    if not reference:
        return False
    return reference.startswith(f"{prefix}-") and reference.endswith(GROUP_SUFFIX)


def order_reference_prefix_for_group(group_reference_value: str) -> str:
    """Start of the references of the number orders waiting for a group (what reconcile attaches)."""
    if not group_reference_value.endswith(GROUP_SUFFIX):
        raise ValueError(f"{group_reference_value!r} is not a requirement group reference")
    return group_reference_value[: -len(GROUP_SUFFIX)] + ORDER_SUFFIX + "-"
