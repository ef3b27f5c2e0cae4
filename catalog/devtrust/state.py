"""The trust anchor's state folder: the data space CA, one key per issuer role, ``trust.toml`` and ``status.db``
(the credentials issued and their revocation/suspension status, :mod:`catalog.devtrust.status`)."""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from catalog.devtrust.status import DATABASE, StatusLists, StatusRegistry
from connector.errors import ConfigurationError
from connector.identity.participant import ParticipantIdentity
from self_descriptions.certificates import (
    DevelopmentPki,
    create_development_pki,
    load_development_pki,
    save_development_pki,
)
from self_descriptions.did import did_web_from_url
from self_descriptions.errors import SelfDescriptionError
from self_descriptions.keys import generate_key, load_private_key_file, write_private_key_file

ROLES = ("notary", "compliance", "federation")
CONFIG = "trust.toml"


@dataclass(frozen=True)
class TrustAnchor:
    """A loaded trust anchor: where it listens, its CA, its issuer identities and the operator key."""

    host: str
    port: int
    base_url: str
    dataspace: str
    operator_key: str
    pki: DevelopmentPki
    issuers: dict[str, ParticipantIdentity]
    state_dir: Path

    @property
    def root_pem(self) -> bytes:
        return self.pki.root.public_bytes(serialization.Encoding.PEM)

    def status_registry(self) -> StatusRegistry:
        """The record of issued credentials and their status (``status.db``, kept across restarts)."""
        return StatusRegistry(self.state_dir / DATABASE)

    def status_lists(self, registry: StatusRegistry) -> StatusLists:
        """The status lists each issuer role signs and serves at ``<role URL>/status/<purpose>``."""
        return StatusLists(registry, {role: (i.base_url, i.did, i.key, i.kid) for role, i in self.issuers.items()})

    def did(self, role: str) -> str:
        return self.issuers[role].did


def init_trust(
    state: Path,
    *,
    host: str,
    port: int,
    dataspace: str,
    now: dt.datetime,
    force: bool = False,
    public_url: str | None = None,
) -> Path:
    """Create the folder: ``pki/`` (CA), ``keys/<role>.key.pem`` + chain, and a commented ``trust.toml``."""
    config = state / CONFIG
    if config.exists() and not force:
        raise ConfigurationError(f"{config} already exists; use --force to create a new data space CA")
    pki = create_development_pki(now=now, name="gxc development data space")
    save_development_pki(pki, state / "pki")
    keys = state / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    os.chmod(keys, 0o700)
    for role in ROLES:
        key = generate_key("ES256")
        write_private_key_file(key, keys / f"{role}.key.pem")
        name = (public_url or f"http://{host}").split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)[0]
        chain = pki.issue_leaf(key, f"{role} (gxc development trust anchor)", now=now, dns_names=[name])
        (keys / f"{role}.chain.pem").write_bytes(chain.to_pem())
    operator_key = os.urandom(24).hex()
    config.write_text(
        f"""# gxc development trust anchor (gxc trust serve). Not for production.
host = "{host}"
port = {port}
# The base URL others use; it defines the issuers' did:web (e.g. did:web:trust%3A8100:notary).
{f'public_url = "{public_url}"' if public_url else '# public_url = "https://trust.example.com"'}
# The data space the federation issues memberships for (the value of MembershipCredential memberOf).
dataspace = "{dataspace}"
# Key for the operator endpoints (X-Api-Key), e.g. issuing memberships. Keep it secret.
operator_key = "{operator_key}"
""",
        encoding="utf-8",
    )
    os.chmod(config, 0o600)
    return config


def load_trust(state: Path) -> TrustAnchor:
    config = state / CONFIG
    try:
        values = tomllib.loads(config.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigurationError(f"{config} does not exist; create it with `gxc trust init`") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{config} is not valid TOML: {exc}") from exc
    try:
        host, port = str(values["host"]), int(values["port"])
        dataspace, operator_key = str(values["dataspace"]), str(values["operator_key"])
    except (KeyError, ValueError) as exc:
        raise ConfigurationError(f"{config}: missing or invalid setting {exc}") from exc
    try:
        pki = load_development_pki(state / "pki")
        base = str(values.get("public_url") or f"http://{host}:{port}").rstrip("/")
        issuers = {}
        for role in ROLES:
            key = load_private_key_file(state / "keys" / f"{role}.key.pem")
            chain = (state / "keys" / f"{role}.chain.pem").read_bytes()
            role_url = f"{base}/{role}"
            issuers[role] = ParticipantIdentity(
                did=did_web_from_url(role_url), key=key, chain_pem=chain, base_url=role_url
            )
    except SelfDescriptionError as exc:
        raise ConfigurationError(exc.message) from exc
    except FileNotFoundError as exc:
        raise ConfigurationError(
            f"{exc.filename} is missing; re-create the trust anchor with `gxc trust init`"
        ) from exc
    return TrustAnchor(host, port, base, dataspace, operator_key, pki, issuers, state)
