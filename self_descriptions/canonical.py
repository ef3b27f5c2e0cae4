"""The one module that canonicalises and hashes: RDFC-1.0 (URDNA2015), RFC 8785 JCS, and the Gaia-X digests.

RDFC-1.0 output must be byte-identical to what the Gaia-X services compute with jsonld.js / rdf-canonize
(``shared/reference/performance.md`` §1.3). pyld 3.3 matches them on every realistic document when called with
``algorithm="URDNA2015"`` (its default is the legacy URGNA2012), so pyld is the engine for everything that is signed
or verified. pyoxigraph is faster but de-duplicates related hashes in blank-node-named graphs (§1.3) and therefore
differs on presentations with embedded proofs; :func:`canonicalize_fast` is only used for documents with a single
default graph, where a differential test (``tests/unit/self_descriptions/test_canonical.py``) shows identical bytes.

Before any canonicalization the input is checked against :class:`Limits` (size, depth, node count) and for control
characters, which pyld writes unescaped (§1.4) so its output would differ from jsonld.js. Undefined JSON-LD terms
are rejected (JSON-LD 1.1 "safe mode"): with plain processing they silently vanish from the canonical form, so they
would be unsigned yet still shown to users (``shared/reference/gaiax.md`` §11.4). Untrusted input can be
canonicalized in a separate process with a hard timeout (:mod:`self_descriptions.canonical_worker`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cachetools import LRUCache

from self_descriptions.errors import ContextNotAllowed, SelfDescriptionError
from self_descriptions.loader import DocumentLoader

if TYPE_CHECKING:
    from pyld.context_resolver import ContextResolver

# pyld is imported by the functions that run it: with requests and lxml it is ~10 MiB of resident memory, and many
# users of this module only want jcs() or the digests (a connector that serves data never canonicalizes).


class CanonicalizationError(SelfDescriptionError):
    """A document could not be canonicalized (limits exceeded, undefined term, invalid JSON-LD)."""

    code = "canonicalization-error"


class UndefinedTermError(CanonicalizationError):
    """A JSON-LD property has no definition in the active context: it would be silently dropped before signing."""

    code = "undefined-term"


class LimitExceeded(CanonicalizationError):
    """The input is larger or deeper than the configured :class:`Limits` allow."""

    code = "limit-exceeded"


@dataclass(frozen=True)
class Limits:
    """Work bounds checked before canonicalization (none of the Python RDFC implementations bounds work itself)."""

    max_bytes: int = 1_048_576
    max_depth: int = 32
    max_nodes: int = 20_000
    max_blank_nodes: int = 2_000


DEFAULT_LIMITS = Limits()

# U+0000-U+001F except TAB, LF, CR, plus DEL: pyld emits them raw, RDFC-1.0 and jsonld.js escape them (§1.4).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_limits(document: Any, limits: Limits = DEFAULT_LIMITS) -> None:
    """Raise :class:`LimitExceeded` or :class:`CanonicalizationError` if ``document`` is too big, deep or hostile.

    Counts as potential blank nodes (RDFC-1.0's cost grows with them, §4.8) JSON objects without ``@id``/``id`` and
    each distinct blank node identifier (``"@id": "_:b0"``) that objects name: a document can label its blank nodes
    instead of nesting them. No count catches a small poison dataset (a clique of ten blank nodes, RDFC-1.0 §7.1):
    that needs the time limit of :mod:`self_descriptions.canonical_worker`.
    """
    nodes = 0
    blank = 0
    labels: set[str] = set()
    size = 0
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > limits.max_depth:
            raise LimitExceeded(f"document is nested deeper than {limits.max_depth} levels")
        nodes += 1
        if nodes > limits.max_nodes:
            raise LimitExceeded(f"document has more than {limits.max_nodes} JSON values")
        if isinstance(value, Mapping):
            identifier = value.get("@id", value.get("id"))
            new_label = isinstance(identifier, str) and identifier.startswith("_:") and identifier not in labels
            if new_label:
                labels.add(str(identifier))
            if new_label or ("@id" not in value and "id" not in value and "@value" not in value):
                blank += 1
                if blank > limits.max_blank_nodes:
                    raise LimitExceeded(f"document has more than {limits.max_blank_nodes} blank nodes")
            for key, item in value.items():
                size += len(key) + 4
                _check_string(key)
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            size += len(value) + 2
            _check_string(value)
        else:
            size += 8
        if size > limits.max_bytes:
            raise LimitExceeded(f"document is larger than {limits.max_bytes} bytes")


def _check_string(value: str) -> None:
    match = _CONTROL.search(value)
    if match is not None:
        raise CanonicalizationError(
            f"string contains the control character U+{ord(match.group()):04X}; control characters are rejected "
            "because canonicalizers disagree on their escaping",
            code="control-character",
        )


def canonicalize(
    document: Mapping[str, Any],
    *,
    loader: DocumentLoader | None = None,
    limits: Limits = DEFAULT_LIMITS,
    safe: bool = True,
) -> str:
    """RDFC-1.0 (URDNA2015) canonical N-Quads of a JSON-LD document, as jsonld.js ``canonize`` computes them.

    ``safe`` rejects properties that the context does not define (JSON-LD 1.1 API §4.1 safe mode) instead of
    dropping them. Raises :class:`ContextNotAllowed` for contexts that are not pinned (no network, ever).
    """
    from pyld import jsonld

    check_limits(document, limits)
    dropped: list[str | None] = []
    processor = jsonld.JsonLdProcessor(on_property_dropped=dropped.append if safe else jsonld.noop)
    try:
        result = _with_contexts(
            document,
            loader,
            lambda options: processor.normalize(
                dict(document),
                {"algorithm": "URDNA2015", "format": "application/n-quads", **options},  # NOT pyld's default
            ),
        )
    except RecursionError as exc:
        raise LimitExceeded("document is too deeply nested for JSON-LD processing") from exc
    if dropped:
        names = ", ".join(sorted({str(d) for d in dropped}))
        raise UndefinedTermError(
            f"the JSON-LD context does not define {names}; undefined terms would be dropped from the signed form. "
            "Add the term to a context or use a prefixed name (e.g. gx:...)"
        )
    return str(result)


def expand(document: Mapping[str, Any], *, loader: DocumentLoader | None = None) -> list[Any]:
    """Expanded JSON-LD (offline contexts only)."""
    from pyld import jsonld

    return list(_with_contexts(document, loader, lambda options: jsonld.expand(dict(document), options)))


def to_nquads(
    document: Mapping[str, Any], *, loader: DocumentLoader | None = None, limits: Limits = DEFAULT_LIMITS
) -> str:
    """The N-Quads of a JSON-LD document (not canonical: for building graphs, e.g. SHACL data graphs)."""
    from pyld import jsonld

    check_limits(document, limits)
    result = _with_contexts(
        document, loader, lambda options: jsonld.to_rdf(dict(document), {"format": "application/n-quads", **options})
    )
    return str(result)


# --- context cache ----------------------------------------------------------------------------------------------
#
# pyld resolves every remote context afresh in each operation: the loader deep-copies the pinned document and pyld
# keys the resolved context by the RFC 8785 form of the whole context (44 KB for the Gaia-X 25.11 context), which is
# ~90 % of the time of a small credential's to_rdf. A resolver kept per loader skips both after the first use; the
# output is unchanged (the same resolved contexts, which pyld itself would share within one operation).
#
# The one thing pyld mutates in a resolved context is the target of an ``@import`` (the importing context's terms
# are written into it), which would leak from one document into the next. So documents whose inline contexts use
# ``@import``, and pinned contexts that contain one (DSP/EDC contexts), take the uncached path as before.


class _ImportSeen(Exception):
    """A context containing ``@import`` was reached through the shared resolver: redo with a fresh one."""


class _ContextCache:
    """pyld's context resolver, kept across operations for one :class:`DocumentLoader` (bounded, one user at a time)."""

    def __init__(self, loader: DocumentLoader) -> None:
        from pyld.context_resolver import ContextResolver

        self.loader = loader
        self.lock = threading.Lock()
        self.resolver = ContextResolver(LRUCache(maxsize=64), self._load)
        # bounded: static contexts inside documents are keys too (one entry per distinct inline context)
        self.resolver.per_op_cache = LRUCache(maxsize=256)

    def _load(self, url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        remote = self.loader(url, options)
        if _uses_import(remote.get("document")):
            raise _ImportSeen(url)
        return remote


_CACHES: weakref.WeakKeyDictionary[DocumentLoader, _ContextCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()
_DEFAULT_LOADER: list[DocumentLoader] = []


def _default_loader() -> DocumentLoader:
    with _CACHES_LOCK:
        if not _DEFAULT_LOADER:
            _DEFAULT_LOADER.append(DocumentLoader())
        return _DEFAULT_LOADER[0]


def _context_cache(loader: DocumentLoader) -> _ContextCache:
    with _CACHES_LOCK:
        cache = _CACHES.get(loader)
        if cache is None:
            cache = _CACHES[loader] = _ContextCache(loader)
        return cache


@contextmanager
def _shared_resolver(loader: DocumentLoader) -> Iterator[ContextResolver | None]:
    """The loader's shared resolver, or None when another thread is using it (then resolve afresh)."""
    cache = _context_cache(loader)
    if not cache.lock.acquire(blocking=False):
        yield None
        return
    try:
        yield cache.resolver
    finally:
        cache.lock.release()


def _with_contexts(
    document: Mapping[str, Any], loader: DocumentLoader | None, run: Callable[[dict[str, Any]], Any]
) -> Any:
    """``run(options)`` with pyld options: the shared context resolver when safe, else a fresh one (as pyld does)."""
    from pyld import jsonld

    loader = loader or _default_loader()
    try:
        if not _uses_import(document):
            with _shared_resolver(loader) as resolver:
                if resolver is not None:
                    try:
                        return run({"documentLoader": loader, "contextResolver": resolver})
                    except jsonld.JsonLdError as exc:
                        if not _caused_by_import(exc):
                            raise
        return run({"documentLoader": loader})
    except jsonld.JsonLdError as exc:
        raise _translate(exc) from exc


def _caused_by_import(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    depth = 0
    while seen is not None and depth < 20:
        if isinstance(seen, _ImportSeen):
            return True
        cause = getattr(seen, "cause", None)
        seen = cause if isinstance(cause, BaseException) else seen.__cause__ or seen.__context__
        depth += 1
    return False


def _uses_import(value: Any, depth: int = 0) -> bool:
    """Whether an ``@import`` key occurs anywhere in ``value`` (too deep to look: assume it does)."""
    if depth > 64:
        return True
    if isinstance(value, Mapping):
        return "@import" in value or any(_uses_import(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return any(_uses_import(v, depth + 1) for v in value)
    return False


def _translate(exc: BaseException) -> SelfDescriptionError:
    """pyld wraps loader errors in JsonLdError causes; surface ours (ContextNotAllowed) and keep a clear message."""
    seen: BaseException | None = exc
    depth = 0
    while seen is not None and depth < 20:
        if isinstance(seen, SelfDescriptionError):
            return seen
        cause = getattr(seen, "cause", None)
        seen = cause if isinstance(cause, BaseException) else seen.__cause__ or seen.__context__
        depth += 1
    message = str(exc).split("\n", 1)[0]
    return CanonicalizationError(f"invalid JSON-LD: {message}", code="invalid-json-ld")


def canonicalize_fast(document: Mapping[str, Any], *, loader: DocumentLoader | None = None) -> str:
    """RDFC-1.0 with pyoxigraph, for documents whose RDF has only a default graph (a VC without its proof).

    Contexts are inlined from the offline loader first (pyoxigraph has no document-loader hook). Raises
    :class:`CanonicalizationError` for documents that produce named graphs, where pyoxigraph and jsonld.js differ.
    No safe-mode check: use it on documents already accepted by :func:`canonicalize` (e.g. re-hashing).
    """
    import pyoxigraph as ox

    inlined = inline_contexts(document, loader or DocumentLoader())
    try:
        dataset = ox.Dataset(ox.parse(json.dumps(inlined), format=ox.RdfFormat.JSON_LD))
    except (SyntaxError, ValueError) as exc:
        raise CanonicalizationError(f"invalid JSON-LD: {exc}", code="invalid-json-ld") from exc
    if any(not isinstance(q.graph_name, ox.DefaultGraph) for q in dataset):
        raise CanonicalizationError("the fast canonicalizer is only exact for documents without named graphs")
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    text = (ox.serialize(dataset, format=ox.RdfFormat.N_QUADS) or b"").decode("utf-8")
    # split("\n"), never splitlines(): literals may contain U+2028 etc. which splitlines treats as breaks
    return "".join(sorted(line + "\n" for line in text.split("\n") if line))


def inline_contexts(document: Any, loader: DocumentLoader) -> Any:
    """Replace every remote ``@context`` reference by the pinned document's ``@context`` (recursively)."""
    if isinstance(document, list):
        return [inline_contexts(item, loader) for item in document]
    if not isinstance(document, Mapping):
        return document
    out: dict[str, Any] = {}
    for key, value in document.items():
        if key == "@context":
            out[key] = _inline_context_value(value, loader, 0)
        else:
            out[key] = inline_contexts(value, loader)
    return out


def _inline_context_value(value: Any, loader: DocumentLoader, depth: int) -> Any:
    if depth > 8:
        raise CanonicalizationError("context references nest too deeply")
    if isinstance(value, str):
        loaded = loader.load(value)
        inner = loaded.get("@context") if isinstance(loaded, Mapping) else None
        return _inline_context_value(inner, loader, depth + 1)
    if isinstance(value, list):
        return [_inline_context_value(v, loader, depth) for v in value]
    if isinstance(value, Mapping):
        return {k: (_inline_context_value(v, loader, depth) if k == "@context" else v) for k, v in value.items()}
    return value


# --- RFC 8785 JSON Canonicalization Scheme -------------------------------------------------------------------


def jcs(value: Any) -> bytes:
    """RFC 8785 canonical JSON bytes (keys sorted by UTF-16 code units, ECMAScript number formatting)."""
    return _jcs(value).encode("utf-8")


def _jcs(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _es_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        items = sorted(value.items(), key=lambda kv: str(kv[0]).encode("utf-16-be"))
        return "{" + ",".join(json.dumps(str(k), ensure_ascii=False) + ":" + _jcs(v) for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_jcs(v) for v in value) + "]"
    raise CanonicalizationError(f"cannot canonicalize a {type(value).__name__} as JSON")


def _es_number(value: float) -> str:
    """ECMAScript Number::toString (RFC 8785 §3.2.2.3); Python's repr gives the same shortest round-trip digits."""
    if math.isnan(value) or math.isinf(value):
        raise CanonicalizationError("NaN and Infinity are not valid JSON numbers")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    mantissa, _, exp_text = repr(abs(value)).partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    digits = int_part + frac_part
    # value = 0.d1d2... x 10^n (ECMA-262 Number::toString step 5: 10^(n-1) <= v < 10^n)
    n = len(int_part) + (int(exp_text) if exp_text else 0)
    stripped = digits.lstrip("0")
    n -= len(digits) - len(stripped)
    digits = stripped.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    exponent = f"e{'+' if e >= 0 else '-'}{abs(e)}"
    if k == 1:
        return sign + digits + exponent
    return sign + digits[0] + "." + digits[1:] + exponent


# --- digests --------------------------------------------------------------------------------------------------


def sha256_hex(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def sri(data: bytes, algorithm: str = "sha256") -> str:
    """W3C Subresource Integrity string ``<alg>-<base64(digest)>``."""
    digest = hashlib.new(algorithm, data).digest()
    return f"{algorithm}-{base64.b64encode(digest).decode('ascii')}"


def tagus_integrity(credential: Mapping[str, Any]) -> str:
    """Tagus ``gx:integrity``: ``sha256-`` + hex(SHA-256(JCS(VC **including** proof))) (gaiax.md §6)."""
    return "sha256-" + sha256_hex(jcs(credential))


def jwt_payload_integrity(raw_payload: bytes) -> str:
    """Loire engine 2.2.0 ``gx:integrity``: ``sha256-`` + hex(SHA-256(raw decoded JWT payload bytes)) (gaiax.md §6)."""
    return "sha256-" + sha256_hex(raw_payload)


def credential_digests(credential: Mapping[str, Any], raw_payload: bytes | None = None) -> dict[str, str]:
    """Every digest a compliance credential may use to bind ``credential``, keyed by the convention's name.

    Conventions (gaiax.md §6): Tagus hex over JCS with proof; engine 2.2.0 hex over the raw JWT payload; SRI
    (base64) over JCS without proof (TWIN, CD25.03 ``digestSRI``), in SHA-256 and SHA-512; SRI over the raw JWT
    payload (what this project issues, since those are exactly the signed bytes).
    """
    without_proof = {k: v for k, v in credential.items() if k != "proof"}
    canonical = jcs(credential)
    canonical_without = jcs(without_proof)
    out = {
        "tagus-jcs-with-proof": "sha256-" + sha256_hex(canonical),
        "jcs-without-proof-hex": "sha256-" + sha256_hex(canonical_without),
        "sri-jcs-without-proof": sri(canonical_without),
        "sri512-jcs-without-proof": sri(canonical_without, "sha512"),
        "sri-jcs-with-proof": sri(canonical),
    }
    if raw_payload is not None:
        out["jwt-payload-hex"] = jwt_payload_integrity(raw_payload)
        out["sri-jwt-payload"] = sri(raw_payload)
        out["sri512-jwt-payload"] = sri(raw_payload, "sha512")
    return out


__all__ = [
    "DEFAULT_LIMITS",
    "CanonicalizationError",
    "ContextNotAllowed",
    "LimitExceeded",
    "Limits",
    "UndefinedTermError",
    "canonicalize",
    "canonicalize_fast",
    "check_limits",
    "credential_digests",
    "expand",
    "jcs",
    "jwt_payload_integrity",
    "sha256_hex",
    "sri",
    "tagus_integrity",
    "to_nquads",
]
