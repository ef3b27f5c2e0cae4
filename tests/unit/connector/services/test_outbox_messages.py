"""Outbound messages: ids sort in creation order, and pids unknown at enqueue time are filled at delivery."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace
from typing import Any, cast

from connector.domain import TransferProcess
from connector.dsp import TransferTerminationMessage, paths
from connector.dsp.states import Role, TransferState
from connector.services.outbox import complete, message_id, missing_pids, transfer_message
from connector.services.runtime import Runtime

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
RT = cast(Runtime, SimpleNamespace(now=lambda: T0))


def consumer_transfer(**over: Any) -> TransferProcess:
    values: dict[str, Any] = {
        "id": "tp-1",
        "role": Role.CONSUMER,
        "consumer_pid": "urn:uuid:c",
        "agreement_id": "agr",
        "asset_id": "asset",
        "counter_party_id": "did:web:provider.example",
        "counter_party_address": "https://provider.example/dsp/",
        "format": "HttpData-PULL",
        "state": TransferState.REQUESTED,
        "created_at": T0,
        "updated_at": T0,
    }
    return TransferProcess(**{**values, **over})


def test_message_ids_are_uuid7_in_creation_order() -> None:
    ids = [message_id() for _ in range(5000)]  # many within one millisecond: the counter keeps the order
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(i.removeprefix("urn:uuid:")).version == 7 for i in ids)


def test_a_termination_before_the_providers_ack_gets_its_pid_at_delivery() -> None:
    before_ack = consumer_transfer()
    termination = TransferTerminationMessage(provider_pid="", consumer_pid="urn:uuid:c", code="x", reason=["y"])
    message = transfer_message(RT, before_ack, termination, paths.TRANSFER_TERMINATION)
    assert message.target_url == "https://provider.example/dsp/transfers/{providerPid}/termination"
    assert missing_pids(message) == ["providerPid"]
    assert complete(message, before_ack) == message  # still unknown

    acked = before_ack.evolve(provider_pid="urn:uuid:p")
    ready = complete(message, acked)
    assert ready.target_url == "https://provider.example/dsp/transfers/urn:uuid:p/termination"
    assert missing_pids(ready) == []
    assert ready.body["providerPid"] == "urn:uuid:p"
    assert ready.body["consumerPid"] == "urn:uuid:c"
    assert {k: v for k, v in ready.body.items() if k != "providerPid"} == {
        k: v for k, v in message.body.items() if k != "providerPid"
    }


def test_a_message_with_every_pid_known_is_left_alone() -> None:
    t = consumer_transfer(provider_pid="urn:uuid:p", state=TransferState.STARTED)
    message = transfer_message(
        RT,
        t,
        TransferTerminationMessage(provider_pid="urn:uuid:p", consumer_pid="urn:uuid:c", code="x"),
        paths.TRANSFER_TERMINATION,
    )
    assert complete(message, t) is message
