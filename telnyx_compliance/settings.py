"""Runtime settings, read from the environment (and an optional ``.env``) with pydantic-settings.

Every knob has a ``TELNYX_`` or ``COMPLIANCE_`` environment variable; see README "Configuration".
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from telnyx_compliance._base_client import DEFAULT_BASE_URL, MissingAPIKeyError
from telnyx_compliance._client import AsyncTelnyx
from telnyx_compliance._rate_limit import RateLimiter
from telnyx_compliance.onboarding.mapping import RequirementMapping

__all__ = [
    "DEFAULT_BASE_URL",
    "SANDBOX_API_KEY",
    "MissingAPIKeyError",
    "PipelineSettings",
    "TelnyxSettings",
    "is_local_url",
]

#: Key sent to a local sandbox when none is configured; the sandbox accepts any key by default.
SANDBOX_API_KEY = "sandbox"


def is_local_url(url: str) -> bool:
    """True for loopback hosts, where only the sandbox (or Prism) can be listening."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class TelnyxSettings(BaseSettings):
    """How to reach Telnyx, and how hard to push it."""

    model_config = SettingsConfigDict(env_prefix="TELNYX_", env_file=".env", extra="ignore")

    api_key: SecretStr | None = Field(default=None, description="Telnyx API v2 key (Bearer).")
    base_url: str = Field(default=DEFAULT_BASE_URL, description="Telnyx API base URL, with /v2.")
    allow_insecure_http: bool = Field(
        default=False,
        description="Allow a plain http:// base URL to a host other than this machine (a test server on a "
        "private network); the key then crosses the network in clear.",
    )
    timeout: float = Field(default=30.0, gt=0, description="Per-request timeout in seconds.")
    max_retries: int = Field(default=6, ge=0, description="Retries per request after the first attempt.")
    retry_max_wait: float = Field(default=30.0, gt=0, description="Cap on one wait between retries (s).")
    retry_total_timeout: float = Field(default=120.0, gt=0, description="Cap on one request's retries (s).")
    rate_limit: float | None = Field(
        default=None,
        gt=0,
        description="A cap on requests per second; unset, the client paces by Telnyx's rate-limit headers.",
    )
    max_concurrency: int | None = Field(
        default=None,
        ge=1,
        description="Rows in submission at once in a bulk run; unset, it follows the rate Telnyx allows.",
    )

    http_transport: Literal["aiohttp", "httpx"] = Field(
        default="aiohttp",
        description="The pool under httpx: aiohttp's (default, lighter per call) or httpcore's.",
    )
    max_connections: int = Field(
        default=100, ge=1, description="A cap on open connections; the pool opens them only on demand."
    )

    @model_validator(mode="after")
    def _require_key_for_real_api(self) -> TelnyxSettings:
        if self.api_key is None or not self.api_key.get_secret_value().strip():
            if not is_local_url(self.base_url):
                raise MissingAPIKeyError(
                    f"TELNYX_API_KEY is not set, and TELNYX_BASE_URL={self.base_url} is not a local sandbox. "
                    "Set TELNYX_API_KEY to your Telnyx API v2 key, or point TELNYX_BASE_URL at "
                    "`compliance sandbox` (http://127.0.0.1:4010/v2)."
                )
            self.api_key = SecretStr(SANDBOX_API_KEY)
        return self

    @property
    def api_key_value(self) -> str:
        """The key in clear, for the Authorization header only."""
        assert self.api_key is not None  # set by the validator
        return self.api_key.get_secret_value()

    def async_client(self, rate_limiter: RateLimiter | None = None) -> AsyncTelnyx:
        """An ``AsyncTelnyx`` with these settings; pass the limiter concurrent work should share."""
        return AsyncTelnyx(
            api_key=self.api_key_value,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.max_retries,
            retry_max_wait=self.retry_max_wait,
            retry_total_timeout=self.retry_total_timeout,
            rate_limiter=rate_limiter,
            allow_insecure_http=self.allow_insecure_http,
            transport=self.http_transport,
            max_connections=self.max_connections,
        )


class PipelineSettings(BaseSettings):
    """Knobs of the onboarding pipeline."""

    model_config = SettingsConfigDict(env_prefix="COMPLIANCE_", env_file=".env", extra="ignore")

    approval_poll_timeout: float = Field(
        default=300.0,
        ge=0,
        description="How long a flow polls a submitted group before handing it to reconcile (s).",
    )
    approval_poll_interval: float = Field(
        default=1.0,
        gt=0,
        description="Shortest wait between polls of groups under review (s); waits grow as reviews take "
        "longer, up to approval_poll_max_interval.",
    )
    approval_poll_max_interval: float = Field(default=60.0, gt=0)
    documents_base_dir: str | None = Field(
        default=None,
        description="Document paths in a CSV must resolve inside this folder (default: the CSV's).",
    )
    max_document_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    input_root: str | None = Field(
        default=None,
        description="The data folder of a deployment's runs: they read CSVs and documents and write results "
        "and state only inside it (default: data/ in the project folder, which `make install` creates; a "
        "relative path is taken relative to the project folder). The command line, run by the user, is not "
        "confined.",
    )
    reference_prefix: str = Field(default="tc", description="Prefix of every customer_reference we create.")
    mapping_path: str | None = Field(
        default=None,
        description="A YAML requirement mapping replacing the one shipped with the library "
        "(telnyx_compliance/onboarding/data/requirements.yaml).",
    )
    state_dir: str = Field(
        default=".state",
        description="Where state kept between runs lives (the requirements catalog's snapshots): a folder "
        "or a store URL (s3://bucket/compliance-state) shared by every worker.",
    )
    storage_roots: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Store prefixes (s3://bucket/onboarding) that runs of a deployment may read CSVs and "
        "documents from and write results to; a store URL outside them is refused. The command line, run by "
        "the user, is not confined. In the environment: comma-separated, or a JSON list.",
    )
    staging_dir: str | None = Field(
        default=None,
        description="Local folder for copies of CSVs, documents and results on a store, only this user's "
        "(created 0700; refused when it is a symlink or another user's). Default: "
        "$XDG_CACHE_HOME/telnyx-compliance/staging (~/.cache/…), or <tmp>/telnyx-compliance-<uid> when the "
        "home cannot be written.",
    )

    @field_validator("storage_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: Any) -> Any:
        """``s3://a/x,s3://b`` (the form ``.env`` files use) or a JSON list, blanks dropped."""
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
        if isinstance(value, list | tuple):
            stripped = (root.strip() if isinstance(root, str) else root for root in value)
            return [root for root in stripped if root != ""]
        return value

    def staging_path(self) -> Path | None:
        """:attr:`staging_dir` as a path (None: the default)."""
        return Path(self.staging_dir).expanduser() if self.staging_dir else None

    def mapping(self) -> RequirementMapping:
        """The requirement mapping these settings name (the library's own by default)."""
        return RequirementMapping.load(self.mapping_path)
