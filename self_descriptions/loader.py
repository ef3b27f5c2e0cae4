"""Offline JSON-LD document loader: an allowlist of context URLs, each pinned to a file shipped with the package.

JSON-LD never touches the network (house rule 7): fetching contexts at run time is slow, flaky (w3.org and the
Gaia-X registry rate-limit and fail, ``shared/reference/gaiax.md`` pitfalls) and lets whoever controls a context URL
change what a signed credential means. Every URL resolves to a pinned file from ``contexts/`` (listed in
``contexts/index.json``, provenance in ``NOTICE``) or to a file an operator mapped in configuration; anything else
raises :class:`ContextNotAllowed` before any I/O happens.

The loader has the call signature pyld expects (``loader(url, options) -> RemoteDocument``) and is also used by the
DSP message layer to normalise peers' contexts.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from self_descriptions.errors import ContextNotAllowed, SelfDescriptionError

#: Largest context document accepted from an operator-supplied file.
MAX_CONTEXT_BYTES = 2 * 1024 * 1024


@cache
def _pinned_index() -> dict[str, str]:
    raw = resources.files("self_descriptions").joinpath("contexts", "index.json").read_text(encoding="utf-8")
    index = json.loads(raw)
    if not isinstance(index, dict):
        raise SelfDescriptionError("contexts/index.json must map URLs to file names")
    return {str(k): str(v) for k, v in index.items()}


@cache
def _pinned_document(file_name: str) -> Any:
    return json.loads(resources.files("self_descriptions").joinpath("contexts", file_name).read_text(encoding="utf-8"))


def pinned_context_urls() -> list[str]:
    """Every context URL resolvable without configuration, sorted."""
    return sorted(_pinned_index())


class DocumentLoader:
    """Allowlist loader: pinned contexts plus operator mappings ``URL -> file``; never opens a socket."""

    def __init__(self, extra: Mapping[str, Path] | None = None) -> None:
        self._extra: dict[str, Any] = {}
        for url, path in (extra or {}).items():
            self._extra[url] = _read_operator_context(url, path)

    def allowed(self, url: str) -> bool:
        return url in self._extra or url in _pinned_index()

    def load(self, url: str) -> Any:
        """The parsed context document for ``url``; raises :class:`ContextNotAllowed` for anything not pinned."""
        if url in self._extra:
            return self._extra[url]
        file_name = _pinned_index().get(url)
        if file_name is None:
            raise ContextNotAllowed(
                f"JSON-LD context {url!r} is not pinned; contexts are never fetched from the network. If you trust "
                f'it, map it to a local copy (config `contexts = {{"{url}" = "path/to/file.jsonld"}}` or '
                f"--context {url}=FILE)"
            )
        return _pinned_document(file_name)

    def __call__(self, url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """pyld's document-loader interface (``RemoteDocument``).

        pyld 3.3.0 writes into the documents it is given when it processes an ``@import`` (the importing
        context's terms end up in the imported document), so handing out the cached object would let one
        expansion corrupt the pinned context for every later one. Each call therefore gets its own deep copy.
        """
        return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(self.load(url))}


def _read_operator_context(url: str, path: Path) -> Any:
    try:
        size = path.stat().st_size
        if size > MAX_CONTEXT_BYTES:
            raise SelfDescriptionError(f"context file {path} for {url} is larger than {MAX_CONTEXT_BYTES} bytes")
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SelfDescriptionError(f"cannot read context file {path} for {url}: {exc.strerror}") from exc
    except ValueError as exc:
        raise SelfDescriptionError(f"context file {path} for {url} is not JSON: {exc}") from exc
    if not isinstance(document, dict) or "@context" not in document:
        raise SelfDescriptionError(f"context file {path} for {url} has no top-level @context")
    return document
