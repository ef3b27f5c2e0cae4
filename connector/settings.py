"""Connector configuration: a TOML file plus ``GXC_*`` environment variables (pydantic-settings).

Precedence, highest first: explicit overrides (CLI flags) > environment (``GXC_PORT=9000``, nested with ``__``)
> the TOML file (``gxc.toml`` in the state folder, written with comments by ``gxc init``) > defaults.
Relative paths in the file are resolved against the state folder. Nothing here is module-level: each process
builds its settings once with :func:`load_settings` and passes them to ``create_app(settings)``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from connector.errors import ConfigurationError

CONFIG_FILE_NAME = "gxc.toml"

_file_values: ContextVar[Mapping[str, Any] | None] = ContextVar("_file_values", default=None)


class _TomlValues(PydanticBaseSettingsSource):
    """The values read from the TOML file for this load (below the environment in precedence)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover - unused
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_file_values.get() or {})


class ConnectorSettings(BaseSettings):
    """Everything a connector process needs to know; see ``gxc init`` for a commented example file."""

    model_config = SettingsConfigDict(env_prefix="GXC_", env_nested_delimiter="__", extra="forbid")

    participant_name: str = Field(
        "Example Participant", description="Legal name of the participant, used in self-descriptions."
    )
    country_code: str = Field("DE", description="ISO 3166-1 country of the legal address (self-description).")
    vat_id: str | None = Field(None, description="VAT id a notary certifies (registration number credential).")
    notary_url: str | None = Field(None, description="Notary issuing registration-number credentials.")
    compliance_url: str | None = Field(
        None, description="Compliance service (GXDCH-like) issuing compliance credentials."
    )
    terms_file: Path | None = Field(
        None, description="Your service terms and conditions (text); served at /terms and hashed into offerings."
    )
    catalog_urls: list[str] = Field(
        default_factory=list, description="Federated catalogues to publish the self-description to."
    )
    state_dir: Path = Field(Path(".gxc/connector"), description="Folder holding keys, database and config.")
    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8181, ge=0, le=65535, description="TCP port to listen on (0 picks a free port).")
    public_url: str | None = Field(
        None,
        description="Base URL peers use to reach this connector (defines the did:web). Default: http://host:port.",
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: SQLite file connector.db in the state folder."
    )
    key_file: Path = Field(Path("keys/participant.key.pem"), description="PEM private key (0600).")
    certificate_chain_file: Path = Field(
        Path("keys/participant.chain.pem"), description="PEM chain served at the key's x5u URL, leaf first."
    )
    trust_anchor_files: list[Path] = Field(
        default_factory=lambda: [Path("keys/root-ca.pem")], description="PEM roots trusted for x5u chains."
    )
    management_api_key: SecretStr | None = Field(
        None, description="Key for the management API (X-Api-Key header). Required to use the management API."
    )
    trusted_issuers: list[str] = Field(
        default_factory=list,
        description="DIDs whose credentials about others are trusted (federation, notaries, compliance services).",
    )
    egress_allow_private: bool = Field(
        False,
        description="Allow outbound requests to loopback/private addresses (development on one machine only).",
    )
    egress_allowed_networks: list[str] = Field(
        default_factory=list, description="CIDR ranges allowed for outbound requests even when private."
    )
    credentials_dir: Path = Field(
        Path("credentials"), description="Folder of VC-JWT files (*.jwt) this participant holds and presents."
    )
    auto_agree: bool = Field(True, description="Agree automatically when the contract policy permits.")
    auto_start_transfers: bool = Field(True, description="Start transfers automatically when the policy permits.")
    auto_accept_offers: bool = Field(False, description="As consumer, accept provider counter-offers automatically.")
    outbox_lease_seconds: float = Field(
        30.0,
        gt=0,
        description="How long a worker owns an outbound message it is sending; after a crash, others resend then.",
    )
    usage_monitor_seconds: float = Field(
        5.0,
        gt=0,
        description="How often running transfers are re-evaluated against their agreement (window, count, claims); "
        "a transfer that no longer holds is terminated.",
    )
    tck: bool = Field(
        False, description="TCK mode: seed the DSP TCK's ids and script its scenarios (docs/tck.md). Tests only."
    )
    tck_reaction_delay_ms: int = Field(
        500, ge=100, description="TCK mode: delay of each scripted reaction (the TCK updates its state late)."
    )
    tck_authorization: str = Field(
        '{"region": "any", "audience": "any", "clientId": "any"}',
        description="TCK mode: the static Authorization header the TCK sends (accepted as the TCK participant).",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = Field("json", description="Structured JSON logs or human console lines.")
    contexts: dict[str, Path] = Field(
        default_factory=dict, description="Extra JSON-LD contexts allowed offline: URL -> local file."
    )

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

    # -- derived values ------------------------------------------------------------------------------------------

    def path(self, relative: Path) -> Path:
        """A configured path, resolved against the state folder when relative."""
        return relative if relative.is_absolute() else self.state_dir / relative

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def dataplane_url(self) -> str:
        """Public base URL of the data plane (pull endpoints)."""
        return self.base_url + "/public"

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.path(Path('connector.db'))}"


def load_settings(config_file: Path | None = None, **overrides: Any) -> ConnectorSettings:
    """Build settings from ``config_file`` (optional), the environment and ``overrides``.

    Raises :class:`ConfigurationError` with one line saying what to fix (malformed TOML, unknown key, bad value).
    """
    values: dict[str, Any] = {}
    if config_file is not None:
        values = _read_toml(config_file)
        # The state folder defaults to the config file's folder; a relative one is relative to that folder.
        base = config_file.parent.resolve()
        values["state_dir"] = str(base / values["state_dir"]) if "state_dir" in values else str(base)
    token = _file_values.set(values)
    try:
        return ConnectorSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise ConfigurationError(_describe(exc, config_file)) from exc
    finally:
        _file_values.reset(token)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigurationError(f"config file {path} does not exist; create one with `gxc init`") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"config file {path} is not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigurationError(f"cannot read config file {path}: {exc.strerror}") from exc


def _describe(exc: ValidationError, config_file: Path | None) -> str:
    where = f" in {config_file}" if config_file else ""
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(settings)"
        msg = "unknown setting" if err["type"] == "extra_forbidden" else err["msg"]
        problems.append(f"{loc}: {msg} (or GXC_{loc.upper().replace('.', '__')})")
    return f"invalid configuration{where}: " + "; ".join(problems)
