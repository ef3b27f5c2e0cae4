"""Reading evaluation requests and states of the world from documents (CG formal semantics §3).

Requests: the CG *Evaluation Request* (``evaluatedAction``, ``evaluatedParty``, ``evaluatedTarget``,
``requestParameters`` of ``{describesFeature, value}``; ``sotw:CurrentXSDDateTime`` sets the time), or an
``odrl:Request`` policy (its first permission's action / target / assignee; ``eq`` / ``isAnyOf`` constraints
become parameters), or plain JSON ``{"action", "target", "party", "parameters"}``.

Worlds: plain JSON (``now``, ``partOf``, ``classes``, ``performed``, ``counters``, ``measures``, ``claims``,
``facts``, ``references``) or a CG ``SotW`` document whose ``context`` entries are read as performed actions
(``pay:Payment`` = ``compensate`` by ``pay:payer`` at ``pay:paymentDate`` with ``payAmount``/unit) and
``currentTime``. Keys are read in compact form; full IRIs of the same names are accepted too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from policies.errors import RequestError
from policies.model import Constraint, Policy
from policies.state import PerformedAction, Request, World
from policies.values import parse_time
from policies.vocabulary import ODRL, expand_term


def _local(key: str) -> str:
    for sep in ("#", "/", ":"):
        if sep in key:
            key = key.rsplit(sep, 1)[-1]
    return key


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        if "@value" in value:
            return value["@value"]
        if "@id" in value:
            return value["@id"]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _get(data: Mapping[str, Any], name: str) -> Any:
    for key, value in data.items():
        if key == name or _local(key) == name:
            return _plain(value)
    return None


def _time(value: Any, where: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = parse_time(str(value).replace(" ", "T")).start
        except ValueError as exc:
            raise RequestError(str(exc), where=where) from None
    if moment.tzinfo is None:
        # CG examples carry zone-less times; a world without a zone is read as UTC and the CLI says so.
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


def request_from_policy(policy: Policy) -> Request:
    """An ``odrl:Request`` policy as an evaluation request."""
    if not policy.permissions:
        raise RequestError("an odrl:Request needs a permission stating the requested action", where=policy.uid)
    rule = policy.permissions[0]
    parameters: dict[str, Any] = {}
    for c in rule.constraints:
        if isinstance(c, Constraint) and c.operator in (ODRL + "eq", ODRL + "isAnyOf"):
            values = [t.value for t in c.right_operand]
            parameters[c.left_operand] = values[0] if len(values) == 1 else values
    return Request(
        action=rule.action.iri,
        target=rule.target.ref if rule.target else None,
        party=rule.assignee.ref if rule.assignee else None,
        parameters=parameters,
    )


def request_from_document(data: Mapping[str, Any]) -> tuple[Request, dt.datetime | None]:
    """A CG Evaluation Request or plain JSON request; also returns a time it states (``CurrentXSDDateTime``)."""
    action = _get(data, "evaluatedAction") or _get(data, "action")
    if not isinstance(action, str):
        raise RequestError("the request has no evaluatedAction / action")
    parameters: dict[str, Any] = {}
    now: dt.datetime | None = None
    raw = data.get("requestParameters") or []
    for param in raw if isinstance(raw, list) else [raw]:
        if not isinstance(param, Mapping):
            continue
        feature = _get(param, "describesFeature")
        value = _get(param, "value")
        if not isinstance(feature, str):
            raise RequestError("a request parameter has no describesFeature", where="requestParameters")
        if _local(feature) in ("CurrentXSDDateTime", "CurrentDateTime", "currentTime"):
            now = _time(value, "requestParameters")
        else:
            parameters[expand_term(feature)] = value
    plain = data.get("parameters")
    if isinstance(plain, Mapping):
        parameters.update({expand_term(k): v for k, v in plain.items()})
    target = _get(data, "evaluatedTarget") or _get(data, "target")
    party = _get(data, "evaluatedParty") or _get(data, "party")
    return Request(action=action, target=target, party=party, parameters=parameters), now


def world_from_document(data: Mapping[str, Any], *, now: dt.datetime | None = None) -> World:
    """Plain-JSON world or CG ``SotW``; ``now`` (e.g. from the request) wins over the document's time."""
    stated = _get(data, "now") or _get(data, "currentTime")
    moment = now or (_time(stated, "now") if stated else None)
    if moment is None:
        raise RequestError("the state of the world has no time (now / currentTime) and the request states none")
    performed: list[PerformedAction] = []
    for i, item in enumerate(data.get("performed", []) or []):
        performed.append(
            PerformedAction(
                action=str(item["action"]),
                time=_time(item["time"], f"performed/{i}"),
                party=item.get("party"),
                target=item.get("target"),
                parameters=item.get("parameters", {}),
            )
        )
    contexts = data.get("context") or []
    for i, item in enumerate(contexts if isinstance(contexts, list) else [contexts]):
        if isinstance(item, Mapping) and "Payment" in str(item.get("@type", "")):
            amount = _get(item, "netAmount")
            params = {"payAmount": {"value": amount, "unit": _get(item, "currency")}} if amount is not None else {}
            performed.append(
                PerformedAction(
                    "compensate",
                    _time(_get(item, "paymentDate"), f"context/{i}"),
                    party=_get(item, "payer"),
                    parameters=params,
                )
            )

    def mapping(name: str) -> dict[str, Any]:
        value = data.get(name) or {}
        if not isinstance(value, Mapping):
            raise RequestError(f"{name} must be an object", where=name)
        return dict(value)

    return World(
        now=moment,
        part_of=mapping("partOf"),
        classes=mapping("classes"),
        performed=tuple(performed),
        counters=mapping("counters"),
        measures=mapping("measures"),
        claims=mapping("claims"),
        facts=mapping("facts"),
        references=mapping("references"),
    )
