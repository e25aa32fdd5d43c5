"""The plan: which value fills each requirement, checked against its acceptance criteria before any write.

``build_plan`` is pure apart from reading the document files (to hash and sniff them). It reports every
missing or invalid requirement at once in a :class:`PlanError`, so an operator fixes a row in one go.

Checked: textual values against ``regex`` (full match), ``min_length``/``max_length``, ``acceptable_values``
(case-sensitive unless ``case_sensitive`` says otherwise; a case-insensitive match is normalised to the
listed spelling) and ``acceptable_characters`` (the set of characters allowed); the address against the
market's country; documents for existence, size and content type. ``locality_limit`` and ``time_limit`` are
prose a reviewer judges, so they are not checked here.
"""

from __future__ import annotations

import functools
import hashlib
import mimetypes
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import regex
from pydantic import BaseModel, ConfigDict

from telnyx_compliance import storage
from telnyx_compliance._text import excerpt
from telnyx_compliance.locations import Location
from telnyx_compliance.onboarding.confine import ConfinementError, confine
from telnyx_compliance.onboarding.errors import DocumentChangedError, ErrorKind
from telnyx_compliance.onboarding.mapping import RequirementMapping
from telnyx_compliance.onboarding.references import (
    DEFAULT_PREFIX,
    address_reference,
    document_reference,
    group_reference,
    order_reference,
)
from telnyx_compliance.onboarding.request import AddressInput, OnboardingKey, OnboardingRequest
from telnyx_compliance.onboarding.requirements import AcceptanceCriteria, FieldKind, RequirementSpec

if TYPE_CHECKING:
    from telnyx_compliance.onboarding.csv_source import DocumentURLs

#: Content types Telnyx's document service accepts for regulatory documents.
ALLOWED_DOCUMENT_TYPES: frozenset[str] = frozenset(
    {"application/pdf", "image/jpeg", "image/png", "image/tiff"}
)
DEFAULT_MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
#: Longest time one value is matched against an API-supplied pattern (s).
REGEX_TIMEOUT = 0.1
#: Longer API-supplied patterns are not applied (left to the reviewer).
MAX_PATTERN_LENGTH = 2000
#: Characters of a refused value (or document path) quoted in a problem.
_MAX_GOT = 120

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)


class PlannedAddress(BaseModel):
    """The user address every address requirement points at."""

    model_config = ConfigDict(frozen=True)

    address: AddressInput
    reference: str


class PlannedDocument(BaseModel):
    """A local file to upload (or reuse) for one requirement; never its bytes."""

    model_config = ConfigDict(frozen=True)

    path: Path
    filename: str
    sha256: str
    size: int
    content_type: str
    reference: str


class PlanItem(BaseModel):
    """One requirement and the value that fills it."""

    model_config = ConfigDict(frozen=True)

    requirement: RequirementSpec
    key: str
    text: str | None = None
    document: PlannedDocument | None = None
    #: A document already in Telnyx, given by its id (nothing to upload).
    document_id: str | None = None

    @property
    def kind(self) -> FieldKind:
        return self.requirement.field_type

    def display_value(self) -> str:
        """What a report shows: the text, the document's filename, or ``address``."""
        if self.document is not None:
            return self.document.filename
        if self.document_id is not None:
            return f"document {self.document_id}"
        if self.text is not None:
            return self.text
        return "address"


class OnboardingPlan(BaseModel):
    """Everything the steps need, decided before the first write."""

    model_config = ConfigDict(frozen=True)

    key: OnboardingKey
    reference_prefix: str = DEFAULT_PREFIX
    items: tuple[PlanItem, ...]
    address: PlannedAddress | None = None
    group_reference: str
    order_reference: str
    phone_numbers: tuple[str, ...] = ()
    sub_number_order_ids: tuple[str, ...] = ()
    number_order_phone_number_ids: tuple[str, ...] = ()

    @property
    def documents(self) -> tuple[PlanItem, ...]:
        return tuple(item for item in self.items if item.document is not None)

    @property
    def has_orders_given(self) -> bool:
        """Orders given by id (existing sub-number orders or ordered numbers) to attach the group to."""
        return bool(self.sub_number_order_ids or self.number_order_phone_number_ids)

    @property
    def needs_address(self) -> bool:
        return any(item.kind == "address" for item in self.items)


class PlanProblem(BaseModel):
    """Why one requirement cannot be filled: what was expected and what was given."""

    model_config = ConfigDict(frozen=True)

    requirement_id: str
    requirement_name: str
    key: str
    kind: FieldKind
    expected: str
    got: str | None = None
    source: str | None = None  # the input field when it is not a requirement value (e.g. phone_numbers)

    @property
    def column(self) -> str:
        """The CSV column this value comes from (the requirement mapping's conventions)."""
        if self.source is not None:
            return self.source
        if self.kind == "address":
            return "address_*"
        return f"doc_{self.key}" if self.kind == "document" else f"value_{self.key}"

    def render(self) -> str:
        got = "missing" if self.got is None else repr(self.got)
        return f"{self.requirement_name} [{self.key}]: expected {self.expected}; got {got}"


class PlanError(ValueError):
    """The request cannot meet the market's requirements; ``problems`` names every one."""

    kind = ErrorKind.PLAN_UNMET

    def __init__(self, key: OnboardingKey, problems: Sequence[PlanProblem]) -> None:
        self.key = key
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {problem.render()}" for problem in self.problems)
        market = f"{key.country_code} {key.phone_number_type} {key.action}"
        count = len(self.problems)
        super().__init__(
            f"{key.customer_reference}: {count} requirement(s) of {market} cannot be met:\n{lines}"
        )

    def __reduce__(self) -> tuple[type[PlanError], tuple[OnboardingKey, tuple[PlanProblem, ...]]]:
        # Prefect (and multiprocessing) pickle exceptions; keep the structured problems across that.
        return (PlanError, (self.key, self.problems))


def build_plan(
    request: OnboardingRequest,
    requirements: Sequence[RequirementSpec],
    mapping: RequirementMapping | None = None,
    *,
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
    reference_prefix: str = DEFAULT_PREFIX,
    documents_root: Path | None = None,
    document_urls: DocumentURLs | None = None,
) -> OnboardingPlan:
    """Map every requirement to its value and check it; raise :class:`PlanError` listing all problems.

    ``documents_root``: document paths must lie inside it (relative ones are taken relative to it), see
    :mod:`~telnyx_compliance.onboarding.confine`. ``None`` checks the paths as given, unconfined: for
    callers that confined them already. ``document_urls`` says where documents named by URL may come from
    (None: URLs are refused); a document given by id in ``request.document_ids`` is used as it is.
    """
    mapping = mapping or RequirementMapping.load()
    key = request.key
    items: list[PlanItem] = []
    problems: list[PlanProblem] = []
    hashes: dict[Path, tuple[str, int, str]] = {}  # one read per file even when it fills several requirements

    for requirement in requirements:
        item_key = (
            "address"
            if requirement.field_type == "address"
            else mapping.key_for(requirement.id, requirement.name)
        )

        def problem(
            expected: str, got: str | None, requirement: RequirementSpec = requirement, k: str = item_key
        ) -> None:
            problems.append(
                PlanProblem(
                    requirement_id=requirement.id,
                    requirement_name=requirement.name,
                    key=k,
                    kind=requirement.field_type,
                    expected=expected,
                    got=got,
                )
            )

        if requirement.field_type == "address":
            if request.address is None:
                problem(f"an address in {key.country_code}", None)
            elif request.address.country_code != key.country_code:
                problem(f"an address in {key.country_code}", f"an address in {request.address.country_code}")
            else:
                items.append(PlanItem(requirement=requirement, key=item_key))
        elif requirement.field_type == "document":
            existing_id = request.document_ids.get(item_key)
            if existing_id is not None:
                items.append(PlanItem(requirement=requirement, key=item_key, document_id=existing_id))
                continue
            given = request.documents.get(item_key)
            expected = f"a {_types_text()} file of at most {_size_text(max_document_bytes)}"
            if given is None:
                problem(expected, None)
                continue
            if isinstance(given, str) and not Location.parse(given).is_local:
                shown = excerpt(Location.parse(given).redacted, _MAX_GOT)
                if document_urls is None:
                    problem(expected, f"{shown} (documents given by URL are not read here)")
                    continue
                try:
                    path = document_urls.fetch(given, max_document_bytes)
                except FileNotFoundError:
                    problem(expected, f"{shown} (no such object)")
                    continue
                except ValueError as error:  # StorageError, FetchError: refused or unreadable
                    problem(expected, f"{shown} ({excerpt(str(error), _MAX_GOT)})")
                    continue
            else:
                try:
                    path = storage.local_path(str(given)) if isinstance(given, str) else given
                except ValueError as error:  # StorageError: a file:// URL with a host
                    problem(expected, excerpt(str(error), _MAX_GOT))
                    continue
            if documents_root is not None and not (
                isinstance(given, str) and not Location.parse(given).is_local
            ):
                try:
                    path = confine(documents_root, path)
                except ConfinementError as error:
                    problem(expected, f"{excerpt(str(request.documents[item_key]), _MAX_GOT)} ({error})")
                    continue
            reason = _document_problem(path, max_document_bytes)
            if reason is not None:
                problem(expected, f"{excerpt(str(path), _MAX_GOT)} ({reason})")
                continue
            resolved = path.resolve()
            if resolved not in hashes:
                hashes[resolved] = _hash_and_sniff(resolved)
            sha256, size, content_type = hashes[resolved]
            if content_type not in ALLOWED_DOCUMENT_TYPES:
                problem(expected, f"{excerpt(str(path), _MAX_GOT)} ({content_type})")
                continue
            items.append(
                PlanItem(
                    requirement=requirement,
                    key=item_key,
                    document=PlannedDocument(
                        path=resolved,
                        filename=path.name,
                        sha256=sha256,
                        size=size,
                        content_type=content_type,
                        reference=document_reference(key, requirement.id, sha256, reference_prefix),
                    ),
                )
            )
        else:
            value = request.values.get(item_key)
            criteria = requirement.acceptance_criteria
            if value is None or not value.strip():
                problem(describe_criteria(criteria, requirement.example), None)
                continue
            checked = check_text(value, criteria)
            if isinstance(checked, TextProblem):
                problem(checked.expected, excerpt(value, _MAX_GOT))
                continue
            items.append(PlanItem(requirement=requirement, key=item_key, text=checked))

    if problems:
        raise PlanError(key, problems)
    planned_address = (
        PlannedAddress(
            address=request.address, reference=address_reference(key, request.address, reference_prefix)
        )
        if request.address is not None and any(item.kind == "address" for item in items)
        else None
    )
    return OnboardingPlan(
        key=key,
        reference_prefix=reference_prefix,
        items=tuple(items),
        address=planned_address,
        group_reference=group_reference(key, reference_prefix),
        order_reference=order_reference(key, request.phone_numbers, reference_prefix),
        phone_numbers=request.phone_numbers,
        sub_number_order_ids=request.sub_number_order_ids,
        number_order_phone_number_ids=request.number_order_phone_number_ids,
    )


class TextProblem(BaseModel):
    """A textual value breaking its criteria: ``expected`` describes every criterion it breaks."""

    model_config = ConfigDict(frozen=True)

    expected: str


def check_text(value: str, criteria: AcceptanceCriteria) -> str | TextProblem:
    """The value to send (normalised to an acceptable value's spelling) or what it fails to meet."""
    value = value.strip()
    case_sensitive = criteria.case_sensitive is not False
    broken: list[str] = []
    if criteria.acceptable_values:
        matches = [
            allowed
            for allowed in criteria.acceptable_values
            if (allowed == value if case_sensitive else allowed.casefold() == value.casefold())
        ]
        if matches:
            value = matches[0]
        else:
            case_note = "" if case_sensitive else " (any case)"
            broken.append(f"one of {', '.join(repr(v) for v in criteria.acceptable_values)}{case_note}")
    if criteria.min_length is not None and len(value) < criteria.min_length:
        broken.append(f"at least {criteria.min_length} characters")
    if criteria.max_length is not None and len(value) > criteria.max_length:
        broken.append(f"at most {criteria.max_length} characters")
    if criteria.acceptable_characters:
        allowed_chars = set(criteria.acceptable_characters)
        outside = sorted({ch for ch in value if ch not in allowed_chars})
        if outside:
            broken.append(
                f"only the characters {criteria.acceptable_characters!r} (not {''.join(outside)!r})"
            )
    if criteria.regex:
        pattern = _compile(criteria.regex, case_sensitive)
        if pattern is not None:
            try:
                matched = pattern.fullmatch(value, timeout=REGEX_TIMEOUT) is not None
            except TimeoutError:
                broken.append(
                    f"a value matching {excerpt(criteria.regex, 120)} (the pattern did not decide within "
                    f"{REGEX_TIMEOUT} s: give a shorter or simpler value)"
                )
            else:
                if not matched:
                    broken.append(f"a value matching {excerpt(criteria.regex, 120)}")
    if broken:
        return TextProblem(expected="; ".join(broken))
    return value


def describe_criteria(criteria: AcceptanceCriteria, example: str = "") -> str:
    """Human description of what a textual value must be (used for missing values)."""
    parts: list[str] = []
    if criteria.acceptable_values:
        parts.append(f"one of {', '.join(repr(v) for v in criteria.acceptable_values)}")
    if criteria.regex:
        parts.append(f"matching {criteria.regex}")
    if criteria.min_length is not None or criteria.max_length is not None:
        parts.append(f"{criteria.min_length or 0}-{criteria.max_length or '…'} characters")
    if criteria.acceptable_characters:
        parts.append(f"characters from {criteria.acceptable_characters!r}")
    if example:
        parts.append(f"e.g. {example!r}")
    return "a value" + (f" ({'; '.join(parts)})" if parts else "")


@functools.lru_cache(maxsize=256)
def _compile(pattern: str, case_sensitive: bool) -> regex.Pattern[str] | None:
    """The API's pattern compiled, or None (left to the reviewer) when it is too long or not one Python's
    ``regex`` understands. Patterns come from Telnyx, so they are matched with a time bound
    (:data:`REGEX_TIMEOUT`): a pattern that backtracks catastrophically cannot stall a run."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return None
    try:
        return regex.compile(pattern, 0 if case_sensitive else regex.IGNORECASE)
    except (regex.error, ValueError, OverflowError, RecursionError):
        return None


def _document_problem(path: Path, max_bytes: int) -> str | None:
    if not path.exists():
        return "file not found"
    if not path.is_file():
        return "not a file"
    size = path.stat().st_size
    if size == 0:
        return "empty file"
    if size > max_bytes:
        return f"{_size_text(size)}, larger than {_size_text(max_bytes)}"
    return None


def read_planned_document(document: PlannedDocument) -> bytes:
    """The bytes of a planned document, read again at upload time: refused (naming the document) when the
    file grew, shrank or changed since it was planned, so the size cap and the sha256 hold for what is sent.
    """
    try:
        with document.path.open("rb") as stream:
            content = stream.read(document.size + 1)
    except OSError as error:
        raise DocumentChangedError(
            f"{document.filename}: cannot be read any more ({error.strerror})"
        ) from None
    if len(content) != document.size or hashlib.sha256(content).hexdigest() != document.sha256:
        raise DocumentChangedError(
            f"{document.filename} changed since it was checked (was {_size_text(document.size)}, "
            f"sha256 {document.sha256[:12]}…): run again to check it anew"
        )
    return content


def _hash_and_sniff(path: Path) -> tuple[str, int, str]:
    digest = hashlib.sha256()
    size = 0
    head = b""
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 16), b""):
            if not head:
                head = chunk[:16]
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size, sniff_content_type(head, path.name)


def sniff_content_type(head: bytes, filename: str) -> str:
    """Content type from the file's first bytes, falling back to its extension."""
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    guessed, _ = mimetypes.guess_type(filename)
    return guessed or "application/octet-stream"


def _types_text(types: Iterable[str] = ALLOWED_DOCUMENT_TYPES) -> str:
    names = sorted(content_type.split("/")[1].upper() for content_type in types)
    return "/".join(names)


def _size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size} bytes"
