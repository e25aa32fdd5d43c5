"""Requirement keys: the stable names a CSV (or a flow parameter) uses for Telnyx requirements.

Telnyx identifies requirements by id and names them per market; a CSV needs one column per *fact*
whatever the market. A :class:`RequirementMapping` resolves each requirement to its key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import yaml

#: The mapping shipped with the library (``onboarding/data/requirements.yaml``, read through
#: ``importlib.resources`` so it works from a wheel as from a checkout); ``COMPLIANCE_MAPPING_PATH``
#: replaces it.
DEFAULT_MAPPING = resources.files("telnyx_compliance.onboarding.data").joinpath("requirements.yaml")

_NON_WORD = re.compile(r"[^a-z0-9]+")


def slugify(name: str) -> str:
    """``"Business Registration Number"`` -> ``"business_registration_number"``."""
    return _NON_WORD.sub("_", name.casefold()).strip("_")[:64] or "requirement"


class RequirementMapping:
    """Resolves a requirement (id, name) to its requirement key."""

    def __init__(self, aliases: Mapping[str, Iterable[str]] | None = None) -> None:
        self._by_alias: dict[str, str] = {}
        for key, names in (aliases or {}).items():
            for name in names:
                self._by_alias[name.casefold()] = key

    @classmethod
    def load(cls, path: Path | str | None = None) -> RequirementMapping:
        """Load a YAML mapping file (the one shipped with the library by default)."""
        source: Path | Traversable = Path(path) if path else DEFAULT_MAPPING
        if not source.is_file():
            raise FileNotFoundError(f"{source}: no such requirement mapping file")
        raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
        if not isinstance(raw, dict) or not all(isinstance(v, list) for v in raw.values()):
            raise ValueError(f"{source}: expected a mapping of requirement key -> list of names or ids")
        return cls({str(key): [str(name) for name in names] for key, names in raw.items()})

    def key_for(self, requirement_id: str, name: str) -> str:
        """The key a requirement is filled from: by id, then by name, then slug(name)."""
        return (
            self._by_alias.get(requirement_id.casefold())
            or self._by_alias.get(name.casefold())
            or slugify(name)
        )
