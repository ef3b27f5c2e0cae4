"""Run schemathesis-generated requests against a live server and collect every answer that breaks the rules.

The rules (issue 9 §3): no 5xx; every 4xx carries a well-formed error body — RFC 9457 problem+json (management API,
data plane, catalogue) or the DSP 2025-1 error object (``@type`` ``...Error`` with ``code``/``reason``).
Generation runs in a worker thread (schemathesis calls are synchronous) while the servers keep running in the
test's event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st


@schemathesis.serializer("application/sparql-query", "application/vp+jwt", "application/jwt", "application/vc+jwt")
def _text(ctx: Any, value: Any) -> bytes:
    """Text bodies (SPARQL, compact JWTs): whatever was generated, as UTF-8."""
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else json.dumps(value).encode()


@dataclass
class Finding:
    operation: str
    status: int
    body: str
    request: str


@dataclass
class Fuzzer:
    spec: dict[str, Any]
    base_url: str
    headers: Callable[[str], dict[str, str]] = field(default=lambda label: {})
    skip: Callable[[str], bool] = field(default=lambda label: False)
    examples: int = 5
    findings: list[Finding] = field(default_factory=list)
    calls: int = 0

    def run(self) -> None:
        schema = schemathesis.openapi.from_dict(self.spec)
        session = requests.Session()
        for result in schema.get_all_operations():
            operation = result.ok()
            if self.skip(operation.label):
                continue
            self._fuzz(operation, session)

    def _fuzz(self, operation: Any, session: requests.Session) -> None:
        @settings(
            max_examples=self.examples,
            deadline=None,
            database=None,
            derandomize=True,  # the same requests on every run: a finding is reproducible
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(), extra=st.booleans())
        def one(case: Any, extra: bool) -> None:
            headers = dict(case.headers or {})
            if extra:
                headers.update(self.headers(operation.label))
            try:
                response = case.call(base_url=self.base_url, session=session, headers=headers, timeout=30)
            except requests.RequestException as exc:
                self.findings.append(Finding(operation.label, 0, repr(exc), _describe(case)))
                return
            self.calls += 1
            content_type = response.headers.get("content-type") or [""]
            if isinstance(content_type, list):
                content_type = content_type[0]
            problem = judge(response.status_code, content_type, response.content, head=case.method == "HEAD")
            if problem:
                self.findings.append(
                    Finding(
                        operation.label, response.status_code, problem + ": " + response.text[:300], _describe(case)
                    )
                )

        one()


def judge(status: int, content_type: str, body: bytes, *, head: bool = False) -> str | None:
    """None when the answer follows the rules, else what is wrong."""
    if status >= 500:
        return "server error"
    if status < 400 or head:  # a HEAD answer has no body by definition (RFC 9110 §9.3.2)
        return None
    if "json" not in content_type:
        return f"4xx with content-type {content_type!r}"
    try:
        value = json.loads(body)
    except ValueError:
        return "4xx body is not JSON"
    if not isinstance(value, dict):
        return "4xx body is not an object"
    if str(value.get("@type", "")).endswith("Error"):  # DSP 2025-1 error object
        return None if (value.get("code") or value.get("reason")) else "DSP error without code or reason"
    if value.get("type") == "Error" and value.get("message"):  # DCP 1.0 Credential Service error
        return None
    missing = [k for k in ("type", "title", "status", "detail") if k not in value]
    if missing:
        return f"problem+json without {missing}"
    if value["status"] != status:
        return f"problem status {value['status']} differs from HTTP {status}"
    return None


def _describe(case: Any) -> str:
    return f"{case.method} {case.formatted_path} query={case.query} body={str(case.body)[:200]}"


async def fuzz(fuzzer: Fuzzer) -> Fuzzer:
    await asyncio.to_thread(fuzzer.run)
    return fuzzer


def report(findings: Iterable[Finding]) -> str:
    return "\n".join(f"{f.operation} -> {f.status}: {f.body}\n    {f.request}" for f in findings)
