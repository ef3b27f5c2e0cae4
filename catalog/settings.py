"""Catalogue configuration: a TOML file plus ``GXC_CATALOG_*`` environment variables (pydantic-settings).

Precedence, highest first: explicit overrides (CLI flags) > environment (``GXC_CATALOG_PORT=9000``; lists as JSON,
``GXC_CATALOG_TRUSTED_NOTARIES='["did:web:notary.example"]'``) > the TOML file (``catalog.toml``, written with comments
by ``gxc catalog init``) > defaults. Relative paths are resolved against the state folder. Nothing is module-level:
``load_settings`` builds one object per process, passed to ``create_catalog_app(settings)``.
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from catalog.errors import CatalogueConfigurationError

CONFIG_FILE_NAME = "catalog.toml"
ENV_PREFIX = "GXC_CATALOG_"

_file_values: ContextVar[Mapping[str, Any] | None] = ContextVar("_catalog_file_values", default=None)


class _TomlValues(PydanticBaseSettingsSource):
    """The values read from the TOML file for this load (below the environment in precedence)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover - unused
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_file_values.get() or {})


class PeerCatalogue(BaseModel):
    """A peer catalogue this one follows: its base URL and (optionally) its DID; default: did:web of the URL."""

    model_config = {"extra": "forbid"}

    url: str
    did: str | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")


class CatalogueSettings(BaseSettings):
    """Everything a catalogue process needs; ``gxc catalog init`` writes a commented example file."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid")

    name: str = Field("Example Federation Catalogue", description="Shown in the DSP catalog of catalogs.")
    state_dir: Path = Field(Path(".gxc/catalog"), description="Folder holding keys, database and config.")
    host: str = "127.0.0.1"
    port: int = Field(8282, ge=0, le=65535)
    public_url: str | None = Field(None, description="Base URL others use; defines the catalogue's did:web.")
    database_url: str | None = Field(None, description="sqlite:///path or postgresql://...; default catalog.db.")
    key_file: Path = Path("keys/catalogue.key.pem")
    certificate_chain_file: Path = Path("keys/catalogue.chain.pem")

    # --- the federation's trust framework -------------------------------------------------------------------
    trust_anchor_files: list[Path] = Field(
        default_factory=list, description="PEM root certificates participants' x5u chains must end in."
    )
    trusted_notaries: list[str] = Field(default_factory=list, description="DIDs of notaries (registration numbers).")
    trusted_compliance_issuers: list[str] = Field(
        default_factory=list, description="DIDs whose compliance (label) credentials are accepted inside a VP."
    )
    shapes_versions: list[Literal["25.11", "22.10"]] = Field(default_factory=lambda: ["25.11"])  # type: ignore[arg-type]
    admission_mode: Literal["automatic", "manual"] = Field(
        "automatic", description="automatic: compliant submissions are admitted; manual: they wait for an operator."
    )
    operator_api_keys: list[SecretStr] = Field(default_factory=list, description="Keys for X-Api-Key (operator API).")

    # --- egress (SSRF guard) and did:web --------------------------------------------------------------------
    egress_allow_private: bool = Field(False, description="Allow loopback/private targets (development only).")
    egress_allowed_networks: list[str] = Field(default_factory=list)
    did_web_http: bool = Field(False, description="Resolve did:web over plain HTTP (development on loopback only).")

    # --- limits and schedules -------------------------------------------------------------------------------
    max_submission_bytes: int = Field(1_048_576, ge=1024)
    canonicalization_timeout_seconds: float = Field(
        5.0,
        gt=0,
        description="Budget to canonicalize one submitted JSON-LD document (RDFC-1.0 §7.1 dataset poisoning); the "
        "worker process doing it is killed beyond it and the submission fails with canonicalization-timeout.",
    )
    canonicalization_workers: int | None = Field(
        None, ge=1, le=64, description="Canonicalization worker processes; default min(2, CPUs)."
    )
    sparql_timeout_seconds: float = Field(5.0, gt=0)
    sparql_max_results: int = Field(10_000, ge=1)
    crawl_interval_seconds: float = Field(3600.0, ge=0, description="0 disables periodic crawling.")
    crawl_max_pages: int = Field(20, ge=1)
    peers: list[PeerCatalogue] = Field(default_factory=list)
    federation_interval_seconds: float = Field(60.0, ge=0, description="0 disables periodic pulling.")
    federation_page_size: int = Field(100, ge=1, le=1000)
    expiry_sweep_seconds: float = Field(60.0, ge=0)
    reverify_interval_seconds: float = Field(
        3600.0,
        ge=0,
        description="Re-verify every stored presentation every N seconds (0: only on demand and when the trust "
        "framework changes); this is when a credential its issuer revoked or suspended since admission is noticed.",
    )
    status_list_cache_seconds: float = Field(
        10.0,
        ge=0,
        description="How long a fetched status list (W3C Bitstring Status List v1.0) is reused; a list's own ttl "
        "may shorten it. Bounds how late a re-verification can see a revocation.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"
    contexts: dict[str, Path] = Field(default_factory=dict, description="Extra JSON-LD contexts: URL -> file.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, dotenv_settings, _TomlValues(settings_cls), file_secret_settings)

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("egress_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network)  # ValueError names the bad entry
        return value

    def path(self, relative: Path) -> Path:
        return relative if relative.is_absolute() else self.state_dir / relative

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.path(Path('catalog.db'))}"

    def api_key_values(self) -> list[str]:
        return [k.get_secret_value() for k in self.operator_api_keys if k.get_secret_value()]


def load_settings(config_file: Path | None = None, **overrides: Any) -> CatalogueSettings:
    """Settings from ``config_file``, the environment and ``overrides``; one-line :class:`ConfigurationError`."""
    values: dict[str, Any] = {}
    if config_file is not None:
        values = _read_toml(config_file)
        base = config_file.parent.resolve()
        values["state_dir"] = str(base / values["state_dir"]) if "state_dir" in values else str(base)
    token = _file_values.set(values)
    try:
        return CatalogueSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise CatalogueConfigurationError(_describe(exc, config_file)) from exc
    finally:
        _file_values.reset(token)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise CatalogueConfigurationError(
            f"config file {path} does not exist; create one with `gxc catalog init`"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueConfigurationError(f"config file {path} is not valid TOML: {exc}") from exc
    except OSError as exc:
        raise CatalogueConfigurationError(f"cannot read config file {path}: {exc.strerror}") from exc


def _describe(exc: ValidationError, config_file: Path | None) -> str:
    where = f" in {config_file}" if config_file else ""
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(settings)"
        msg = "unknown setting" if err["type"] == "extra_forbidden" else err["msg"]
        top = str(err["loc"][0]).upper() if err["loc"] else ""
        problems.append(f"{loc}: {msg} (or {ENV_PREFIX}{top})")
    return f"invalid configuration{where}: " + "; ".join(problems)
