"""A transition table and the pure ``next_state`` over it, shared by the negotiation and transfer machines.

House rule 1: one table per state machine; ``next_state`` returns a state or raises and never awaits, logs or reads
a clock; diagrams are generated from the table so the picture cannot drift from the code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, Literal, TypeVar

from connector.dsp.errors import InvalidTransition
from connector.dsp.states import Role

S = TypeVar("S", bound=StrEnum)

DiagramFormat = Literal["mermaid", "plantuml"]

_SENDER_LETTER = {Role.CONSUMER: "C", Role.PROVIDER: "P"}


@dataclass(frozen=True, slots=True)
class Transition(Generic[S]):
    """``source`` --(``kind`` sent by one of ``senders``)--> ``target``; ``source`` None is the initial transition."""

    source: S | None
    target: S
    senders: frozenset[Role]
    kind: str

    @property
    def sender_label(self) -> str:
        """The spec diagrams' notation: ``C``, ``P`` or ``C/P``."""
        return "/".join(_SENDER_LETTER[r] for r in (Role.CONSUMER, Role.PROVIDER) if r in self.senders)


def transition(source: S | None, target: S, senders: str, kind: str) -> Transition[S]:
    """Table row from the spec's notation: ``senders`` is ``"C"``, ``"P"`` or ``"C/P"``."""
    roles = {"C": Role.CONSUMER, "P": Role.PROVIDER}
    return Transition(source, target, frozenset(roles[s] for s in senders.split("/")), kind)


class TransitionTable(Generic[S]):
    """An immutable state machine: rows plus terminal states (terminal states accept no message at all)."""

    def __init__(self, name: str, rows: Iterable[Transition[S]], terminal: Iterable[S]) -> None:
        self.name = name
        self.rows: tuple[Transition[S], ...] = tuple(rows)
        self.terminal: frozenset[S] = frozenset(terminal)
        self._index: dict[tuple[S | None, Role, str], S] = {}
        for row in self.rows:
            if row.source in self.terminal:
                raise ValueError(f"{name}: terminal state {row.source} cannot have outgoing transitions")
            for sender in row.senders:
                key = (row.source, sender, row.kind)
                if key in self._index:
                    raise ValueError(f"{name}: ambiguous transition {key}")
                self._index[key] = row.target

    def __iter__(self) -> Iterator[Transition[S]]:
        return iter(self.rows)

    def kinds(self) -> frozenset[str]:
        return frozenset(row.kind for row in self.rows)

    def lookup(self, state: S | None, *, sender: Role, kind: str) -> S | None:
        """The target state, or None when the table has no such row."""
        return self._index.get((state, sender, str(kind)))

    def next_state(self, state: S | None, *, sender: Role, kind: str) -> S:
        """The state after ``kind`` sent by ``sender`` in ``state`` (None: no process yet); raises
        :class:`~connector.dsp.errors.InvalidTransition` (HTTP 400) when the table forbids it."""
        target = self.lookup(state, sender=sender, kind=kind)
        if target is None:
            raise InvalidTransition(self.explain(state, sender=sender, kind=kind))
        return target

    def explain(self, state: S | None, *, sender: Role, kind: str) -> str:
        """Why ``kind`` from ``sender`` is refused in ``state``, naming what would be allowed instead."""
        where = "before the process exists" if state is None else f"in state {state}"
        if state is not None and state in self.terminal:
            return f"{self.name}: {kind} from the {sender} is not allowed {where}: {state} is terminal"
        if str(kind) not in self.kinds():
            return f"{self.name}: {kind!r} is not a message of this protocol"
        allowed = sorted(
            f"{row.kind} from {' or '.join(sorted(str(r) for r in row.senders))}"
            for row in self.rows
            if row.source == state
        )
        return (
            f"{self.name}: {kind} from the {sender} is not allowed {where}; allowed: {', '.join(allowed) or 'nothing'}"
        )

    def diagram(self, fmt: DiagramFormat = "mermaid") -> str:
        """The state diagram generated from the rows, as Mermaid ``stateDiagram-v2`` or PlantUML."""
        edges = [
            f"{row.source or '[*]'} --> {row.target} : {row.kind} ({row.sender_label})"
            if fmt == "plantuml"
            else f"    {row.source or '[*]'} --> {row.target}: {row.kind} ({row.sender_label})"
            for row in self.rows
        ]
        ends = [
            f"{state} --> [*]" if fmt == "plantuml" else f"    {state} --> [*]"
            for state in sorted(self.terminal, key=str)
        ]
        if fmt == "plantuml":
            return "\n".join([f"@startuml {self.name}", "hide empty description", *edges, *ends, "@enduml", ""])
        if fmt == "mermaid":
            return "\n".join(["stateDiagram-v2", *edges, *ends, ""])
        raise ValueError(f"unknown diagram format {fmt!r} (mermaid or plantuml)")
