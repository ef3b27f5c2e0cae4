"""The machine-readable verification verdict (the ``gxc sd verify --json`` shape; also for the catalogue).

Shape (stable)::

    {"valid": bool,
     "presentation": {...same fields as a credential...} | null,
     "credentials": [{"index": 0, "id": str|null, "types": [str], "issuer": str|null, "format": "vc-jwt"|"jsonld",
                      "signature": "valid"|"invalid"|"unverifiable", "flavour": "gaia-x"|"specification"|null,
                      "alg": str|null, "trust": "valid"|"invalid"|"not-checked",
                      "validity": "valid"|"expired"|"not-yet-valid"|"invalid",
                      "status": "valid"|"revoked"|"suspended"|"not-checked"|"unverifiable",
                      "errors": [{"code": str, "message": str}]}],
     "shapes": {"conforms": bool, "version": str, "focus_nodes": int, "engine": str,
                "violations": [{"focus_node", "path", "message", "severity", "shape", "value"}]} | null,
     "errors": [{"code": str, "message": str}]}

``validity`` is ``invalid`` only when a date cannot be parsed; top-level ``errors`` hold problems that concern no
single credential (malformed input, SHACL could not run).

``status`` is the credential's W3C Bitstring Status List v1.0 status (§3.2; :mod:`self_descriptions.status_list`):
``valid`` (no revocation or suspension bit set, or no status entry), ``revoked`` / ``suspended`` (invalid, with the
error code ``revoked`` / ``suspended``), ``unverifiable`` (a status list could not be fetched or verified: invalid,
with the ``status-*`` error code), or ``not-checked`` (no status lists were available, e.g. offline without
``--status-list``, or the credential's own signature failed). Presentations are always ``not-checked``.
"""

from __future__ import annotations

from typing import Any

from self_descriptions.shacl import ShaclReport
from self_descriptions.verify import CredentialAssessment, PresentationAssessment, Problem


def credential_entry(result: CredentialAssessment, index: int | None) -> dict[str, Any]:
    entry: dict[str, Any] = {} if index is None else {"index": index}
    entry.update(
        {
            "id": result.id,
            "types": result.types,
            "issuer": result.issuer,
            "format": result.format,
            "signature": result.signature,
            "flavour": result.flavour,
            "alg": result.alg,
            "trust": result.trust,
            "validity": result.validity,
            "status": result.status,
            "errors": [problem_entry(p) for p in result.errors],
        }
    )
    return entry


def problem_entry(problem: Problem) -> dict[str, str]:
    return {"code": problem.code, "message": problem.message}


def verdict(
    assessment: PresentationAssessment,
    shapes: ShaclReport | None,
    *,
    errors: list[Problem] | None = None,
) -> dict[str, Any]:
    problems = [*assessment.errors, *(errors or [])]
    valid = assessment.ok and not problems and (shapes is None or shapes.conforms)
    return {
        "valid": valid,
        "presentation": None if assessment.presentation is None else credential_entry(assessment.presentation, None),
        "credentials": [credential_entry(c, i) for i, c in enumerate(assessment.credentials)],
        "shapes": None if shapes is None else shapes.as_dict(),
        "errors": [problem_entry(p) for p in problems],
    }
