"""The Contract Negotiation state machine (DSP 2025-1 §negotiation "Contract Negotiation States", figure
``specifications/negotiation/figures/contract.negotiation.state.machine.puml``), as one transition table.

``sender`` is the role of the party that sent the message: the counterparty for inbound messages, this connector
for outbound ones. A state changes only once the counterparty ACKs (house rule 2): call :func:`next_state` to check
before sending and commit its result after the ACK; for inbound messages, check, persist, then ACK.

Terminations. The figure restricts who may terminate in ACCEPTED (provider), AGREED (consumer) and VERIFIED
(provider), while the prose says a ContractNegotiationTerminationMessage "can be sent at any state of a negotiation"
by either party (dsp.md §4.1: be lenient on receipt). :data:`NEGOTIATION_TABLE` is exactly the figure; by default
:func:`next_state` additionally accepts a termination from either side in every non-terminal state.
``strict=True`` applies the figure alone (use it to decide what this connector may send).
"""

from __future__ import annotations

from connector.dsp.errors import InvalidTransition
from connector.dsp.state_machine import DiagramFormat, TransitionTable, transition
from connector.dsp.states import NegotiationMessageKind as K
from connector.dsp.states import NegotiationState as N
from connector.dsp.states import Role

#: Exactly the spec figure (DSP 2025-1 §negotiation): initial transitions, counter-offers, terminations.
NEGOTIATION_TABLE: TransitionTable[N] = TransitionTable(
    "contract-negotiation",
    [
        transition(None, N.REQUESTED, "C", K.REQUEST),
        transition(None, N.OFFERED, "P", K.OFFER),
        transition(N.REQUESTED, N.OFFERED, "P", K.OFFER),
        transition(N.REQUESTED, N.AGREED, "P", K.AGREEMENT),
        transition(N.REQUESTED, N.TERMINATED, "C/P", K.TERMINATION),
        transition(N.OFFERED, N.REQUESTED, "C", K.REQUEST),
        transition(N.OFFERED, N.ACCEPTED, "C", K.ACCEPTED),
        transition(N.OFFERED, N.TERMINATED, "C/P", K.TERMINATION),
        transition(N.ACCEPTED, N.AGREED, "P", K.AGREEMENT),
        transition(N.ACCEPTED, N.TERMINATED, "P", K.TERMINATION),
        transition(N.AGREED, N.VERIFIED, "C", K.VERIFICATION),
        transition(N.AGREED, N.TERMINATED, "C", K.TERMINATION),
        transition(N.VERIFIED, N.FINALIZED, "P", K.FINALIZED),
        transition(N.VERIFIED, N.TERMINATED, "P", K.TERMINATION),
    ],
    terminal=[N.FINALIZED, N.TERMINATED],
)


def next_state(state: N | None, *, sender: Role, kind: str, strict: bool = False) -> N:
    """The negotiation state after ``kind`` (a :class:`~connector.dsp.states.NegotiationMessageKind`, e.g.
    ``message.kind``) sent by ``sender`` in ``state`` (None: no negotiation yet).

    Raises :class:`~connector.dsp.errors.InvalidTransition` (HTTP 400 + ContractNegotiationError) otherwise; a
    terminal state accepts nothing, not even a repeated termination (a late message "MUST be treated as an error").
    """
    target = NEGOTIATION_TABLE.lookup(state, sender=sender, kind=kind)
    if target is not None:
        return target
    if not strict and kind == K.TERMINATION and state is not None and state not in NEGOTIATION_TABLE.terminal:
        return N.TERMINATED
    raise InvalidTransition(NEGOTIATION_TABLE.explain(state, sender=sender, kind=kind))


def diagram(fmt: DiagramFormat = "mermaid") -> str:
    """The negotiation state diagram generated from :data:`NEGOTIATION_TABLE` (Mermaid or PlantUML)."""
    return NEGOTIATION_TABLE.diagram(fmt)
