"""A compliance report an auditor can read: what was checked, when, against which anchors and shapes version."""

from __future__ import annotations

from typing import Any


def render_text(data: dict[str, Any]) -> str:
    participant = data["participant"]
    submission = data["submission"]
    report = data["report"]
    trust = report.get("trust", {})
    lines = [
        f"Compliance report for {participant['participant']}",
        f"  name:            {participant.get('name') or '-'}",
        f"  status:          {participant['status']}"
        + (f" ({participant['reason']})" if participant.get("reason") else ""),
        f"  version:         {submission['version']} (submitted {submission['submittedAt']}, "
        f"origin {submission['origin']})",
        f"  digest:          sha256 {submission['digest']}",
        f"  last checked:    {report.get('checkedAt')}  compliant: {'yes' if report.get('compliant') else 'NO'}",
        f"  expires:         {report.get('expiresAt') or '-'}  ({_expiry(report.get('expiry') or {})})",
        f"  format:          {report.get('format')}, shapes {report.get('shapesVersion')}, "
        f"engine {trust.get('engine')}",
        "  trust anchors:   " + (", ".join(trust.get("anchorSubjects", [])) or "-"),
        "  anchor sha256:   " + ", ".join(a[:16] + "…" for a in trust.get("anchors", [])),
        "  notaries:        " + (", ".join(trust.get("notaries", [])) or "-"),
        "  compliance svc:  " + (", ".join(trust.get("complianceIssuers", [])) or "-"),
        "",
        "Checks:",
    ]
    for check in report.get("checks", []):
        mark = "PASS" if check.get("passed") else "FAIL"
        where = "" if check.get("credential") is None else f" [credential {check['credential']}]"
        code = f" ({check['code']})" if check.get("code") else ""
        lines.append(f"  {mark} {check.get('name')}{where}: {check.get('message')}{code}")
    lines.append("")
    lines.append("Credentials:")
    for credential in report.get("credentials", []):
        lines.append(
            f"  {credential.get('index')}: {', '.join(credential.get('types', []))} "
            f"issued by {credential.get('issuer')}"
            f" — signature {credential.get('signature')}, trust {credential.get('trust')}, "
            f"validity {credential.get('validity')}, status {credential.get('status', 'not-checked')}"
        )
    lines.append("")
    lines.append("Verification history of this version:")
    for entry in data.get("verifications", []):
        lines.append(
            f"  {entry['checkedAt']} {entry['reason']}: {'compliant' if entry['compliant'] else 'NOT compliant'}"
            + (f" ({len(entry['failures'])} failed)" if entry["failures"] else "")
        )
    lines.append("")
    lines.append("Versions:")
    for item in data.get("history", []):
        lines.append(
            f"  v{item['version']} {item['submittedAt']} from {item['origin']}: "
            f"{'compliant' if item['compliant'] else 'rejected'}"
        )
    return "\n".join(lines) + "\n"


def _expiry(detail: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in detail.items() if v]
    return ", ".join(parts) or "no expiry"
