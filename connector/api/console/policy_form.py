"""The dataset form's policy part: ready-made templates with parameters, or ODRL written by hand.

``policy_from_form`` returns the compact JSON-LD policy or the errors in words (with where), and the same function
serves the live preview, so what the page previews is exactly what registration stores.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from policies import Policy, PolicyError
from policies import templates as t

#: (checkbox name, label, hint) of each template offered on the form, in display order.
TEMPLATES = (
    ("t_membership", "Members of a data space only", "Consumers must prove membership with a credential."),
    ("t_purpose", "Only for some purposes", "The consumer declares a purpose when it uses the data."),
    ("t_uses", "A limited number of uses", "Counted in the usage ledger; the next pull is refused."),
    ("t_window", "Only during a time window", "Times are UTC."),
    ("t_region", "Only in some regions", "ISO 3166 country codes, e.g. DE, FR."),
    ("t_recipients", "Named participants only", "Their DIDs, e.g. did:web:partner.example."),
    ("t_compliant", "Gaia-X compliant consumers only", "A valid Gaia-X compliance credential is required."),
    ("t_credential", "A credential type is required", "e.g. MembershipCredential."),
)


@dataclass
class PolicyDraft:
    """The outcome of the policy part of the form."""

    jsonld: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)
    policy: Policy | None = None

    @property
    def ok(self) -> bool:
        return self.jsonld is not None and not self.errors


def _items(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


def _utc(text: str, label: str, errors: list[str]) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        errors.append(f"{label}: give a date and time such as 2026-06-01T09:00")
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _templates(form: Mapping[str, str], assigner: str) -> PolicyDraft:
    errors: list[str] = []
    parts: list[t.Template] = []

    def on(name: str) -> bool:
        return form.get(name) in ("on", "1", "true")

    if on("t_membership"):
        space = form.get("membership_dataspace", "").strip()
        if space:
            parts.append(t.membership_required(space))
        else:
            errors.append("Members only: name the data space")
    if on("t_purpose"):
        purposes = _items(form.get("purposes", ""))
        if purposes:
            parts.append(t.purpose_in(purposes))
        else:
            errors.append("Purposes: list at least one purpose")
    if on("t_uses"):
        raw = form.get("uses", "").strip()
        if raw.isdigit() and int(raw) >= 1:
            parts.append(t.at_most_uses(int(raw)))
        else:
            errors.append("Number of uses: give a whole number of at least 1")
    if on("t_window"):
        start = _utc(form.get("window_start", ""), "Window start", errors)
        end = _utc(form.get("window_end", ""), "Window end", errors)
        if start and end:
            if end <= start:
                errors.append("Time window: the end must be after the start")
            else:
                parts.append(t.time_window(start, end))
    if on("t_region"):
        codes = [c.upper() for c in _items(form.get("regions", ""))]
        if codes:
            parts.append(t.region(codes))
        else:
            errors.append("Regions: list at least one country code")
    if on("t_recipients"):
        dids = _items(form.get("recipients", ""))
        if dids:
            parts.append(t.named_recipients(dids))
        else:
            errors.append("Named participants: list at least one DID")
    if on("t_compliant"):
        parts.append(t.gaiax_compliant())
    if on("t_credential"):
        kind = form.get("credential_type", "").strip()
        if kind:
            parts.append(t.credential_required(kind))
        else:
            errors.append("Credential: name the credential type")
    if errors:
        return PolicyDraft(errors=errors)
    if not parts:
        # No restriction chosen: an open policy, said plainly on the preview ("May use the data.").
        return PolicyDraft(
            jsonld={
                "@context": "http://www.w3.org/ns/odrl.jsonld",
                "@type": "Set",
                "uid": f"urn:gxc:policy:open:{assigner}",
                "permission": [{"action": "use"}],
            }
        )
    combined = t.combine(*parts, assigner=assigner, policy_type="Set")
    return PolicyDraft(jsonld=combined.jsonld, policy=combined.policy)


def _written(text: str) -> PolicyDraft:
    if not text.strip():
        return PolicyDraft(errors=["Write an ODRL policy in JSON-LD, or choose the templates instead."])
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return PolicyDraft(errors=[f"line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})"])
    if not isinstance(value, dict):
        return PolicyDraft(errors=["The policy must be a JSON object (an ODRL Set, Offer or Agreement)."])
    return PolicyDraft(jsonld=value)


def policy_from_form(
    form: Mapping[str, str], *, assigner: str, parse: Callable[[Mapping[str, Any]], Policy]
) -> PolicyDraft:
    """The policy the form describes, validated by ``parse`` (the connector's policy engine)."""
    draft = _written(form.get("odrl", "")) if form.get("policy_mode") == "odrl" else _templates(form, assigner)
    if draft.jsonld is None:
        return draft
    try:
        draft.policy = parse(draft.jsonld)
    except PolicyError as exc:
        where = f" (at {exc.where})" if exc.where else ""
        draft.errors.append(f"{exc.message}{where}")
    return draft


EXAMPLE_ODRL = json.dumps(
    {
        "@context": "http://www.w3.org/ns/odrl.jsonld",
        "@type": "Set",
        "uid": "urn:policy:research-members",
        "permission": [
            {
                "action": "use",
                "constraint": [{"leftOperand": "purpose", "operator": "isAnyOf", "rightOperand": "research"}],
            }
        ],
    },
    indent=2,
)
