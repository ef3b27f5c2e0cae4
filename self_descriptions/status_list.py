"""Credential revocation and suspension with the W3C Bitstring Status List v1.0 (W3C Recommendation, 2025).

ICAM 25.11 adopts this mechanism for Gaia-X (``gaiax.md`` §9.3, §12.17). A credential names its status in
``credentialStatus``: one or more ``BitstringStatusListEntry`` objects (§2.1) with a ``statusPurpose``, a
``statusListIndex`` and the URL of a ``BitstringStatusListCredential`` (§2.2). That status list credential is signed
by its issuer like any credential (here: a VC-JWT, as the credentials it governs, §3.6); its subject, a
``BitstringStatusList``, carries ``encodedList``: multibase base64url (``u`` prefix, no padding) of the GZIP-compressed
bitstring, at least 131,072 bits, index 0 at the left-most (most significant) bit of the first byte (§2.2, §7.1).

This module is sans-IO (house rule 1): status lists are obtained through the injected :class:`StatusListFetcher`
(offline: :class:`OfflineStatusListFetcher`; HTTP with the SSRF guard: ``connector.identity.status_lists``), time is
``ctx.now``, and the status list credential is verified with the same machinery and DID resolver as credentials
(:func:`self_descriptions.verify.assess_credential`). :func:`check_status` is the validate algorithm of §3.2 with
these additional rules of ours:

- the status list must be issued by the credential's issuer. §2.2 allows another issuer, but §3.2 ("Issuer
  validation is use case dependent") leaves the trust decision to the verifier: without a configured delegation,
  only the credential's issuer may revoke it, or anyone could publish a list "revoking" others' credentials;
- a status list credential whose ``id`` is not the URL it was fetched from is refused (§2.2 lets ``id`` match the
  entry's ``statusListCredential``): otherwise another list of the same issuer could be substituted;
- the decompressed bitstring is capped (a GZIP "bomb" of a few hundred kilobytes expands to gigabytes);
- only ``revocation`` and ``suspension`` entries decide validity; ``refresh`` and ``message`` do not (§2.1);
- the predecessor format, the W3C CCG's StatusList2021 (``StatusList2021Entry``, ``StatusList2021Credential`` with a
  ``StatusList2021`` subject, ``encodedList`` plain base64 in its earlier drafts), is read the same way: VC 1.1 era
  issuers (Tagus, Catena-X, EDC's identity hub) still emit it, and its bits mean exactly the same;
- a ``credentialStatus`` of another type cannot be checked and fails closed (``unsupported-status``).

Errors carry the §3.5 error type in :attr:`StatusError.spec_error` (``STATUS_RETRIEVAL_ERROR``, …); their ``code`` is
the project's stable kebab-case identifier.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import gzip
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Protocol

from self_descriptions.errors import SelfDescriptionError
from self_descriptions.proofs.vc_jwt import CREDENTIALS_V2, format_datetime
from self_descriptions.verify import (
    CredentialAssessment,
    VerificationContext,
    VerificationError,
    assess_credential,
    parse_input,
)

STATUS_LIST_CREDENTIAL = "BitstringStatusListCredential"
STATUS_LIST = "BitstringStatusList"
STATUS_ENTRY = "BitstringStatusListEntry"
#: The W3C CCG StatusList2021 names of the same three things (read, never written).
LEGACY_LIST_CREDENTIAL = "StatusList2021Credential"
LEGACY_LIST = "StatusList2021"
LEGACY_ENTRY = "StatusList2021Entry"
#: §3.2 step 2 ``minimumNumberOfEntries`` (§2.2: "at least 16KB"): herd privacy, §6.1.
MIN_ENTRIES = 131_072
#: Largest decompressed bitstring accepted: 2 MiB = 16,777,216 one-bit entries. The cap is the decompression-bomb
#: guard; an issuer with more credentials uses several lists.
MAX_BITSTRING_BYTES = 2 * 1024 * 1024
#: Largest ``statusSize`` accepted (§2.1 "integer greater than zero"); 8 bits = 256 status messages.
MAX_STATUS_SIZE = 8
#: §3.5: problem types are this URL followed by the error name.
ERROR_TYPE_BASE = "https://www.w3.org/ns/credentials/status-list#"
#: Clock skew tolerated on a status list credential's validity window (it is fetched during a verification).
STATUS_LIST_LEEWAY = dt.timedelta(seconds=60)
#: The purposes that make a credential unacceptable when their bit is set (§2.1).
CHECKED_PURPOSES = ("revocation", "suspension")

StatusOutcome = Literal["valid", "revoked", "suspended"]

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,39}")


class StatusError(SelfDescriptionError):
    """A credential's status cannot be established (Bitstring Status List v1.0 §3.5)."""

    code = "status-error"
    spec_error = "STATUS_VERIFICATION_ERROR"

    @property
    def type_url(self) -> str:
        """The §3.5 problem type, for RFC 9457 bodies."""
        return ERROR_TYPE_BASE + self.spec_error


class StatusRetrievalError(StatusError):
    """§3.2 step 4: the status list credential could not be dereferenced."""

    code = "status-retrieval-error"
    spec_error = "STATUS_RETRIEVAL_ERROR"


class StatusVerificationError(StatusError):
    """§3.2 steps 4-5: the status list credential does not verify, or does not fit the entry (issuer, purpose)."""

    code = "status-verification-error"
    spec_error = "STATUS_VERIFICATION_ERROR"


class StatusListLengthError(StatusError):
    """§3.2 step 9: fewer entries than ``minimumNumberOfEntries``; also a bitstring above our cap."""

    code = "status-list-length-error"
    spec_error = "STATUS_LIST_LENGTH_ERROR"


class StatusRangeError(StatusError):
    """§3.2 step 10: ``statusListIndex`` x ``statusSize`` lies outside the bitstring."""

    code = "status-range-error"
    spec_error = "RANGE_ERROR"


class MalformedStatusError(StatusError):
    """§3: a property violates a MUST of §2 (MALFORMED_VALUE_ERROR)."""

    code = "malformed-status"
    spec_error = "MALFORMED_VALUE_ERROR"


# --- the bitstring ------------------------------------------------------------------------------------------


class Bitstring:
    """A status bitstring. Index 0 is the left-most, most significant bit of the first byte (§2.2, §7.1)."""

    __slots__ = ("_data",)

    def __init__(self, data: bytes | bytearray) -> None:
        self._data = bytearray(data)

    @classmethod
    def zeros(cls, length: int = MIN_ENTRIES) -> Bitstring:
        """All-zero bitstring of ``length`` bits (rounded up to whole bytes; §3.3 step 1, minimum 16 KB)."""
        if length < 1:
            raise ValueError("a bitstring has at least one bit")
        return cls(bytes((length + 7) // 8))

    @property
    def length(self) -> int:
        return len(self._data) * 8

    def get(self, index: int, size: int = 1) -> int:
        """The status value of entry ``index`` (``size`` bits from bit ``index * size``, most significant first)."""
        start = self._start(index, size)
        value = 0
        for bit in range(start, start + size):
            value = (value << 1) | ((self._data[bit >> 3] >> (7 - (bit & 7))) & 1)
        return value

    def set(self, index: int, value: int = 1, size: int = 1) -> None:
        """Set entry ``index`` to ``value`` (§3.3 step 2)."""
        if not 0 <= value < (1 << size):
            raise ValueError(f"status value {value} does not fit in {size} bits")
        start = self._start(index, size)
        for offset in range(size):
            bit = start + offset
            mask = 1 << (7 - (bit & 7))
            if (value >> (size - 1 - offset)) & 1:
                self._data[bit >> 3] |= mask
            else:
                self._data[bit >> 3] &= ~mask & 0xFF

    def _start(self, index: int, size: int) -> int:
        start = index * size
        if index < 0 or start + size > self.length:
            raise StatusRangeError(
                f"status index {index} (statusSize {size}) is outside the {self.length}-bit status list"
            )
        return start

    def to_bytes(self) -> bytes:
        return bytes(self._data)

    def encode(self) -> str:
        """``encodedList``: ``u`` + base64url without padding of the GZIP-compressed bitstring (§2.2, §3.3 step 3).

        ``mtime=0`` keeps the output a function of the bits alone, so an unchanged list encodes identically.
        """
        compressed = gzip.compress(bytes(self._data), mtime=0)
        return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")

    @classmethod
    def decode(cls, encoded: Any, *, max_bytes: int = MAX_BITSTRING_BYTES, legacy: bool = False) -> Bitstring:
        """The Bitstring Expansion Algorithm (§3.4), refusing more than ``max_bytes`` of decompressed output.

        ``legacy`` (a StatusList2021 list) also accepts plain base64 without the multibase prefix, as its earlier
        drafts wrote it: GZIP output always starts ``H4sI`` in base64, so the ``u`` prefix is unambiguous."""
        if legacy and isinstance(encoded, str) and not encoded.startswith("u"):
            body = encoded.rstrip("=").replace("+", "-").replace("/", "_")
        elif not isinstance(encoded, str) or not encoded.startswith("u"):
            raise MalformedStatusError("encodedList must be a multibase base64url string (starting with 'u'), §2.2")
        else:
            body = encoded[1:]
        if not _BASE64URL.fullmatch(body) or len(body) % 4 == 1:
            raise MalformedStatusError("encodedList is not base64url without padding (§2.2)")
        try:
            compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError) as exc:
            raise MalformedStatusError(f"encodedList is not base64url: {exc}") from exc
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # GZIP framing only (RFC 1952)
        try:
            data = inflater.decompress(compressed, max_bytes + 1)
        except zlib.error as exc:
            raise MalformedStatusError(f"encodedList is not GZIP-compressed (RFC 1952): {exc}") from exc
        if len(data) > max_bytes:
            raise StatusListLengthError(
                f"the status list decompresses to more than {max_bytes} bytes; refusing it (decompression bomb guard)",
                code="status-list-too-large",
            )
        if not inflater.eof:
            raise MalformedStatusError("encodedList is a truncated GZIP stream")
        if inflater.unused_data:
            raise MalformedStatusError("encodedList has data after the GZIP stream")
        return cls(data)


# --- entries (§2.1) -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusEntry:
    """One ``BitstringStatusListEntry`` of a credential (§2.1)."""

    purpose: str
    index: int
    list_url: str
    size: int = 1
    id: str | None = None


def status_entry(list_url: str, index: int, purpose: str) -> dict[str, Any]:
    """A ``credentialStatus`` entry for an issuer (§2.1); its ``id`` is not the list's URL, as §2.1 requires."""
    return {
        "id": f"{list_url}#{index}",
        "type": STATUS_ENTRY,
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def status_entries(credential: Mapping[str, Any]) -> list[StatusEntry]:
    """The ``BitstringStatusListEntry`` entries of ``credentialStatus`` (one object or an array).

    Raises :class:`MalformedStatusError` for an entry violating §2.1 and ``unsupported-status`` for another status
    mechanism (it cannot be checked, so the credential's status is unknown rather than "valid").
    """
    raw = credential.get("credentialStatus")
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    entries: list[StatusEntry] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise MalformedStatusError("a credentialStatus entry is not an object")
        types = _strings(item.get("type"))
        if STATUS_ENTRY not in types and LEGACY_ENTRY not in types:
            raise StatusVerificationError(
                f"credentialStatus of type {types or 'none'} cannot be checked; only {STATUS_ENTRY} "
                f"(W3C Bitstring Status List v1.0) and {LEGACY_ENTRY} are supported",
                code="unsupported-status",
            )
        entries.append(_entry(item))
    return entries


def _entry(item: Mapping[str, Any]) -> StatusEntry:
    purpose = item.get("statusPurpose")
    if not isinstance(purpose, str) or not purpose:
        raise MalformedStatusError("statusPurpose of a BitstringStatusListEntry must be a string (§2.1)")
    index = item.get("statusListIndex")
    if not isinstance(index, str) or not _DECIMAL.fullmatch(index):
        raise MalformedStatusError(
            f"statusListIndex {index!r} must be a non-negative integer written as a base-10 string (§2.1)"
        )
    url = item.get("statusListCredential")
    if not isinstance(url, str) or not re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", url):
        raise MalformedStatusError("statusListCredential must be a URL (§2.1)")
    size = item.get("statusSize", 1)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise MalformedStatusError("statusSize must be an integer greater than zero (§2.1)")
    if size > MAX_STATUS_SIZE:
        raise MalformedStatusError(f"statusSize {size} is larger than the supported {MAX_STATUS_SIZE} bits")
    if size > 1:
        messages = item.get("statusMessage")
        if not isinstance(messages, list) or len(messages) != 1 << size:
            raise MalformedStatusError(
                f"statusSize {size} requires a statusMessage array of {1 << size} elements (§2.1)"
            )
    entry_id = item.get("id")
    if entry_id is not None and entry_id == url:
        raise MalformedStatusError("the id of a status entry must not be the URL of the status list (§2.1)")
    return StatusEntry(purpose, int(index), url, size, entry_id if isinstance(entry_id, str) else None)


# --- the status list credential (§2.2) ----------------------------------------------------------------------


@dataclass(frozen=True)
class StatusList:
    """A verified ``BitstringStatusListCredential``: who issued it, for which purposes, its bits and validity."""

    url: str
    issuer: str | None
    purposes: tuple[str, ...]
    bits: Bitstring
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None
    #: §2.2 ``ttl``: milliseconds before a refresh should be attempted (None: not given).
    ttl: int | None = None


def build_status_list_credential(
    *,
    url: str,
    issuer: str,
    purpose: str | Sequence[str],
    bits: Bitstring,
    valid_from: dt.datetime,
    valid_until: dt.datetime | None = None,
    ttl: dt.timedelta | None = None,
) -> dict[str, Any]:
    """An unsigned VCDM 2.0 ``BitstringStatusListCredential`` (§2.2, §3.1), to be signed as a VC-JWT like the
    credentials it governs (§3.6 recommends the same securing mechanism).

    ``id`` is the URL the list is published at (§2.2), the subject id ``<url>#list`` as in the §2.2 example. The
    ``@context`` is the VCDM 2.0 one only: it defines every term used here.
    """
    if len(bits.to_bytes()) * 8 < MIN_ENTRIES:
        raise StatusListLengthError(f"a status list has at least {MIN_ENTRIES} entries (§2.2)")
    subject: dict[str, Any] = {
        "id": f"{url}#list",
        "type": STATUS_LIST,
        "statusPurpose": purpose if isinstance(purpose, str) else list(purpose),
        "encodedList": bits.encode(),
    }
    if ttl is not None:
        subject["ttl"] = int(ttl.total_seconds() * 1000)
    credential: dict[str, Any] = {
        "@context": [CREDENTIALS_V2],
        "id": url,
        "type": ["VerifiableCredential", STATUS_LIST_CREDENTIAL],
        "issuer": issuer,
        "validFrom": format_datetime(valid_from),
    }
    if valid_until is not None:
        credential["validUntil"] = format_datetime(valid_until)
    credential["credentialSubject"] = subject
    return credential


def parse_status_list(
    document: Mapping[str, Any], *, url: str, issuer: str | None = None, max_bytes: int = MAX_BITSTRING_BYTES
) -> StatusList:
    """Read the §2.2 properties of a (verified) status list credential; raise :class:`StatusError` on violations."""
    types = _strings(document.get("type"))
    legacy = LEGACY_LIST_CREDENTIAL in types and STATUS_LIST_CREDENTIAL not in types
    if STATUS_LIST_CREDENTIAL not in types and not legacy:
        raise MalformedStatusError(f"the credential at {url} is not a {STATUS_LIST_CREDENTIAL} (§2.1, §2.2)")
    subject_type = LEGACY_LIST if legacy else STATUS_LIST
    list_id = document.get("id")
    if list_id is not None and list_id != url:
        raise StatusVerificationError(
            f"the status list fetched from {url} has id {list_id!r}: it was issued for another URL"
        )
    subject = document.get("credentialSubject")
    if isinstance(subject, list) and len(subject) == 1:
        subject = subject[0]
    if not isinstance(subject, Mapping) or subject_type not in _strings(subject.get("type")):
        raise MalformedStatusError(f"the credentialSubject of the status list at {url} must be a {subject_type} (§2.2)")
    purposes = _strings(subject.get("statusPurpose"))
    if not purposes or purposes != _as_list(subject.get("statusPurpose")):
        raise MalformedStatusError(f"statusPurpose of the status list at {url} must be one or more strings (§2.2)")
    ttl = subject.get("ttl")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0):
        raise MalformedStatusError(f"ttl of the status list at {url} must be a non-negative integer (§2.2)")
    bits = Bitstring.decode(subject.get("encodedList"), max_bytes=max_bytes, legacy=legacy)
    return StatusList(url, issuer, tuple(purposes), bits, ttl=ttl)


# --- fetching -----------------------------------------------------------------------------------------------


class StatusListFetcher(Protocol):
    """Dereferences a ``statusListCredential`` URL (§3.2 step 4) to the status list credential: a VC-JWT (compact)
    or a JSON object. Raises :class:`StatusRetrievalError` with the reason when it cannot."""

    async def fetch(self, url: str) -> str | Mapping[str, Any]: ...


class OfflineStatusListFetcher:
    """Status list credentials given in memory or read from files (``gxc sd verify --status-list URL=FILE``)."""

    def __init__(self, lists: Mapping[str, str | Mapping[str, Any]] | None = None) -> None:
        self._lists: dict[str, str | Mapping[str, Any]] = dict(lists or {})

    def add(self, url: str, credential: str | bytes | Mapping[str, Any]) -> None:
        """Add the status list published at ``url``: a VC-JWT, a ``data:`` URL or a JSON object."""
        try:
            self._lists[url] = parse_input(credential)
        except VerificationError as exc:
            raise StatusRetrievalError(f"the status list given for {url} is unusable: {exc.message}") from exc

    @classmethod
    def from_files(cls, files: Mapping[str, Path]) -> OfflineStatusListFetcher:
        fetcher = cls()
        for url, path in files.items():
            try:
                fetcher.add(url, path.read_bytes())
            except OSError as exc:
                raise StatusRetrievalError(f"cannot read the status list {path}: {exc.strerror}") from exc
        return fetcher

    async def fetch(self, url: str) -> str | Mapping[str, Any]:
        found = self._lists.get(url)
        if found is None:
            raise StatusRetrievalError(f"no status list was given for {url} (offline; use --status-list URL=FILE)")
        return found


# --- validation (§3.2) --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryStatus:
    """What one entry's list says: the value read (0 = unset) and the list it was read from."""

    entry: StatusEntry
    value: int
    status_list: StatusList

    @property
    def set(self) -> bool:
        return self.value != 0


@dataclass(frozen=True)
class StatusResult:
    """The outcome of :func:`check_status`: ``revoked`` wins over ``suspended``; ``valid`` when no checked bit is set
    (also when the credential has no status entry: nothing can revoke it)."""

    status: StatusOutcome
    entries: tuple[EntryStatus, ...] = ()

    @property
    def deciding(self) -> EntryStatus | None:
        """The entry that made the credential revoked or suspended."""
        purpose = {"revoked": "revocation", "suspended": "suspension"}.get(self.status)
        return next((e for e in self.entries if e.set and e.entry.purpose == purpose), None)


async def load_status_list(
    url: str, fetcher: StatusListFetcher, ctx: VerificationContext, *, max_bytes: int = MAX_BITSTRING_BYTES
) -> StatusList:
    """Dereference and verify a status list credential (§3.2 step 4): signature, key in the issuer's DID document,
    x5u chain (when ``ctx`` checks chains) and its validity window at ``ctx.now`` (VCDM 2.0 §4.9)."""
    try:
        raw = await fetcher.fetch(url)
    except StatusError:
        raise
    except SelfDescriptionError as exc:
        raise StatusRetrievalError(f"cannot retrieve the status list {url}: {exc.message}") from exc
    # The status list's own credentialStatus (if any) is not followed: one level, no recursion. Its validity window
    # gets STATUS_LIST_LEEWAY: ``ctx.now`` is taken when verification starts, and an issuer that re-signs its list
    # when a bit changes may have issued this one since (validFrom after ctx.now: seen in the demo under load).
    leeway = max(ctx.leeway, STATUS_LIST_LEEWAY)
    assessment = await assess_credential(raw, replace(ctx, status_lists=None, leeway=leeway))
    if assessment.signature != "valid" or assessment.trust == "invalid":
        reason = assessment.errors[0].message if assessment.errors else "its signature does not verify"
        raise StatusVerificationError(f"the status list credential at {url} does not verify: {reason}")
    if assessment.validity != "valid":
        reason = assessment.errors[0].message if assessment.errors else assessment.validity
        raise StatusVerificationError(f"the status list credential at {url} is not valid now: {reason}")
    if assessment.errors:
        raise StatusVerificationError(
            f"the status list credential at {url} does not verify: {assessment.errors[0].message}"
        )
    parsed = parse_status_list(assessment.document, url=url, issuer=assessment.issuer, max_bytes=max_bytes)
    return replace(parsed, valid_from=assessment.valid_from, valid_until=assessment.valid_until)


async def check_status(
    credential: CredentialAssessment | Mapping[str, Any],
    fetch_status_list: StatusListFetcher,
    ctx: VerificationContext,
    *,
    max_bytes: int = MAX_BITSTRING_BYTES,
) -> StatusResult:
    """The validate algorithm (§3.2) for every ``revocation`` and ``suspension`` entry of ``credential``.

    ``credential`` is a verified assessment (its issuer is then the one established from the JOSE header/payload)
    or a credential document (issuer from ``issuer``). Raises a :class:`StatusError` subclass on the first entry
    that cannot be established; returns ``revoked`` as soon as a revocation bit is set.
    """
    if isinstance(credential, CredentialAssessment):
        document, issuer = credential.document, credential.issuer
    else:
        document, issuer = credential, _issuer(credential)
    entries = [e for e in status_entries(document) if e.purpose in CHECKED_PURPOSES]
    entries.sort(key=lambda e: CHECKED_PURPOSES.index(e.purpose))  # revocation first: it is final
    lists: dict[str, StatusList] = {}
    seen: list[EntryStatus] = []
    for entry in entries:
        status_list = lists.get(entry.list_url)
        if status_list is None:
            status_list = await load_status_list(entry.list_url, fetch_status_list, ctx, max_bytes=max_bytes)
            lists[entry.list_url] = status_list
        if status_list.issuer != issuer:
            raise StatusVerificationError(
                f"the status list {entry.list_url} is issued by {status_list.issuer}, not by the credential's "
                f"issuer {issuer}: only the issuer may change a credential's status"
            )
        if entry.purpose not in status_list.purposes:  # §3.2 step 5
            raise StatusVerificationError(
                f"the status list {entry.list_url} is for {', '.join(status_list.purposes)}, "
                f"not for the entry's statusPurpose {entry.purpose!r} (§3.2)"
            )
        if status_list.bits.length // entry.size < MIN_ENTRIES:  # §3.2 step 9
            raise StatusListLengthError(
                f"the status list {entry.list_url} has {status_list.bits.length // entry.size} entries, fewer than "
                f"the {MIN_ENTRIES} required for herd privacy (§3.2, §6.1)"
            )
        result = EntryStatus(entry, status_list.bits.get(entry.index, entry.size), status_list)
        seen.append(result)
        if result.set and entry.purpose == "revocation":
            return StatusResult("revoked", tuple(seen))
    suspended = any(e.set and e.entry.purpose == "suspension" for e in seen)
    return StatusResult("suspended" if suspended else "valid", tuple(seen))


async def assess_status(result: CredentialAssessment, ctx: VerificationContext) -> None:
    """Record the status of an assessed credential in ``result.status`` (and a problem when it is not ``valid``).

    Only run when ``ctx.status_lists`` is set and the credential's own proof verified: the entries of a credential
    whose signature failed are not the issuer's. A revoked or suspended credential fails with code ``revoked`` /
    ``suspended``; a status that cannot be established makes it ``unverifiable`` (fail closed).
    """
    if ctx.status_lists is None or result.signature != "valid":
        return
    try:
        outcome = await check_status(result, ctx.status_lists, ctx)
    except StatusError as exc:
        result.status = "unverifiable"
        result.fail(exc.code, f"its status cannot be established: {exc.message}")
        return
    result.status = outcome.status
    deciding = outcome.deciding
    if deciding is not None:
        where = f"status list {deciding.entry.list_url}, index {deciding.entry.index}"
        result.fail(outcome.status, f"the credential was {outcome.status} by its issuer {result.issuer} ({where})")


def _issuer(document: Mapping[str, Any]) -> str | None:
    value = document.get("issuer")
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) else None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _strings(value: Any) -> list[str]:
    return [v for v in _as_list(value) if isinstance(v, str)]
