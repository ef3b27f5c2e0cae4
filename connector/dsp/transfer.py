"""The Transfer Process state machine (DSP 2025-1 §transfer "Transfer Process States", figure
``specifications/transfer/figures/transfer-process-state-machine.puml``), as one transition table.

``sender`` is the role of the party that sent the message (the counterparty for inbound messages, this connector for
outbound ones). Only the provider starts a requested transfer; either side suspends, resumes (a start message while
SUSPENDED), completes or terminates. COMPLETED and TERMINATED are terminal.
"""

from __future__ import annotations

from connector.dsp.state_machine import DiagramFormat, TransitionTable, transition
from connector.dsp.states import Role
from connector.dsp.states import TransferMessageKind as K
from connector.dsp.states import TransferState as T

#: Exactly the spec figure (DSP 2025-1 §transfer).
TRANSFER_TABLE: TransitionTable[T] = TransitionTable(
    "transfer-process",
    [
        transition(None, T.REQUESTED, "C", K.REQUEST),
        transition(T.REQUESTED, T.STARTED, "P", K.START),
        transition(T.REQUESTED, T.TERMINATED, "C/P", K.TERMINATION),
        transition(T.STARTED, T.COMPLETED, "C/P", K.COMPLETION),
        transition(T.STARTED, T.SUSPENDED, "C/P", K.SUSPENSION),
        transition(T.STARTED, T.TERMINATED, "C/P", K.TERMINATION),
        transition(T.SUSPENDED, T.STARTED, "C/P", K.START),
        transition(T.SUSPENDED, T.TERMINATED, "C/P", K.TERMINATION),
    ],
    terminal=[T.COMPLETED, T.TERMINATED],
)


def next_state(state: T | None, *, sender: Role, kind: str) -> T:
    """The transfer state after ``kind`` (a :class:`~connector.dsp.states.TransferMessageKind`, e.g.
    ``message.kind``) sent by ``sender`` in ``state`` (None: no transfer yet).

    Raises :class:`~connector.dsp.errors.InvalidTransition` (HTTP 400 + TransferError) otherwise.
    """
    return TRANSFER_TABLE.next_state(state, sender=sender, kind=kind)


def diagram(fmt: DiagramFormat = "mermaid") -> str:
    """The transfer state diagram generated from :data:`TRANSFER_TABLE` (Mermaid or PlantUML)."""
    return TRANSFER_TABLE.diagram(fmt)
