"""The participant's own identity: private key, x5u certificate chain and did:web DID document.

``gxc init`` creates it (a development PKI: self-signed root -> intermediate -> leaf for the participant key);
``load_identity`` reads it back at start-up and fails with one clear line when something is missing or
inconsistent (key file absent, chain not matching the key), before any socket is opened.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from connector.errors import ConfigurationError
from connector.settings import ConnectorSettings
from self_descriptions.certificates import (
    CertificateChain,
    DevelopmentPki,
    create_development_pki,
    load_pem_certificates,
    verify_chain,
)
from self_descriptions.did import ServiceEndpoint, VerificationKey, build_did_document, did_web_from_url
from self_descriptions.errors import SelfDescriptionError
from self_descriptions.keys import (
    Algorithm,
    KeyPair,
    generate_key,
    load_private_key_file,
    write_private_key_file,
)

#: Path (under the connector's base URL) where the x5u certificate chain is served.
X5U_PATH = "/.well-known/x5u/participant.chain.pem"
KEY_FRAGMENT = "key-1"


@dataclass(frozen=True)
class ParticipantIdentity:
    """The loaded identity: DID, signing key, and the PEM chain published at the key's ``x5u``."""

    did: str
    key: KeyPair
    chain_pem: bytes
    base_url: str

    @property
    def kid(self) -> str:
        return f"{self.did}#{KEY_FRAGMENT}"

    @property
    def x5u(self) -> str:
        return self.base_url + X5U_PATH

    def did_document(self, services: list[ServiceEndpoint] | None = None) -> dict[str, Any]:
        key = VerificationKey(KEY_FRAGMENT, self.key.public_jwk(kid=self.kid, x5u=self.x5u))
        return build_did_document(self.did, [key], services or [])


def load_identity(settings: ConnectorSettings, *, now: dt.datetime) -> ParticipantIdentity:
    """Load key and chain from the state folder; raises :class:`ConfigurationError` saying what to fix."""
    key_path = settings.path(settings.key_file)
    chain_path = settings.path(settings.certificate_chain_file)
    try:
        key = load_private_key_file(key_path)
    except SelfDescriptionError as exc:
        raise ConfigurationError(exc.message) from exc
    try:
        chain_pem = chain_path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigurationError(
            f"certificate chain {chain_path} does not exist; run `gxc init` or set certificate_chain_file"
        ) from exc
    try:
        chain = load_pem_certificates(chain_pem, source=str(chain_path))
        anchors = [c for p in settings.trust_anchor_files for c in _read_anchor(settings.path(p))]
        verify_chain(chain, anchors, now=now, expected_key=key.public_key())
    except SelfDescriptionError as exc:
        raise ConfigurationError(f"{chain_path}: {exc.message}") from exc
    base_url = settings.base_url
    return ParticipantIdentity(did=did_web_from_url(base_url), key=key, chain_pem=chain_pem, base_url=base_url)


def _read_anchor(path: Path) -> list[Any]:
    try:
        return load_pem_certificates(path.read_bytes(), source=str(path))
    except FileNotFoundError as exc:
        raise ConfigurationError(f"trust anchor file {path} does not exist; fix trust_anchor_files") from exc


def init_participant(
    state_dir: Path,
    *,
    participant_name: str,
    host: str,
    port: int,
    public_url: str | None,
    alg: Algorithm,
    now: dt.datetime,
    force: bool = False,
    pki: DevelopmentPki | None = None,
    settings: Mapping[str, Any] | None = None,
) -> Path:
    """Create a participant state folder: key (0600), certificate chain, and a commented ``gxc.toml``.

    The chain is issued by ``pki`` (a data space's shared development CA, so participants trust each other) or,
    without one, by a fresh development PKI of the participant's own. Refuses to overwrite an existing folder's key
    unless ``force``; ``settings`` are further configuration values written into the file (replacing the
    commented defaults). Returns the config file path.
    """
    keys_dir = state_dir / "keys"
    config_path = state_dir / "gxc.toml"
    key_path = keys_dir / "participant.key.pem"
    if key_path.exists() and not force:
        raise ConfigurationError(f"{key_path} already exists; use --force to replace this participant's identity")
    keys_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)
    own_pki = pki is None
    if pki is None:
        pki = create_development_pki(now=now, name=f"{participant_name} development")
    key = generate_key(alg)
    host_name = (public_url or f"http://{host}:{port}").split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)[0]
    chain: CertificateChain = pki.issue_leaf(key, participant_name, now=now, dns_names=[host_name.strip("[]")])
    write_private_key_file(key, key_path)
    if own_pki:
        write_private_key_file(pki.root_key, keys_dir / "root-ca.key.pem")
    (keys_dir / "participant.chain.pem").write_bytes(chain.to_pem())
    (keys_dir / "root-ca.pem").write_bytes(pki.root.public_bytes(serialization.Encoding.PEM))
    api_key = os.urandom(24).hex()
    text = _config_text(participant_name, host, port, public_url, api_key)
    config_path.write_text(with_settings(text, settings or {}), encoding="utf-8")
    os.chmod(config_path, 0o600)
    return config_path


def _config_text(name: str, host: str, port: int, public_url: str | None, api_key: str) -> str:
    public = f'public_url = "{public_url}"' if public_url else '# public_url = "https://connector.example.com"'
    return f'''# gxc connector configuration, written by `gxc init`.
# Every setting can also be set by an environment variable GXC_<NAME> (e.g. GXC_PORT=9000),
# which wins over this file. Relative paths are relative to this folder.

# Legal name of the participant (used in its Gaia-X self-description).
participant_name = "{_escape(name)}"

# Where the connector listens. Use 0.0.0.0 only behind a TLS-terminating proxy.
host = "{host}"
port = {port}

# The base URL peers use to reach this connector. It defines the participant's DID (did:web):
# http://127.0.0.1:8181 -> did:web:127.0.0.1%3A8181. Real deployments need https and a public host name.
{public}

# Database: SQLite in this folder by default; PostgreSQL with e.g.
# database_url = "postgresql+asyncpg://user@127.0.0.1:5432/gxc"

# The participant's signing key (PEM, keep it 0600) and the certificate chain published at the key's x5u URL.
key_file = "keys/participant.key.pem"
certificate_chain_file = "keys/participant.chain.pem"
# Root certificates trusted for x5u chains (the development root created by `gxc init`).
trust_anchor_files = ["keys/root-ca.pem"]

# DIDs whose credentials about other participants are trusted (your federation operator, notaries).
trusted_issuers = []

# Outbound requests (DID documents, peers, data sources) to loopback/private addresses are refused unless
# allowed here. true is only for a development data space on one machine.
egress_allow_private = {"true" if _is_local(host, public_url) else "false"}

# Key for the management API (send it as the X-Api-Key header). Keep it secret.
management_api_key = "{api_key}"

# Logs: "json" (structured, one object per line) or "console"; level: debug, info, warning, error.
log_format = "json"
log_level = "info"

# Extra JSON-LD contexts allowed offline (URL -> local file); contexts are never fetched from the network.
# [contexts]
# "https://example.com/my-context.jsonld" = "contexts/my-context.jsonld"
'''


def with_settings(text: str, values: Mapping[str, Any]) -> str:
    """``text`` (a TOML file without tables) with ``values`` set: an existing ``key = ...`` line is replaced,
    others are appended."""
    lines = text.splitlines()
    for key, value in values.items():
        line = f"{key} = {toml_value(value)}"
        index = next((i for i, existing in enumerate(lines) if existing.split(" =", 1)[0] == key), None)
        if index is None:
            lines.append(line)
        else:
            lines[index] = line
    return "\n".join(lines) + "\n"


def toml_value(value: Any) -> str:
    """A TOML literal for a string, bool, number or list of those."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return '"' + _escape(str(value)) + '"'


def _is_local(host: str, public_url: str | None) -> bool:
    target = (public_url or host).split("//", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
    return target in ("127.0.0.1", "localhost", "::1") or target.startswith("127.")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
