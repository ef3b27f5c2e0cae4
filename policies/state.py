"""The evaluation inputs: the request and the state of the world (CG formal semantics §3, ``sotw:`` vocabulary).

Both are plain data supplied by the connector: the request from the protocol message and the caller's verified
identity, the world from the clock, the usage ledger and the verified credential claims (ARCHITECTURE.md §3.2:
policies never verify credentials themselves). Keys of ``parameters``, ``facts`` and ``measures`` are full
left-operand IRIs (bare ODRL names are expanded on construction).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from policies.errors import RequestError
from policies.vocabulary import expand_term


def _expand_keys(values: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType({expand_term(k): v for k, v in values.items()})


@dataclass(frozen=True, slots=True)
class PerformedAction:
    """An action the world records as performed (for duty / obligation fulfilment, FS "Semantics of Duties")."""

    action: str
    time: dt.datetime
    party: str | None = None
    target: str | None = None
    #: Refinement values observed with the action (e.g. ``payAmount``), keyed by left-operand IRI.
    parameters: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", expand_term(self.action))
        object.__setattr__(self, "parameters", _expand_keys(self.parameters))
        if self.time.tzinfo is None:
            raise RequestError("a performed action's time needs a time zone", where=self.action)


@dataclass(frozen=True, slots=True)
class Request:
    """An evaluation request: who (``party``) wants to do what (``action``) to what (``target``), and in which
    context (``parameters``: purpose, recipient, spatial, ... keyed by left-operand IRI; values are scalars or
    lists)."""

    action: str
    target: str | None = None
    party: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", expand_term(self.action))
        object.__setattr__(self, "parameters", _expand_keys(self.parameters))


@dataclass(frozen=True, slots=True)
class World:
    """The state of the world at evaluation time.

    - ``now``: the time the action is exercised (aware datetime; the library never reads a clock);
    - ``part_of``: ``member -> collections`` facts (``odrl:partOf``, transitive) for assets and parties;
    - ``classes``: ``thing -> classes`` facts for ``isA`` (transitive through the same map);
    - ``performed``: actions performed so far (duties, obligations, prohibition violations);
    - ``counters``: executions per action IRI from the usage ledger (``count``, summed over ``includedIn``);
    - ``measures``: other ledger values keyed by left operand (``elapsedTime``, ``meteredTime``, ``delayPeriod``);
    - ``claims``: verified credential claims of the requesting party (data-space operands);
    - ``facts``: further values keyed by left operand (e.g. ``event``), used when the request has none;
    - ``references``: values of ``rightOperandReference`` IRIs (dereferenced by the connector, never fetched here).
    """

    now: dt.datetime
    part_of: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))
    classes: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))
    performed: tuple[PerformedAction, ...] = ()
    counters: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    measures: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    claims: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    facts: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    references: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise RequestError("the world's `now` needs a time zone (a naive time would make dateTime guesswork)")
        object.__setattr__(
            self, "part_of", MappingProxyType({k: frozenset(_as_iter(v)) for k, v in self.part_of.items()})
        )
        object.__setattr__(
            self, "classes", MappingProxyType({k: frozenset(_as_iter(v)) for k, v in self.classes.items()})
        )
        object.__setattr__(self, "counters", _expand_keys(self.counters))
        object.__setattr__(self, "measures", _expand_keys(self.measures))
        object.__setattr__(self, "facts", _expand_keys(self.facts))

    def ancestors(self, member: str, extra: Mapping[str, Iterable[str]] | None = None) -> frozenset[str]:
        """``member`` and every collection it is ``partOf``⁺ (IM §2.2.2: nesting depth is unrestricted)."""
        return _closure(member, self.part_of, extra)

    def types(self, thing: str) -> frozenset[str]:
        """Every class ``thing`` is an instance of, transitively (for ``isA``)."""
        return _closure(thing, self.classes, None) - {thing}


def _as_iter(value: Any) -> Iterable[str]:
    return (value,) if isinstance(value, str) else value


def _closure(
    start: str, edges: Mapping[str, frozenset[str]], extra: Mapping[str, Iterable[str]] | None
) -> frozenset[str]:
    seen = {start}
    stack = [start]
    while stack:
        current = stack.pop()
        nexts = set(edges.get(current, ()))
        if extra:
            nexts.update(extra.get(current, ()))
        for parent in nexts:
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return frozenset(seen)
