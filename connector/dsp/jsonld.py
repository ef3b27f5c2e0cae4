"""Normalisation of any JSON-LD form of a DSP message into the 2025-1 compact form (the codec's slow path).

DSP 2025-1 §common: a message is whatever JSON-LD means; the schemas apply to its compaction with the 2025-1 context.
Peers that send something other than the plain compact form (expanded documents, ``dspace:``-prefixed terms, EDC's
extra context ``https://w3id.org/edc/dspace/v0.0.1``, further contexts) are expanded and re-compacted here, with
contexts resolved only through the pinned offline loader (house rule 7). This mirrors the spec's own harness
(``AbstractJsonLdTest``: expand → compact → validate).

Three pyld 3.3 traps are handled (dsp.md §7.3 and its addendum, each guarded by a test):

1. ``@import`` cache: pyld caches a processed ``@import`` per active context only, and merges the importing
   context's terms (and its cache key ``_uuid``) **into the imported document object**. The DSP context imports its
   ODRL profile inside type-scoped contexts, so with a loader that hands out the same document object twice (as
   ``self_descriptions.loader.DocumentLoader`` does: its documents are cached) or a reused ``ContextResolver``,
   a ContractAgreementMessage compacted after a ContractOfferMessage silently loses ``agreement``. Here pyld only
   ever sees deep copies (:class:`IsolatedLoader`), and every expand and every compact gets a **fresh** resolver
   with a fresh cache; nothing is shared between calls.
2. Default base: pyld ≥ 3 resolves relative ``@vocab``/``@id`` values against ``http://example.org/base/``
   (``HttpData-PULL`` would become an absolute IRI); ``base=None`` keeps them relative.
3. One-element ``@context``: compaction emits a string where every DSP schema requires an array; wrapped back.

"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from connector.dsp.errors import JsonLdNormalisationFailed
from connector.dsp.wire import DSP_CONTEXT_URL
from self_descriptions.errors import ContextNotAllowed
from self_descriptions.loader import DocumentLoader


class IsolatedLoader:
    """pyld document loader handing out deep copies of the loader's documents, because pyld mutates the documents
    it is given (trap 1): without the copy, one normalisation would corrupt the pinned contexts process-wide."""

    def __init__(self, loader: DocumentLoader) -> None:
        self._loader = loader

    def __call__(self, url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(self._loader.load(url))}


def pyld_options(loader: DocumentLoader | IsolatedLoader) -> dict[str, Any]:
    """Options for one pyld call that share no state with any other call: copies of the documents, a fresh
    ``ContextResolver`` whose shared cache is a new dict (pyld's default is a module-level cache, which any other
    pyld user in the process fills and corrupts: trap 1), and ``base=None`` (trap 2)."""
    from pyld.context_resolver import ContextResolver  # on use: pyld (with requests and lxml) is ~10 MiB of RSS

    isolated = loader if isinstance(loader, IsolatedLoader) else IsolatedLoader(loader)
    return {"documentLoader": isolated, "base": None, "contextResolver": ContextResolver({}, isolated)}


def normalise(document: Mapping[str, Any], loader: DocumentLoader) -> dict[str, Any]:
    """``document`` (any JSON-LD form) as the compact DSP 2025-1 form with ``"@context": [DSP_CONTEXT_URL]``.

    Raises :class:`JsonLdNormalisationFailed` for unknown contexts (never fetched) and invalid JSON-LD.
    """
    # Imported on first use: only peers that send other than the compact form come here, and pyld with what it
    # pulls in (requests, lxml) is ~10 MiB of a connector's resident memory (issue 6 §3).
    from pyld import jsonld

    try:
        expanded = jsonld.expand(copy.deepcopy(dict(document)), pyld_options(loader))
        compacted = jsonld.compact(expanded, {"@context": [DSP_CONTEXT_URL]}, pyld_options(loader))
    except jsonld.JsonLdError as exc:
        raise _translate(exc) from exc
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as exc:
        # pyld lets some malformed input escape as plain Python errors (e.g. "invalid baseIRI" as ValueError);
        # the body is hostile input, so that is a 400 with the reason, never a 500 (found by fuzzing, issue 9).
        raise JsonLdNormalisationFailed(f"invalid JSON-LD: {type(exc).__name__}: {str(exc)[:300]}") from exc
    if not isinstance(compacted, dict):
        raise JsonLdNormalisationFailed("JSON-LD compaction did not produce an object")
    if "@graph" in compacted:
        raise JsonLdNormalisationFailed("the body holds several top-level nodes; a DSP message is exactly one node")
    context = compacted.get("@context")
    # Trap 3: pyld writes a one-element context as a string.
    compacted["@context"] = [context] if isinstance(context, str) else [DSP_CONTEXT_URL]
    return compacted


def _translate(exc: BaseException) -> JsonLdNormalisationFailed:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ContextNotAllowed):
            return JsonLdNormalisationFailed(cause.message, code="context-not-allowed")
        nested = getattr(cause, "cause", None)
        cause = nested if isinstance(nested, BaseException) else cause.__cause__
    code = getattr(exc, "code", None)
    detail = f" ({code})" if isinstance(code, str) and code else ""
    return JsonLdNormalisationFailed(f"invalid JSON-LD{detail}: {str(exc).splitlines()[0][:300]}")
