"""X.509 certificate chains for the ``x5u`` key binding of did:web keys.

Gaia-X binds a participant's JWK to a certificate chain published at the JWK's ``x5u`` URL: PEM certificates,
leaf first, ending in a root that the registry accepts as trust anchor (``shared/reference/gaiax.md``, key binding).
For development we issue leaf -> intermediate -> self-signed root ourselves; verification builds the path from the
leaf to one of the configured anchors and checks signatures, validity periods at ``now`` and that the leaf's key
is the JWK's key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from self_descriptions.errors import CertificateError, SelfDescriptionError
from self_descriptions.keys import (
    KeyPair,
    PrivateKey,
    PublicKey,
    generate_key,
    load_private_key_file,
    write_private_key_file,
)

MAX_CHAIN_LENGTH = 8


@dataclass(frozen=True)
class CertificateChain:
    """Leaf first, then intermediates, then the self-signed root (the order of an ``x5u`` PEM file)."""

    certificates: tuple[x509.Certificate, ...]

    @property
    def leaf(self) -> x509.Certificate:
        return self.certificates[0]

    @property
    def root(self) -> x509.Certificate:
        return self.certificates[-1]

    def to_pem(self) -> bytes:
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.certificates)


@dataclass(frozen=True)
class DevelopmentPki:
    """A development root CA and intermediate CA that can issue leaf certificates for participants."""

    root_key: KeyPair
    root: x509.Certificate
    intermediate_key: KeyPair
    intermediate: x509.Certificate

    def issue_leaf(
        self,
        subject_key: KeyPair,
        common_name: str,
        *,
        now: dt.datetime,
        days: int = 365,
        dns_names: Sequence[str] = (),
    ) -> CertificateChain:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        builder = (
            _base_builder(name, self.intermediate.subject, subject_key.public_key(), now, days)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        )
        if dns_names:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False
            )
        leaf = _sign(builder, self.intermediate_key.private_key())
        return CertificateChain((leaf, self.intermediate, self.root))


def create_development_pki(*, now: dt.datetime, name: str = "gxc development", days: int = 3650) -> DevelopmentPki:
    """A self-signed root and one intermediate, both ES256, for development and tests (never for production)."""
    root_key = generate_key("ES256")
    root_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{name} root CA"),
        ]
    )
    root = _sign(
        _base_builder(root_name, root_name, root_key.public_key(), now, days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_ca_key_usage(), critical=True),
        root_key.private_key(),
    )
    inter_key = generate_key("ES256")
    inter_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{name} intermediate CA"),
        ]
    )
    intermediate = _sign(
        _base_builder(inter_name, root_name, inter_key.public_key(), now, days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_key_usage(), critical=True),
        root_key.private_key(),
    )
    return DevelopmentPki(root_key, root, inter_key, intermediate)


def load_pem_certificates(data: bytes, *, source: str = "certificate chain") -> list[x509.Certificate]:
    """Parse one or more PEM certificates (leaf first); a file with none is an error."""
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise CertificateError(f"{source}: not a PEM certificate chain ({exc})") from exc
    if not certs:
        raise CertificateError(f"{source}: contains no certificate")
    return certs


def verify_chain(
    chain: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    *,
    now: dt.datetime,
    expected_key: PublicKey | None = None,
) -> x509.Certificate:
    """Validate ``chain`` (leaf first) up to one of ``anchors`` and return the anchor that was reached.

    Path building: starting at the leaf, each next certificate must be the issuer (name match and signature);
    the path ends when a certificate is itself an anchor or is issued by one (so chains with or without the root
    work). Every certificate on the path must be valid at ``now``; CA certificates must have ``BasicConstraints
    ca=True``. If ``expected_key`` is given, the leaf's public key must equal it (the JWK/certificate binding).
    Raises :class:`CertificateError` with the reason.
    """
    if not chain:
        raise CertificateError("empty certificate chain")
    if len(chain) > MAX_CHAIN_LENGTH:
        raise CertificateError(f"certificate chain longer than {MAX_CHAIN_LENGTH}")
    if not anchors:
        raise CertificateError("no trust anchors configured; add a root certificate with --trust-anchor")
    leaf = chain[0]
    if expected_key is not None and _spki(leaf.public_key()) != _spki(expected_key):
        raise CertificateError("the leaf certificate's public key is not the key published in the DID document")
    anchor_by_spki = {(_spki(a.public_key()), a.subject.rfc4514_string()): a for a in anchors}
    path = list(chain)
    for index, cert in enumerate(path):
        _check_validity(cert, now, index)
        if index > 0 and not _is_ca(cert):
            raise CertificateError(f"certificate {index} ({_cn(cert)}) is not a CA but issues certificate {index - 1}")
        anchor = anchor_by_spki.get((_spki(cert.public_key()), cert.subject.rfc4514_string()))
        if anchor is not None:
            return anchor
        for candidate in anchors:
            if candidate.subject == cert.issuer and _signed_by(cert, candidate.public_key()):
                _check_validity(candidate, now, index + 1)
                return candidate
        if index + 1 >= len(path):
            break
        issuer = path[index + 1]
        if issuer.subject != cert.issuer:
            raise CertificateError(
                f"certificate {index} ({_cn(cert)}) is issued by {cert.issuer.rfc4514_string()} but the next "
                f"certificate is {issuer.subject.rfc4514_string()}"
            )
        if not _signed_by(cert, issuer.public_key()):
            raise CertificateError(f"certificate {index} ({_cn(cert)}) has an invalid signature")
    raise CertificateError(f"the chain of {_cn(leaf)} does not lead to a configured trust anchor")


def _check_validity(cert: x509.Certificate, now: dt.datetime, index: int) -> None:
    if now < cert.not_valid_before_utc:
        raise CertificateError(f"certificate {index} ({_cn(cert)}) is not valid before {cert.not_valid_before_utc}")
    if now > cert.not_valid_after_utc:
        raise CertificateError(f"certificate {index} ({_cn(cert)}) expired at {cert.not_valid_after_utc}")


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _signed_by(cert: x509.Certificate, issuer_key: object) -> bool:
    try:
        if isinstance(issuer_key, rsa.RSAPublicKey):
            assert cert.signature_hash_algorithm is not None
            params = cert.signature_algorithm_parameters
            pad = params if isinstance(params, padding.PSS) else padding.PKCS1v15()
            issuer_key.verify(cert.signature, cert.tbs_certificate_bytes, pad, cert.signature_hash_algorithm)
        elif isinstance(issuer_key, ec.EllipticCurvePublicKey):
            assert cert.signature_hash_algorithm is not None
            issuer_key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        elif isinstance(issuer_key, ed25519.Ed25519PublicKey):
            issuer_key.verify(cert.signature, cert.tbs_certificate_bytes)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _spki(key: object) -> bytes:
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        return b""
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _cn(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _base_builder(
    subject: x509.Name, issuer: x509.Name, public_key: PublicKey, now: dt.datetime, days: int
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
    )


def _sign(builder: x509.CertificateBuilder, key: PrivateKey) -> x509.Certificate:
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm)


PKI_FILES = ("root-ca.pem", "root-ca.key.pem", "intermediate-ca.pem", "intermediate-ca.key.pem")


def save_development_pki(pki: DevelopmentPki, folder: Path) -> None:
    """Write the PKI's certificates (PEM) and keys (PKCS#8 PEM, 0600) to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "root-ca.pem").write_bytes(pki.root.public_bytes(serialization.Encoding.PEM))
    (folder / "intermediate-ca.pem").write_bytes(pki.intermediate.public_bytes(serialization.Encoding.PEM))
    write_private_key_file(pki.root_key, folder / "root-ca.key.pem")
    write_private_key_file(pki.intermediate_key, folder / "intermediate-ca.key.pem")


def load_development_pki(folder: Path) -> DevelopmentPki:
    """Read a PKI written by :func:`save_development_pki`; raises CertificateError naming a missing file."""
    missing = [name for name in PKI_FILES if not (folder / name).is_file()]
    if missing:
        raise CertificateError(f"{folder} is not a development CA folder (missing {', '.join(missing)})")
    try:
        root = load_pem_certificates((folder / "root-ca.pem").read_bytes(), source="root-ca.pem")[0]
        intermediate = load_pem_certificates((folder / "intermediate-ca.pem").read_bytes(), source="intermediate")[0]
        root_key = load_private_key_file(folder / "root-ca.key.pem")
        intermediate_key = load_private_key_file(folder / "intermediate-ca.key.pem")
    except SelfDescriptionError as exc:
        raise CertificateError(f"cannot load the development CA in {folder}: {exc.message}") from exc
    return DevelopmentPki(root_key, root, intermediate_key, intermediate)
