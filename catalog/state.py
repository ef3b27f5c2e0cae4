"""The catalogue's state folder and identity: did:web key, development PKI, trust anchors, commented config.

``gxc catalog init`` creates it like ``gxc init`` does for a connector: a signing key (0600), a development root
and the catalogue's certificate chain (published at the key's ``x5u``), and ``catalog.toml`` with every setting
explained. The catalogue signs with this identity: DCP self-issued ID tokens for DSP catalog requests (crawling),
its federation change feed, and the compliance credentials it issues on admission.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from catalog.errors import CatalogueConfigurationError
from catalog.settings import CONFIG_FILE_NAME, CatalogueSettings
from connector.identity.participant import ParticipantIdentity
from self_descriptions.certificates import create_development_pki, load_pem_certificates, verify_chain
from self_descriptions.did import did_web_from_url
from self_descriptions.errors import SelfDescriptionError
from self_descriptions.keys import Algorithm, generate_key, load_private_key_file, write_private_key_file


def init_catalogue(
    state_dir: Path,
    *,
    name: str,
    host: str,
    port: int,
    public_url: str | None,
    alg: Algorithm,
    now: dt.datetime,
    force: bool = False,
) -> Path:
    """Create the state folder (keys, dev PKI, ``catalog.toml``); refuses to replace a key unless ``force``."""
    keys_dir = state_dir / "keys"
    key_path = keys_dir / "catalogue.key.pem"
    config_path = state_dir / CONFIG_FILE_NAME
    if key_path.exists() and not force:
        raise CatalogueConfigurationError(f"{key_path} already exists; use --force to replace the catalogue identity")
    keys_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)
    pki = create_development_pki(now=now, name=f"{name} development")
    key = generate_key(alg)
    host_name = (public_url or f"http://{host}:{port}").split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)[0]
    chain = pki.issue_leaf(key, name, now=now, dns_names=[host_name.strip("[]")])
    write_private_key_file(key, key_path)
    write_private_key_file(pki.root_key, keys_dir / "root-ca.key.pem")
    (keys_dir / "catalogue.chain.pem").write_bytes(chain.to_pem())
    (keys_dir / "root-ca.pem").write_bytes(pki.root.public_bytes(serialization.Encoding.PEM))
    api_key = os.urandom(24).hex()
    config_path.write_text(_config_text(name, host, port, public_url, api_key), encoding="utf-8")
    os.chmod(config_path, 0o600)
    return config_path


def load_identity(settings: CatalogueSettings, *, now: dt.datetime) -> ParticipantIdentity:
    """The catalogue's key and chain; raises :class:`CatalogueConfigurationError` saying what to fix."""
    key_path = settings.path(settings.key_file)
    chain_path = settings.path(settings.certificate_chain_file)
    try:
        key = load_private_key_file(key_path)
    except SelfDescriptionError as exc:
        raise CatalogueConfigurationError(f"{exc.message} (run `gxc catalog init` or set key_file)") from exc
    try:
        chain_pem = chain_path.read_bytes()
    except FileNotFoundError as exc:
        raise CatalogueConfigurationError(
            f"certificate chain {chain_path} does not exist; run `gxc catalog init` or set certificate_chain_file"
        ) from exc
    try:
        chain = load_pem_certificates(chain_pem, source=str(chain_path))
        # The catalogue's own chain must at least end in the root written next to it (or a configured anchor).
        own_root = settings.path(Path("keys/root-ca.pem"))
        anchors = load_trust_anchors(settings) + (
            load_pem_certificates(own_root.read_bytes(), source=str(own_root)) if own_root.exists() else []
        )
        verify_chain(chain, anchors, now=now, expected_key=key.public_key())
    except SelfDescriptionError as exc:
        raise CatalogueConfigurationError(f"{chain_path}: {exc.message}") from exc
    return ParticipantIdentity(
        did=did_web_from_url(settings.base_url), key=key, chain_pem=chain_pem, base_url=settings.base_url
    )


def load_trust_anchors(settings: CatalogueSettings) -> list[x509.Certificate]:
    """The federation's root certificates (``trust_anchor_files``)."""
    anchors: list[x509.Certificate] = []
    for relative in settings.trust_anchor_files:
        path = settings.path(relative)
        try:
            anchors.extend(load_pem_certificates(path.read_bytes(), source=str(path)))
        except FileNotFoundError as exc:
            raise CatalogueConfigurationError(
                f"trust anchor file {path} does not exist; fix trust_anchor_files"
            ) from exc
        except SelfDescriptionError as exc:
            raise CatalogueConfigurationError(f"trust anchor file {path}: {exc.message}") from exc
    return anchors


def anchor_fingerprints(anchors: list[x509.Certificate]) -> list[str]:
    """SHA-256 fingerprints (hex) of the anchors, sorted: what a compliance report records as "checked against"."""
    return sorted(hashlib.sha256(a.public_bytes(serialization.Encoding.DER)).hexdigest() for a in anchors)


def _config_text(name: str, host: str, port: int, public_url: str | None, api_key: str) -> str:
    public = f'public_url = "{public_url}"' if public_url else '# public_url = "https://catalogue.example.com"'
    return f'''# gxc federated catalogue configuration, written by `gxc catalog init`.
# Every setting can also be set by an environment variable GXC_CATALOG_<NAME> (e.g. GXC_CATALOG_PORT=9000),
# which wins over this file (lists as JSON). Relative paths are relative to this folder.

name = "{_escape(name)}"

# Where the catalogue listens, and the base URL others use (it defines the catalogue's did:web).
host = "{host}"
port = {port}
{public}

# Database: SQLite in this folder by default; PostgreSQL with e.g.
# database_url = "postgresql://user@127.0.0.1:5432/catalog"

# The catalogue's own signing key and the certificate chain published at its x5u URL.
key_file = "keys/catalogue.key.pem"
certificate_chain_file = "keys/catalogue.chain.pem"

# --- The federation's trust framework (strict: nothing is admitted until you configure it) -------------
# Root certificates that participants' x5u chains must end in (PEM files). For a local demo add the
# root-ca.pem of each connector created with `gxc init`.
trust_anchor_files = []
# DIDs of notaries trusted for registration-number credentials.
trusted_notaries = []
# DIDs of compliance services whose compliance (label) credentials may be included in a presentation.
trusted_compliance_issuers = []
# Gaia-X shapes versions accepted ("25.11" Loire, "22.10" Tagus). Changing this re-verifies everything stored.
shapes_versions = ["25.11"]
# "automatic": compliant participants are admitted at once; "manual": they wait for `gxc catalog admit`.
admission_mode = "automatic"

# Keys for the operator API (X-Api-Key header; `gxc catalog list|admit|reject|revoke|report`). Keep them secret.
operator_api_keys = ["{api_key}"]

# --- Outbound requests (did:web, x5u, status lists, DSP crawling, peer catalogues) ----------------------
# Loopback/private addresses are refused unless allowed (a local demo on 127.0.0.1 needs both lines):
egress_allow_private = false
# did_web_http = true   # resolve did:web over plain HTTP: development on loopback only

# --- Discovery and federation ----------------------------------------------------------------------------
max_submission_bytes = 1048576
# Seconds to canonicalize one submitted JSON-LD document in a worker process, which is killed beyond it (a crafted
# document can make RDFC-1.0 run for hours); workers default to min(2, CPUs).
canonicalization_timeout_seconds = 5.0
# canonicalization_workers = 2
sparql_timeout_seconds = 5.0
sparql_max_results = 10000
# Crawl admitted members' DSP catalogs every N seconds (0: only on demand).
crawl_interval_seconds = 3600
# Re-verify every admitted participant every N seconds (0: only with `gxc catalog reverify`): signatures, chains,
# expiry and each credential's status list (W3C Bitstring Status List v1.0), so a revoked credential takes its
# holder out. An unreachable status list keeps the last verdict (an outage is not a revocation).
reverify_interval_seconds = 3600
# Seconds a fetched status list is reused (the list's own ttl may shorten it).
status_list_cache_seconds = 10
# Peer catalogues to follow (their signed change feeds are pulled; every credential is re-verified here).
# [[peers]]
# url = "https://other-catalogue.example.com"
federation_interval_seconds = 60

log_format = "json"
log_level = "info"
'''


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
