"""Verification and compliance canonicalize credentials from outside in the worker pool, bounded by its timeout.

A JsonWebSignature2020 credential whose subject carries a poison dataset (RDFC-1.0 §7.1; the W3C clique test, hours
of work in pyld) is refused with ``canonicalization-timeout`` instead of holding the verifier, and only that
credential fails: the others in the same presentation verify as usual. Real worker processes, no mocks.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from self_descriptions.canonical_worker import InProcess, WorkerPool, default_pool
from self_descriptions.compliance import check_compliance
from self_descriptions.proofs.jws2020 import sign_jws2020, verify_jws2020
from self_descriptions.shacl import validate, validate_async
from self_descriptions.verify import VerificationError, assess_presentation, make_context, verify_credential
from tests.fixtures.self_descriptions.poison import poison_credential
from tests.fixtures.self_descriptions.world import World, tagus_participant

pytestmark = pytest.mark.integration

GENEROUS = 10.0
GXC = str(Path(sys.executable).parent / "gxc")


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    with WorkerPool(workers=1, timeout=1.0) as p:
        yield p


def _signed(world: World, flavour: str = "gaia-x") -> dict[str, Any]:
    p = world.participant
    return sign_jws2020(
        tagus_participant(p.did),
        p.key,
        verification_method=p.kid,
        created="2026-02-01T00:00:00Z",
        flavour=flavour,  # type: ignore[arg-type]
    )


def _poison(world: World) -> dict[str, Any]:
    p = world.participant
    return poison_credential(p.did, p.key, p.kid)


async def test_poisoned_credential_fails_with_the_timeout_reason(world: World, pool: WorkerPool) -> None:
    started = time.monotonic()
    with pytest.raises(VerificationError) as info:
        await verify_credential(
            _poison(world), resolver=world.resolver(), trust_anchors=None, now=world.now, canonicalizer=pool
        )
    assert time.monotonic() - started < 1.0 + GENEROUS
    assert info.value.code == "canonicalization-timeout"
    assert "exceeded 1 s" in info.value.message
    assert info.value.assessment is not None
    assert info.value.assessment.signature == "invalid"
    assert pool.stats.timeouts == 1
    # the pool recovered: the next credential verifies
    result = await verify_credential(
        _signed(world), resolver=world.resolver(), trust_anchors=None, now=world.now, canonicalizer=pool
    )
    assert result.flavour == "gaia-x"


async def test_only_the_poisoned_credential_of_a_presentation_fails(world: World, pool: WorkerPool) -> None:
    vp = {
        "@context": "https://www.w3.org/2018/credentials/v1",
        "type": "VerifiablePresentation",
        "verifiableCredential": [_signed(world), _poison(world), _signed(world, "specification")],
    }
    ctx = make_context(resolver=world.resolver(), trust_anchors=None, now=world.now, canonicalizer=pool)
    result = await assess_presentation(vp, ctx)
    good, bad, spec = result.credentials
    assert (good.signature, good.flavour) == ("valid", "gaia-x")
    assert (spec.signature, spec.flavour) == ("valid", "specification")
    assert bad.signature == "invalid"
    assert [p.code for p in bad.errors] == ["canonicalization-timeout"]


async def test_compliance_lists_the_timeout_as_a_failed_check(world: World, pool: WorkerPool) -> None:
    vp = {
        "@context": "https://www.w3.org/2018/credentials/v1",
        "type": "VerifiablePresentation",
        "verifiableCredential": [_poison(world)],
    }
    verdict = await check_compliance(
        vp,
        resolver=world.resolver(),
        trust_anchors=None,
        trusted_notaries=[world.notary.did],
        now=world.now,
        shapes="22.10",
        canonicalizer=pool,
    )
    assert not verdict.compliant
    assert "canonicalization-timeout" in {c.code for c in verdict.failures}


async def test_verification_uses_the_default_pool_when_none_is_configured(world: World) -> None:
    before = default_pool().stats.calls
    result = await verify_credential(_signed(world), resolver=world.resolver(), trust_anchors=None, now=world.now)
    assert result.signature == "valid"
    assert default_pool().stats.calls > before


def test_sync_verification_through_the_pool_matches_in_process(world: World, pool: WorkerPool) -> None:
    jwk = world.participant.key.public_jwk()
    for flavour in ("gaia-x", "specification"):
        signed = _signed(world, flavour)
        assert verify_jws2020(signed, jwk, canonicalizer=pool) == verify_jws2020(signed, jwk) == flavour


async def test_shacl_data_graph_from_the_worker_gives_the_in_process_report(world: World, pool: WorkerPool) -> None:
    documents = world.self_description.all()
    expected = validate(documents)
    assert (await validate_async(documents, canonicalizer=pool)) == expected
    assert validate(documents, canonicalizer=pool) == expected
    assert (await validate_async(documents, canonicalizer=InProcess())) == expected
    assert expected.focus_nodes > 0


def test_gxc_sd_verify_reports_the_timeout_and_exits_1(world: World, tmp_path: Path) -> None:
    """The real console script (its worker is spawned from the ``gxc`` entry point, as a user runs it)."""
    poisoned = tmp_path / "poisoned.json"
    poisoned.write_text(json.dumps(_poison(world)), encoding="utf-8")
    did_document = tmp_path / "participant.did.json"
    did_document.write_text(json.dumps(world.participant.document), encoding="utf-8")
    args = ["--json", "--no-trust-chain", "--no-shapes", "--did-document", str(did_document)]
    args += ["--at", world.now.isoformat(), "--canonicalization-timeout", "1"]
    started = time.monotonic()
    result = subprocess.run(
        [GXC, "sd", "verify", str(poisoned), *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert time.monotonic() - started < 60  # generous: interpreter, imports, one worker start, 1 s budget
    assert result.returncode == 1, result.stderr
    [credential] = json.loads(result.stdout)["credentials"]
    assert credential["errors"][0]["code"] == "canonicalization-timeout"
    assert "exceeded 1 s" in credential["errors"][0]["message"]
