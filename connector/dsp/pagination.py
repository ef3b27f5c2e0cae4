"""Catalog pagination with the HTTP ``Link`` header (DSP 2025-1 §catalog binding "Pagination", RFC 8288).

The spec fixes only the relation types (``next`` and ``previous``); the query parameters are ours: ``offset`` and
``limit``. :func:`link_header` builds the header value for one page, :func:`parse_link_header` reads a peer's (for
crawling), :func:`page_from_query` validates the parameters of an incoming request (bad values: 400).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from connector.dsp.errors import DspError

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500

_LINK_VALUE = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")
_REL = re.compile(r'rel\s*=\s*"?([^";]+)"?')


@dataclass(frozen=True, slots=True)
class Page:
    """One page: ``offset`` (0-based index of its first item) and ``limit`` (page size)."""

    offset: int = 0
    limit: int = DEFAULT_PAGE_SIZE

    def __post_init__(self) -> None:
        if self.offset < 0 or self.limit < 1:
            raise ValueError(f"invalid page offset={self.offset} limit={self.limit}")

    def slice(self, items: Sequence[T]) -> Sequence[T]:
        return items[self.offset : self.offset + self.limit]

    def next(self, total: int) -> Page | None:
        """The following page, or None when this one reaches the end of ``total`` items."""
        return Page(self.offset + self.limit, self.limit) if self.offset + self.limit < total else None

    def previous(self) -> Page | None:
        return Page(max(0, self.offset - self.limit), self.limit) if self.offset > 0 else None


def page_from_query(
    query: Mapping[str, str], *, default_limit: int = DEFAULT_PAGE_SIZE, max_limit: int = MAX_PAGE_SIZE
) -> Page:
    """The page a request asks for (``?offset=&limit=``); malformed values are a 400 (code ``invalid-page``)."""
    try:
        offset = int(query.get("offset", "0"))
        limit = int(query.get("limit", str(default_limit)))
    except ValueError as exc:
        raise DspError("offset and limit must be integers", code="invalid-page") from exc
    if offset < 0 or not 1 <= limit <= max_limit:
        raise DspError(f"offset must be >= 0 and limit between 1 and {max_limit}", code="invalid-page")
    return Page(offset, limit)


def page_url(url: str, page: Page) -> str:
    """``url`` with its ``offset``/``limit`` query parameters set to ``page`` (other parameters kept)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("offset", "limit")]
    query += [("offset", str(page.offset)), ("limit", str(page.limit))]
    return urlunsplit(parts._replace(query=urlencode(query)))


def link_header(url: str, page: Page, total: int) -> str | None:
    """The ``Link`` header value for ``page`` of ``total`` items served at ``url`` (None when there is only one
    page), e.g. ``<https://p/catalog/request?offset=0&limit=50>; rel="previous", <...>; rel="next"``."""
    links = []
    previous, following = page.previous(), page.next(total)
    if previous is not None:
        links.append(f'<{page_url(url, previous)}>; rel="previous"')
    if following is not None:
        links.append(f'<{page_url(url, following)}>; rel="next"')
    return ", ".join(links) or None


def parse_link_header(values: str | Sequence[str]) -> dict[str, str]:
    """``rel -> URL`` from one or more ``Link`` header values (several relations per link are split)."""
    result: dict[str, str] = {}
    for value in [values] if isinstance(values, str) else values:
        for match in _LINK_VALUE.finditer(value):
            target, params = match.group(1), match.group(2)
            for rel_match in _REL.finditer(params):
                for rel in rel_match.group(1).split():
                    result.setdefault(rel, target)
    return result
