"""The negotiation and transfer transition tables: every (state, sender, message) combination, random message
sequences (Hypothesis), diagrams generated from the tables."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.dsp import negotiation, transfer
from connector.dsp.errors import DspError, InvalidTransition
from connector.dsp.states import NegotiationMessageKind as K
from connector.dsp.states import NegotiationState as N
from connector.dsp.states import Role, TransferMessageKind
from connector.dsp.states import TransferState as T

pytestmark = pytest.mark.unit

C, P = Role.CONSUMER, Role.PROVIDER
TK = TransferMessageKind

#: The spec figure (DSP 2025-1 §negotiation), written out independently of the module under test.
NEGOTIATION_EXPECTED: dict[tuple[N | None, Role, K], N] = {
    (None, C, K.REQUEST): N.REQUESTED,
    (None, P, K.OFFER): N.OFFERED,
    (N.REQUESTED, P, K.OFFER): N.OFFERED,
    (N.REQUESTED, P, K.AGREEMENT): N.AGREED,
    (N.REQUESTED, C, K.TERMINATION): N.TERMINATED,
    (N.REQUESTED, P, K.TERMINATION): N.TERMINATED,
    (N.OFFERED, C, K.REQUEST): N.REQUESTED,
    (N.OFFERED, C, K.ACCEPTED): N.ACCEPTED,
    (N.OFFERED, C, K.TERMINATION): N.TERMINATED,
    (N.OFFERED, P, K.TERMINATION): N.TERMINATED,
    (N.ACCEPTED, P, K.AGREEMENT): N.AGREED,
    (N.ACCEPTED, P, K.TERMINATION): N.TERMINATED,
    (N.AGREED, C, K.VERIFICATION): N.VERIFIED,
    (N.AGREED, C, K.TERMINATION): N.TERMINATED,
    (N.VERIFIED, P, K.FINALIZED): N.FINALIZED,
    (N.VERIFIED, P, K.TERMINATION): N.TERMINATED,
}

#: The spec figure (DSP 2025-1 §transfer).
TRANSFER_EXPECTED: dict[tuple[T | None, Role, TK], T] = {
    (None, C, TK.REQUEST): T.REQUESTED,
    (T.REQUESTED, P, TK.START): T.STARTED,
    **{(T.REQUESTED, r, TK.TERMINATION): T.TERMINATED for r in (C, P)},
    **{(T.STARTED, r, TK.COMPLETION): T.COMPLETED for r in (C, P)},
    **{(T.STARTED, r, TK.SUSPENSION): T.SUSPENDED for r in (C, P)},
    **{(T.STARTED, r, TK.TERMINATION): T.TERMINATED for r in (C, P)},
    **{(T.SUSPENDED, r, TK.START): T.STARTED for r in (C, P)},
    **{(T.SUSPENDED, r, TK.TERMINATION): T.TERMINATED for r in (C, P)},
}

NEGOTIATION_CASES = list(itertools.product([None, *N], [C, P], list(K)))
TRANSFER_CASES = list(itertools.product([None, *T], [C, P], list(TK)))


def _lenient_expected(state: N | None, sender: Role, kind: K) -> N | None:
    expected = NEGOTIATION_EXPECTED.get((state, sender, kind))
    if expected is None and kind is K.TERMINATION and state is not None and not state.terminal:
        return N.TERMINATED  # spec prose: termination "can be sent at any state"
    return expected


@pytest.mark.parametrize(("state", "sender", "kind"), NEGOTIATION_CASES, ids=str)
def test_negotiation_strict_every_combination(state: N | None, sender: Role, kind: K) -> None:
    expected = NEGOTIATION_EXPECTED.get((state, sender, kind))
    if expected is None:
        with pytest.raises(InvalidTransition) as info:
            negotiation.next_state(state, sender=sender, kind=kind, strict=True)
        assert info.value.status == 400
        assert info.value.code == "invalid-transition"
    else:
        assert negotiation.next_state(state, sender=sender, kind=kind, strict=True) is expected


@pytest.mark.parametrize(("state", "sender", "kind"), NEGOTIATION_CASES, ids=str)
def test_negotiation_lenient_every_combination(state: N | None, sender: Role, kind: K) -> None:
    expected = _lenient_expected(state, sender, kind)
    if expected is None:
        with pytest.raises(InvalidTransition):
            negotiation.next_state(state, sender=sender, kind=kind)
    else:
        assert negotiation.next_state(state, sender=sender, kind=kind) is expected


@pytest.mark.parametrize(("state", "sender", "kind"), TRANSFER_CASES, ids=str)
def test_transfer_every_combination(state: T | None, sender: Role, kind: TK) -> None:
    expected = TRANSFER_EXPECTED.get((state, sender, kind))
    if expected is None:
        with pytest.raises(InvalidTransition) as info:
            transfer.next_state(state, sender=sender, kind=kind)
        assert info.value.status == 400
    else:
        assert transfer.next_state(state, sender=sender, kind=kind) is expected


def test_tables_are_exactly_the_spec_figures() -> None:
    table = {(r.source, s, r.kind): r.target for r in negotiation.NEGOTIATION_TABLE for s in r.senders}
    assert table == NEGOTIATION_EXPECTED
    table_t = {(r.source, s, r.kind): r.target for r in transfer.TRANSFER_TABLE for s in r.senders}
    assert table_t == TRANSFER_EXPECTED


@pytest.mark.parametrize(
    ("state", "sender", "kind"),
    [
        (N.REQUESTED, C, K.REQUEST),  # TCK CN:03-04: two consecutive counter-requests
        (N.OFFERED, C, K.VERIFICATION),  # CN:03-02
        (N.ACCEPTED, C, K.VERIFICATION),  # CN:03-03
        (N.FINALIZED, C, K.TERMINATION),  # CN:03-01
        (N.REQUESTED, P, K.FINALIZED),  # CN_C:03-01
        (N.OFFERED, P, K.AGREEMENT),  # CN_C:03-02
        (N.OFFERED, P, K.FINALIZED),  # CN_C:03-03
        (N.ACCEPTED, P, K.FINALIZED),  # CN_C:03-04
        (N.ACCEPTED, P, K.OFFER),  # CN_C:03-05
        (N.AGREED, P, K.FINALIZED),  # CN_C:03-06
        (N.OFFERED, P, K.ACCEPTED),  # ACCEPTED only from the consumer
        (N.VERIFIED, C, K.FINALIZED),  # FINALIZED only from the provider
        (None, P, K.REQUEST),
        (None, C, K.TERMINATION),
    ],
)
def test_tck_negative_negotiation_cases(state: N | None, sender: Role, kind: K) -> None:
    with pytest.raises(InvalidTransition):
        negotiation.next_state(state, sender=sender, kind=kind)


@pytest.mark.parametrize(
    ("state", "kind"),
    [
        (T.REQUESTED, TK.COMPLETION),  # TP:03-01
        (T.REQUESTED, TK.SUSPENSION),  # TP:03-02
        (T.SUSPENDED, TK.COMPLETION),  # TP:03-03
        (T.TERMINATED, TK.START),  # TP:03-04
        (T.TERMINATED, TK.SUSPENSION),  # TP:03-05
        (T.TERMINATED, TK.COMPLETION),  # TP:03-06
        (T.STARTED, TK.START),
        (T.COMPLETED, TK.TERMINATION),
    ],
)
@pytest.mark.parametrize("sender", [C, P])
def test_tck_negative_transfer_cases(state: T, kind: TK, sender: Role) -> None:
    with pytest.raises(InvalidTransition):
        transfer.next_state(state, sender=sender, kind=kind)


def test_only_the_provider_starts_a_requested_transfer() -> None:
    with pytest.raises(InvalidTransition):
        transfer.next_state(T.REQUESTED, sender=C, kind=TK.START)


def test_unknown_kind_and_terminal_explanations() -> None:
    with pytest.raises(InvalidTransition, match="not a message of this protocol"):
        negotiation.next_state(N.REQUESTED, sender=C, kind="TransferStartMessage")
    with pytest.raises(InvalidTransition, match="terminal"):
        transfer.next_state(T.COMPLETED, sender=P, kind=TK.TERMINATION)
    with pytest.raises(InvalidTransition, match=r"allowed: .*ContractOfferMessage from provider"):
        negotiation.next_state(N.REQUESTED, sender=C, kind=K.REQUEST)
    assert issubclass(InvalidTransition, DspError)


def test_kinds_accept_plain_strings() -> None:
    assert negotiation.next_state(None, sender=C, kind="ContractRequestMessage") is N.REQUESTED
    assert negotiation.next_state(N.OFFERED, sender=C, kind="ContractNegotiationEventMessage:ACCEPTED") is N.ACCEPTED


# --- random message sequences ----------------------------------------------------------------------------------------

negotiation_steps = st.lists(st.tuples(st.sampled_from([C, P]), st.sampled_from(list(K))), max_size=12)
transfer_steps = st.lists(st.tuples(st.sampled_from([C, P]), st.sampled_from(list(TK))), max_size=12)


@settings(max_examples=300, deadline=None)
@given(steps=negotiation_steps, strict=st.booleans())
def test_negotiation_sequences_follow_the_table(steps: list[tuple[Role, K]], strict: bool) -> None:
    state: N | None = None
    for sender, kind in steps:
        try:
            after = negotiation.next_state(state, sender=sender, kind=kind, strict=strict)
        except InvalidTransition:
            assert (state, sender, kind) not in NEGOTIATION_EXPECTED
            continue  # a refused message leaves the state as it was
        assert state is None or not state.terminal, "terminal states absorb nothing"
        allowed = NEGOTIATION_EXPECTED.get((state, sender, kind)) if strict else _lenient_expected(state, sender, kind)
        assert after is allowed
        state = after


@settings(max_examples=300, deadline=None)
@given(steps=transfer_steps)
def test_transfer_sequences_follow_the_table(steps: list[tuple[Role, TK]]) -> None:
    state: T | None = None
    for sender, kind in steps:
        try:
            after = transfer.next_state(state, sender=sender, kind=kind)
        except InvalidTransition:
            assert (state, sender, kind) not in TRANSFER_EXPECTED
            continue
        assert state is None or not state.terminal
        assert after is TRANSFER_EXPECTED[(state, sender, kind)]
        state = after


@settings(max_examples=200, deadline=None)
@given(steps=negotiation_steps)
def test_terminal_negotiation_states_absorb_nothing(steps: list[tuple[Role, K]]) -> None:
    for terminal in (N.FINALIZED, N.TERMINATED):
        for sender, kind in steps:
            with pytest.raises(InvalidTransition):
                negotiation.next_state(terminal, sender=sender, kind=kind)


def test_happy_paths_of_the_tck() -> None:
    state: N | None = None
    for sender, kind in [
        (C, K.REQUEST),
        (P, K.OFFER),
        (C, K.ACCEPTED),
        (P, K.AGREEMENT),
        (C, K.VERIFICATION),
        (P, K.FINALIZED),
    ]:
        state = negotiation.next_state(state, sender=sender, kind=kind, strict=True)
    assert state is N.FINALIZED
    t: T | None = None
    for sender, tkind in [
        (C, TK.REQUEST),
        (P, TK.START),
        (C, TK.SUSPENSION),
        (C, TK.START),
        (P, TK.SUSPENSION),
        (P, TK.START),
        (C, TK.COMPLETION),
    ]:
        t = transfer.next_state(t, sender=sender, kind=tkind)
    assert t is T.COMPLETED


# --- diagrams ------------------------------------------------------------------------------------------------------

_MERMAID_EDGE = re.compile(r"^    (\S+) --> (\S+): (\S+) \((C|P|C/P)\)$")
_PLANTUML_EDGE = re.compile(r"^(\S+) --> (\S+) : (\S+) \((C|P|C/P)\)$")
_LETTERS = {"C": {C}, "P": {P}, "C/P": {C, P}}


def _edges(text: str, pattern: re.Pattern[str]) -> dict[tuple[str | None, Role, str], str]:
    edges: dict[tuple[str | None, Role, str], str] = {}
    for line in text.splitlines():
        match = pattern.match(line)
        if match:
            source, target, kind, senders = match.groups()
            for sender in _LETTERS[senders]:
                edges[(None if source == "[*]" else source, sender, kind)] = target
    return edges


@pytest.mark.parametrize(("module", "expected"), [(negotiation, NEGOTIATION_EXPECTED), (transfer, TRANSFER_EXPECTED)])
def test_diagrams_encode_exactly_the_table(module: object, expected: dict[tuple[object, Role, object], object]) -> None:
    as_text = {(None if s is None else str(s), r, str(k)): str(t) for (s, r, k), t in expected.items()}
    mermaid = module.diagram("mermaid")  # type: ignore[attr-defined]
    plantuml = module.diagram("plantuml")  # type: ignore[attr-defined]
    assert mermaid.startswith("stateDiagram-v2\n")
    assert plantuml.startswith("@startuml ")
    assert plantuml.rstrip().endswith("@enduml")
    assert _edges(mermaid, _MERMAID_EDGE) == as_text
    assert _edges(plantuml, _PLANTUML_EDGE) == as_text
    for line in mermaid.splitlines()[1:]:
        assert _MERMAID_EDGE.match(line) or re.match(r"^    (FINALIZED|TERMINATED|COMPLETED) --> \[\*\]$", line)


def test_negotiation_mermaid_snapshot_lines() -> None:
    mermaid = negotiation.diagram()
    assert "    [*] --> REQUESTED: ContractRequestMessage (C)" in mermaid
    assert "    OFFERED --> ACCEPTED: ContractNegotiationEventMessage:ACCEPTED (C)" in mermaid
    assert "    REQUESTED --> TERMINATED: ContractNegotiationTerminationMessage (C/P)" in mermaid
    assert "    FINALIZED --> [*]" in mermaid


def test_unknown_diagram_format() -> None:
    with pytest.raises(ValueError, match="diagram format"):
        transfer.TRANSFER_TABLE.diagram("svg")  # type: ignore[arg-type]
