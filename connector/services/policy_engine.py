"""The connector's use of ``policies``: parse once, compile per scope, bind operands to the connector's scopes.

Scopes (odrl.md §3.2, the EDC model): ``catalog`` decides whether a requester sees an offer (access policy),
``negotiation`` whether it may agree to it (contract policy), ``transfer`` whether a transfer may start, ``access``
every pull of the data plane, ``monitor`` the periodic re-check of running transfers.

Usage constraints (how often, for which purpose, how long after the agreement) cannot be decided before the data
is used: in the ``catalog`` and ``negotiation`` scopes they are *deferred* — reported as deferred and enforced in
the ``transfer``/``access``/``monitor`` scopes on every use — rather than silently dropped (EDC) or failing every
negotiation (a purpose no protocol message carries would be "missing"). Everything else — time windows, who the
party is, what it has proven with credentials — is decided at negotiation time with the caller's verified claims.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from connector.dsp import DSP_CONTEXT_URL
from policies import CompiledPolicy, Policy, Report, Request, World, compile_policy, parse_policy
from policies.operands import Deferred, Operand, OperandRegistry, default_registry
from policies.vocabulary import ODRL
from self_descriptions.loader import DocumentLoader

#: Left operands that describe the use of data, not the party or the moment of agreement.
USAGE_OPERANDS = (
    "purpose",
    "count",
    "elapsedTime",
    "meteredTime",
    "delayPeriod",
    "recipient",
    "spatial",
    "spatialCoordinates",
    "event",
    "payAmount",
    "percentage",
    "deliveryChannel",
    "systemDevice",
    "virtualLocation",
)
PRE_USE_SCOPES = ("catalog", "negotiation")
CACHE_SIZE = 1024


def _deferred(context: Any, constraint: Any) -> Deferred:
    return Deferred("a usage constraint, enforced on every access")


def connector_registry() -> OperandRegistry:
    """Built-in operands everywhere, with usage operands deferred before use."""
    registry = default_registry()
    for name in USAGE_OPERANDS:
        builtin = registry.lookup("access", ODRL + name)
        kind = builtin.kind if builtin else "token"
        registry.register(
            Operand(ODRL + name, kind, _deferred, f"{name}: deferred to the access scope"), scopes=PRE_USE_SCOPES
        )
    # The purpose is declared with each access: a transfer request or a monitor pass has none to decide on.
    purpose = registry.lookup("access", ODRL + "purpose")
    registry.register(
        Operand(ODRL + "purpose", purpose.kind if purpose else "token", _deferred, "purpose: decided per access"),
        scopes=("transfer", "monitor"),
    )
    registry.load_entry_points()
    return registry


class PolicyEngine:
    """Parses and compiles policies once (keyed by content), evaluates them in a scope."""

    def __init__(self, loader: DocumentLoader, registry: OperandRegistry | None = None) -> None:
        self.loader = loader
        self.registry = registry or connector_registry()
        self._parsed: dict[str, Policy] = {}
        self._compiled: dict[tuple[str, str], CompiledPolicy] = {}

    def parse(self, document: Mapping[str, Any]) -> Policy:
        """Parse a policy; one without ``@context`` is read in the DSP 2025-1 context, as offers and agreements
        inside DSP messages are (they inherit the message's context)."""
        key = _digest(document)
        policy = self._parsed.get(key)
        if policy is None:
            data = dict(document)
            data.setdefault("@context", [DSP_CONTEXT_URL])
            policy = parse_policy(data, loader=self.loader)
            if len(self._parsed) >= CACHE_SIZE:
                self._parsed.clear()
            self._parsed[key] = policy
        return policy

    def compiled(self, document: Mapping[str, Any], scope: str) -> CompiledPolicy:
        key = (_digest(document), scope)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = compile_policy(self.parse(document), scope=scope, registry=self.registry)
            if len(self._compiled) >= CACHE_SIZE:
                self._compiled.clear()
            self._compiled[key] = compiled
        return compiled

    def evaluate(self, document: Mapping[str, Any], scope: str, request: Request, world: World) -> Report:
        return self.compiled(document, scope).evaluate(request, world)


def _digest(document: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
