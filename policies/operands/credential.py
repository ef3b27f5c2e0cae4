"""Data-space left operands over the requesting party's *verified* credential claims (this connector's profile).

IRIs live in the profile namespace ``https://w3id.org/gaia-x/connector/policy/`` (prefix ``gxc:``). Values come
from ``World.claims``, which the connector fills after verifying the party's presentation (DCP, dsp.md §9); the
policy library never sees raw credentials. Claim keys equal the operand's local name:

- ``gxc:membership`` (token set): data spaces / federations the party is a verified member of;
- ``gxc:gaiaxCompliant`` (boolean): holds a valid Gaia-X compliance credential;
- ``gxc:credentialType`` (token set): types of the verified credentials presented;
- ``gxc:participant`` (token): the verified participant DID;
- ``gxc:legalAddressCountry`` / ``gxc:headquartersCountry`` (token, ISO 3166 code), ``gxc:registrationNumber``,
  ``gxc:legalName`` (token), ``gxc:issuer`` (token set: trusted issuers of the presented credentials).
"""

from __future__ import annotations

from typing import Any

from policies.model import Constraint
from policies.operands.registry import Context, Missing, Operand, OperandRegistry
from policies.values import Kind
from policies.vocabulary import GXC

CLAIMS: dict[str, Kind] = {
    "membership": "token",
    "gaiaxCompliant": "boolean",
    "credentialType": "token",
    "participant": "token",
    "legalAddressCountry": "token",
    "headquartersCountry": "token",
    "registrationNumber": "token",
    "legalName": "token",
    "issuer": "token",
}


def _claim(context: Context, constraint: Constraint) -> Any:
    name = constraint.left_operand[len(GXC) :]
    value = context.world.claims.get(name)
    if value is None:
        return Missing(f"the party presented no verified claim {name}")
    return value


def register(registry: OperandRegistry) -> None:
    for name, kind in CLAIMS.items():
        registry.register(Operand(GXC + name, kind, _claim, f"verified credential claim {name}"))
