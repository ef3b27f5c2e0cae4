"""Keyword full-text and facet search over discovery entries, in memory, rebuilt from the store at start.

An inverted index (token -> entry keys) and one posting set per facet value (provider, type, format, keyword,
purpose, membership, source). A query intersects the sets, smallest first, then intersects the result with the
visible entries (admitted, unexpired participants: computed by the caller at query time), and pages by a global
order (title, then key) maintained lazily. :meth:`SearchIndex.scan` is the unindexed baseline of ``bench/``.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from catalog.model import DatasetRecord

FACETS = ("provider", "type", "format", "keyword", "purpose", "membership", "source")
_TOKEN = re.compile(r"\w{2,}", re.UNICODE)
#: Facet counts are computed by iterating matches up to this size; beyond it, per value set intersections.
_ITERATE_COUNTS = 20_000
MAX_FACET_VALUES = 20


def tokens(text: str) -> set[str]:
    return {t.lower() for t in _TOKEN.findall(text)}


def facet_values(data: Mapping[str, Any]) -> dict[str, set[str]]:
    return {
        "provider": {str(data.get("participant"))},
        "type": {str(t) for t in data.get("type", [])},
        "format": {str(f) for f in data.get("formats", [])},
        "keyword": {str(k).lower() for k in data.get("keywords", [])},
        "purpose": {str(p) for p in data.get("purposes", [])},
        "membership": {"required" if data.get("membershipRequired") else "not-required"},
        "source": {str(data.get("source"))},
    }


def searchable_text(data: Mapping[str, Any]) -> str:
    parts = [data.get("title"), data.get("description"), data.get("providerName"), data.get("id")]
    parts.extend(data.get("keywords", []))
    return " ".join(str(p) for p in parts if p)


@dataclass
class SearchResult:
    total: int
    items: list[dict[str, Any]]
    facets: dict[str, dict[str, int]]


class SearchIndex:
    def __init__(self) -> None:
        self.records: dict[str, DatasetRecord] = {}
        self._by_participant: dict[str, set[str]] = {}
        self._tokens: dict[str, set[str]] = {}
        self._facets: dict[str, dict[str, set[str]]] = {f: {} for f in FACETS}
        self._order: dict[str, tuple[str, str]] = {}

    def __len__(self) -> int:
        return len(self.records)

    def keys_of(self, participant: str) -> set[str]:
        return self._by_participant.get(participant, set())

    def replace(self, participant: str, records: Iterable[DatasetRecord], *, source: str | None = None) -> None:
        """Replace the participant's entries (of ``source`` only, when given) with ``records``."""
        for key in list(self._by_participant.get(participant, ())):
            if source is None or self.records[key].source == source:
                self._remove(key)
        for record in records:
            self._add(record)

    def remove_participant(self, participant: str) -> None:
        for key in list(self._by_participant.get(participant, ())):
            self._remove(key)

    def _add(self, record: DatasetRecord) -> None:
        key = record.key
        if key in self.records:
            self._remove(key)
        self.records[key] = record
        self._by_participant.setdefault(record.participant, set()).add(key)
        for token in tokens(searchable_text(record.data)):
            self._tokens.setdefault(token, set()).add(key)
        for facet, values in facet_values(record.data).items():
            postings = self._facets[facet]
            for value in values:
                postings.setdefault(value, set()).add(key)
        self._order[key] = (str(record.data.get("title") or "").lower(), key)

    def _remove(self, key: str) -> None:
        record = self.records.pop(key)
        self._by_participant[record.participant].discard(key)
        for token in tokens(searchable_text(record.data)):
            _discard(self._tokens, token, key)
        for facet, values in facet_values(record.data).items():
            for value in values:
                _discard(self._facets[facet], value, key)
        self._order.pop(key, None)

    def search(
        self,
        query: str,
        filters: Mapping[str, Sequence[str]],
        *,
        visible: set[str],
        offset: int,
        limit: int,
    ) -> SearchResult:
        """AND over query tokens and over facets; OR within one facet's values; only ``visible`` keys."""
        sets: list[set[str]] = [visible]
        for token in tokens(query):
            sets.append(self._tokens.get(token, set()))
        for facet, values in filters.items():
            if not values:
                continue
            postings = self._facets[facet]
            wanted = [v.lower() if facet == "keyword" else v for v in values]
            sets.append(set().union(*(postings.get(v, set()) for v in wanted)))
        sets.sort(key=len)
        result = set(sets[0])
        for other in sets[1:]:
            result &= other
            if not result:
                break
        page = heapq.nsmallest(offset + limit, result, key=self._order.__getitem__)[offset:]
        return SearchResult(len(result), [self.records[k].data for k in page], self._counts(result))

    def _counts(self, result: set[str]) -> dict[str, dict[str, int]]:
        counts: dict[str, Counter[str]] = {f: Counter() for f in FACETS}
        if len(result) <= _ITERATE_COUNTS:
            for key in result:
                for facet, values in facet_values(self.records[key].data).items():
                    counts[facet].update(values)
        else:
            for facet, postings in self._facets.items():
                for value, keys in postings.items():
                    n = len(keys & result) if len(keys) < len(result) else len(result & keys)
                    if n:
                        counts[facet][value] = n
        return {f: dict(c.most_common(MAX_FACET_VALUES)) for f, c in counts.items()}

    def scan(
        self, query: str, filters: Mapping[str, Sequence[str]], *, visible: set[str], offset: int, limit: int
    ) -> SearchResult:
        """The same answer without any index: every entry is tokenised and tested (the bench baseline)."""
        wanted = tokens(query)
        matches = []
        for key, record in self.records.items():
            if key not in visible or not wanted <= tokens(searchable_text(record.data)):
                continue
            values = facet_values(record.data)
            if all(not vs or values[f] & {v.lower() if f == "keyword" else v for v in vs} for f, vs in filters.items()):
                matches.append(key)
        matches.sort(key=self._order.__getitem__)
        result = set(matches)
        return SearchResult(
            len(matches), [self.records[k].data for k in matches[offset : offset + limit]], self._counts(result)
        )


def _discard(index: dict[str, set[str]], value: str, key: str) -> None:
    keys = index.get(value)
    if keys is not None:
        keys.discard(key)
        if not keys:
            del index[value]
