"""Sandbox settings: CLI flags and ``SANDBOX_*`` environment variables end up in one ``SandboxConfig``."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: The pipeline's default document limit (``COMPLIANCE_MAX_DOCUMENT_BYTES``), so what it sends is accepted.
DEFAULT_MAX_DOCUMENT_BYTES = 20 * 1024 * 1024

#: One label of a host name (letters, digits, hyphens, underscores as some internal names use).
_HOST_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?")

#: Knobs ``PATCH /_sandbox/config`` (and ``SandboxServer.configure``) may change while the sandbox runs.
RUNTIME_KNOBS = frozenset(
    {
        "latency_ms",
        "latency_jitter_ms",
        "rate_limit",
        "rate_limit_window",
        "throttle_rate",
        "retry_after",
        "error_rate",
        "drop_rate",
        "lost_response_rate",
        "approve_after",
        "group_ttl",
        "document_ttl",
        "verification_code_ttl",
        "download_link_ttl",
    }
)


class SandboxConfig(BaseSettings):
    """Behaviour and fault knobs of the local Telnyx sandbox (env prefix ``SANDBOX_``)."""

    model_config = SettingsConfigDict(
        env_prefix="SANDBOX_", extra="ignore", validate_assignment=True, allow_inf_nan=False
    )

    seed: int = Field(default=0, description="Seeds ids, verification codes and fault draws.")
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Accepted Bearer keys (comma separated), on /v2 and on the /_sandbox admin routes; empty accepts "
            "any non-empty key on /v2 and leaves the admin routes open (allowed on loopback only)."
        ),
    )
    latency_ms: float = Field(default=0.0, ge=0, description="Mean added latency per /v2 request (ms).")
    latency_jitter_ms: float = Field(default=0.0, ge=0, description="Standard deviation of the latency (ms).")
    rate_limit: float = Field(
        default=0.0,
        ge=0,
        description="The account's limit, requests per second (x-ratelimit-* headers, 429 beyond); 0 = off.",
    )
    rate_limit_window: float = Field(
        default=1.0,
        ge=1,
        le=3600,
        description="Length of one rate-limit window (s); its limit is rate x window.",
    )
    throttle_rate: float = Field(default=0.0, ge=0, le=1, description="Share of requests answered 429.")
    retry_after: float = Field(default=1.0, ge=0, description="Retry-After (s) sent with throttled 429s.")
    error_rate: float = Field(default=0.0, ge=0, le=1, description="Share of requests answered 5xx.")
    drop_rate: float = Field(
        default=0.0, ge=0, le=1, description="Share of connections closed before handling."
    )
    lost_response_rate: float = Field(
        default=0.0, ge=0, le=1, description="Share of requests handled whose response is then lost."
    )
    approve_after: float = Field(default=2.0, ge=0, description="Review time of groups and documents (s).")
    group_ttl: float = Field(
        default=0.0, ge=0, description="Approved groups expire after this (s); 0 = never."
    )
    document_ttl: float = Field(default=1800.0, gt=0, description="Unlinked documents are deleted after (s).")
    verification_code_ttl: float = Field(
        default=600.0, gt=0, description="Verification codes expire after (s)."
    )
    download_link_ttl: float = Field(default=300.0, gt=0, description="download_link URLs work for (s).")
    persist_path: str | None = Field(default=None, description="SQLite file keeping state across restarts.")
    max_document_bytes: int = Field(
        default=DEFAULT_MAX_DOCUMENT_BYTES,
        gt=0,
        description="Largest document accepted (base64, multipart or fetched from a URL), in bytes.",
    )
    max_body_bytes: int | None = Field(
        default=None,
        gt=0,
        description="Largest request body (413 beyond); default: room for the largest document as base64.",
    )
    allow_private_urls: bool | None = Field(
        default=None,
        description=(
            "Whether documents may be fetched from loopback, private and link-local hosts; default: only "
            "when the sandbox listens on loopback."
        ),
    )
    url_fetch_timeout: float = Field(
        default=30.0, gt=0, description="Deadline of a whole document download from a URL (s)."
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Host names (comma separated, no scheme or port) a request's Host header may name besides "
            "127.0.0.1, localhost and [::1]; checked on loopback always, and beyond loopback when set."
        ),
    )
    public_base_url: str | None = Field(
        default=None,
        description=(
            "The URL clients reach the sandbox on, without /v2 (e.g. https://sandbox.example.com): download "
            "links are built on it, and its host is allowed; default: the address it listens on."
        ),
    )

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            # A blank key would count as "keys configured" while accepting nothing a client can send.
            stripped = (key.strip() if isinstance(key, str) else key for key in value)
            return [key for key in stripped if key != ""]
        return value

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            stripped = (host.strip() if isinstance(host, str) else host for host in value)
            return [normal_host(host) if isinstance(host, str) else host for host in stripped if host != ""]
        return value

    @field_validator("public_base_url")
    @classmethod
    def _check_public_base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        url = value.strip().rstrip("/")
        parts = urlsplit(url)
        try:
            _ = parts.port  # a ValueError when it is not a number
            normal_host(parts.hostname or "")  # it joins the Host allow-list
            readable = True
        except ValueError:
            readable = False
        if parts.scheme not in ("http", "https") or not readable or parts.username or parts.password:
            raise ValueError("public_base_url must be an http(s) URL with a host, e.g. http://127.0.0.1:4010")
        if parts.query or parts.fragment:
            raise ValueError("public_base_url takes no query string or fragment")
        if parts.path.endswith("/v2"):
            raise ValueError("public_base_url is the sandbox's root URL, without the /v2 of TELNYX_BASE_URL")
        return url

    @property
    def body_limit(self) -> int:
        """The request body limit in force: ``max_body_bytes``, or room for a base64 document in JSON."""
        if self.max_body_bytes is not None:
            return self.max_body_bytes
        return int(self.max_document_bytes * 1.4) + 64 * 1024

    @classmethod
    def from_flags(cls, **flags: Any) -> SandboxConfig:
        """CLI flags over ``SANDBOX_*`` env over defaults; flags left at ``None`` fall back to the env."""
        return cls(**{name: value for name, value in flags.items() if value is not None})

    def knobs(self) -> dict[str, Any]:
        """The run-time adjustable knobs and their current values."""
        return {name: getattr(self, name) for name in sorted(RUNTIME_KNOBS)}


def normal_host(host: str) -> str:
    """``host`` as the Host allow-list compares it: lower case, IPv6 without brackets; ``ValueError`` when it
    is not a bare host name or address (a scheme, port, path or space)."""
    name = host.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    labels = name.split(".")
    if not name or len(name) > 253 or not all(label and _HOST_LABEL.fullmatch(label) for label in labels):
        raise ValueError(
            f"allowed_hosts takes host names or addresses like sandbox.example.com, without scheme or port; "
            f"got {host.strip()[:80]!r}"
        )
    return name
