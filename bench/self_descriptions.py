"""Self-description benchmarks, each with a baseline measured in the same run.

* Loire VP (3 VC-JWTs) verifications/s, DID documents cached (offline resolver), trust chains cached.
  Baseline: the same verification with jwcrypto doing the JWS checks.
* Tagus VC (JsonWebSignature2020, Gaia-X flavour) verifications/s: our canonicalizer path (in process) vs plain pyld
  with the pyld default document loader wrapper (no context caching by us).
* Tagus VC verifications/s with RDFC-1.0 in the canonicalization worker (what verification of credentials from outside
  does, with its timeout; ``self_descriptions.canonical_worker``) vs in process: the IPC cost. Sequential with one
  worker, and 8 concurrent verifications with two workers (asyncio, the event loop stays free). Interleaved rounds.
* SHACL ms per typical participant VP with the 25.11 shapes: pyshacl (baseline) vs pyshacl-turbo (our default).

Run: .venv/bin/python bench/self_descriptions.py
"""

from __future__ import annotations

import sys
from pathlib import Path

# this file is named like the package it measures: drop bench/ from the path, add the repository root
_ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _ROOT / "bench"]
sys.path.insert(0, str(_ROOT))

import asyncio  # noqa: E402
import hashlib  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

from jwcrypto import jwk as jwcrypto_jwk  # noqa: E402
from jwcrypto import jws as jwcrypto_jws  # noqa: E402
from pyld import jsonld  # noqa: E402

from self_descriptions.canonical_worker import InProcess, WorkerPool  # noqa: E402
from self_descriptions.loader import DocumentLoader  # noqa: E402
from self_descriptions.proofs.jws2020 import sign_jws2020  # noqa: E402
from self_descriptions.shacl import load_shapes, validate  # noqa: E402
from self_descriptions.verify import VerificationContext, assess_presentation, make_context  # noqa: E402
from tests.fixtures.self_descriptions.world import make_world, tagus_participant  # noqa: E402


def rate(fn: Callable[[], object], seconds: float = 2.0) -> float:
    fn()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        count += 1
    return count / (time.perf_counter() - start)


def main() -> None:
    world = make_world("ES256")
    sd = world.self_description
    tokens = [world.sign(c) for c in (sd.legal_person, sd.registration_numbers[0], sd.issuer)]
    vp = world.vp_jwt(tokens)
    ctx = make_context(
        resolver=world.resolver(), trust_anchors=world.anchors, now=world.now, x5u_fetcher=world.fetcher()
    )
    loop = asyncio.new_event_loop()

    def ours() -> None:
        result = loop.run_until_complete(assess_presentation(vp, ctx))
        assert result.ok

    public = {p.kid: jwcrypto_jwk.JWK(**p.key.public_jwk()) for p in world.parties()}

    def baseline() -> None:  # JWS checks only, via jwcrypto (no header policy, no trust, no validity)
        for token in [vp, *tokens]:
            obj = jwcrypto_jws.JWS()
            obj.deserialize(token)
            kid = obj.jose_header["kid"]
            obj.verify(public[kid])

    r_ours, r_base = rate(ours), rate(baseline)
    print(
        f"Loire VP (3 VC-JWTs, ES256), cached DIDs+chains : {r_ours:8.0f} VP/s   "
        f"baseline jwcrypto JWS-only {r_base:8.0f}/s   ratio {r_ours / r_base:.2f}"
    )

    p = world.participant
    signed = sign_jws2020(tagus_participant(p.did), p.key, verification_method=p.kid, created="2026-02-01T00:00:00Z")
    tagus_ctx = make_context(resolver=world.resolver(), trust_anchors=None, now=world.now, canonicalizer=InProcess())

    def tagus_ours() -> None:
        result = loop.run_until_complete(assess_presentation(signed, tagus_ctx))
        assert result.ok

    loader = DocumentLoader()

    def tagus_pyld() -> None:  # plain pyld normalize + hash + jwcrypto detached verify
        unsigned = {k: v for k, v in signed.items() if k != "proof"}
        nquads = jsonld.normalize(
            unsigned, {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": loader}
        )
        payload = hashlib.sha256(nquads.encode()).hexdigest().encode()
        obj = jwcrypto_jws.JWS()
        obj.deserialize(signed["proof"]["jws"])
        obj.verify(jwcrypto_jwk.JWK(**p.key.public_jwk()), detached_payload=payload)

    r_t, r_tb = rate(tagus_ours), rate(tagus_pyld)
    print(
        f"Tagus VC (JWS2020 Gaia-X, ES256), full checks    : {r_t:8.0f} VC/s   "
        f"baseline pyld+jwcrypto     {r_tb:8.0f}/s   ratio {r_t / r_tb:.2f}"
    )

    one = WorkerPool(workers=1)
    two = WorkerPool(workers=2)
    worker_ctx = make_context(resolver=world.resolver(), trust_anchors=None, now=world.now, canonicalizer=one)
    pair_ctx = make_context(resolver=world.resolver(), trust_anchors=None, now=world.now, canonicalizer=two)

    def tagus_worker() -> None:
        result = loop.run_until_complete(assess_presentation(signed, worker_ctx))
        assert result.ok

    async def eight(ctx_: VerificationContext) -> None:
        results = await asyncio.gather(*(assess_presentation(signed, ctx_) for _ in range(8)))
        assert all(r.ok for r in results)

    def tagus_in_process_8() -> None:
        loop.run_until_complete(eight(tagus_ctx))

    def tagus_pair_8() -> None:
        loop.run_until_complete(eight(pair_ctx))

    rounds: dict[str, list[float]] = {"in": [], "worker": [], "in8": [], "pair8": []}
    for _ in range(3):  # interleaved, so drift on this shared machine hits every row alike
        rounds["in"].append(rate(tagus_ours, 1.5))
        rounds["worker"].append(rate(tagus_worker, 1.5))
        rounds["in8"].append(8 * rate(tagus_in_process_8, 1.5))
        rounds["pair8"].append(8 * rate(tagus_pair_8, 1.5))
    r_in, r_w, r_in8, r_p8 = (statistics.median(rounds[k]) for k in ("in", "worker", "in8", "pair8"))
    print(
        f"Tagus VC, RDFC-1.0 in 1 worker (sequential)      : {r_w:8.0f} VC/s   "
        f"baseline in process        {r_in:8.0f}/s   ratio {r_w / r_in:.2f}  "
        f"(IPC +{1000 / r_w - 1000 / r_in:.2f} ms/VC)"
    )
    print(
        f"Tagus VC, 2 workers, 8 concurrent (asyncio)      : {r_p8:8.0f} VC/s   "
        f"baseline in process        {r_in8:8.0f}/s   ratio {r_p8 / r_in8:.2f}"
    )
    one.close()
    two.close()

    load_shapes("25.11").compiled()
    docs = [sd.legal_person, sd.registration_numbers[0], sd.issuer]
    for engine in ("pyshacl", "turbo"):
        validate(docs, engine=engine)  # type: ignore[arg-type]
    t_py = 1000 / rate(lambda: validate(docs, engine="pyshacl"), 3.0)
    t_tu = 1000 / rate(lambda: validate(docs, engine="turbo"), 3.0)
    print(
        f"SHACL 25.11, participant VP (3 subjects)         : turbo {t_tu:6.1f} ms/VP   "
        f"baseline pyshacl {t_py:6.1f} ms/VP   speed-up {t_py / t_tu:.1f}x"
    )
    loop.close()


if __name__ == "__main__":
    main()
