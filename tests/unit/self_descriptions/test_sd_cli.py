"""``gxc sd``: build -> sign -> present -> verify/comply offline, the --json verdict, and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from connector.cli.sd import app
from self_descriptions.keys import write_private_key_file
from self_descriptions.proofs.vc_jwt import sign_vc_jwt
from self_descriptions.status_list import Bitstring, build_status_list_credential, status_entry
from tests.fixtures.self_descriptions.world import NOW, POLICY, World, tagus_participant

pytestmark = pytest.mark.unit
runner = CliRunner()
AT = NOW.isoformat()


def _offline_args(world: World, tmp_path: Path) -> list[str]:
    args: list[str] = ["--at", AT]
    anchor = tmp_path / "root.pem"
    anchor.write_bytes(world.pki.root.public_bytes(serialization.Encoding.PEM))
    args += ["--trust-anchor", str(anchor)]
    for party in world.parties():
        doc = tmp_path / f"{party.did.rsplit(':', 1)[-1]}.did.json"
        doc.write_text(json.dumps(party.document))
        chain = tmp_path / f"{party.did.rsplit(':', 1)[-1]}.pem"
        chain.write_bytes(party.chain_pem)
        args += [
            "--did-document",
            str(doc),
            "--x5u-chain",
            f"https://{party.did.split(':')[2]}/.well-known/x5u.pem={chain}",
        ]
    return args


def test_verify_vp_jwt_json_verdict(world: World, tmp_path: Path) -> None:
    vp = tmp_path / "vp.jwt"
    vp.write_text(world.vp_jwt())
    result = runner.invoke(app, ["verify", str(vp), "--json", *_offline_args(world, tmp_path)])
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.output)
    assert verdict["valid"] is True
    assert verdict["presentation"]["signature"] == "valid"
    first = verdict["credentials"][0]
    assert set(first) >= {
        "index",
        "id",
        "types",
        "issuer",
        "format",
        "signature",
        "flavour",
        "alg",
        "trust",
        "validity",
        "errors",
    }
    assert first["format"] == "vc-jwt"
    assert first["trust"] == "valid"
    assert verdict["shapes"]["conforms"] is True
    assert verdict["shapes"]["version"] == "25.11"


def test_unknown_did_is_unverifiable_and_exits_1(world: World, tmp_path: Path) -> None:
    vc = tmp_path / "vc.jwt"
    vc.write_text(world.sign(world.self_description.issuer))
    result = runner.invoke(app, ["verify", str(vc), "--json", "--at", AT, "--no-trust-chain", "--no-shapes"])
    assert result.exit_code == 1
    entry = json.loads(result.output)["credentials"][0]
    assert entry["signature"] == "unverifiable"
    assert entry["errors"][0]["code"] == "unverifiable"


def test_expired_at_time_exits_1(world: World, tmp_path: Path) -> None:
    vc = tmp_path / "vc.jwt"
    vc.write_text(world.sign(world.self_description.issuer))
    result = runner.invoke(
        app,
        ["verify", str(vc), "--json", *_offline_args(world, tmp_path), "--no-shapes", "--at", "2030-01-01T00:00:00Z"],
    )
    assert result.exit_code == 1
    assert json.loads(result.output)["credentials"][0]["validity"] == "expired"


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "hello world",
        "[1, 2]",
        "a.b.c",
        "data:text/plain,x",
        '{"@context": "https://unknown.example/ctx", "type": "VerifiableCredential", '
        '"proof": {"type": "JsonWebSignature2020", "jws": "e30..e30", '
        '"verificationMethod": "did:web:x#k"}}',
    ],
)
def test_bad_input_is_a_clear_error_not_a_traceback(tmp_path: Path, content: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    result = runner.invoke(app, ["verify", str(bad), "--json", "--no-trust-chain", "--at", AT])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    verdict = json.loads(result.output)
    codes = [e["code"] for e in verdict["errors"]] + [e["code"] for c in verdict["credentials"] for e in c["errors"]]
    assert codes


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["verify", str(tmp_path / "missing.jwt")]).exit_code == 2
    vc = tmp_path / "x.jwt"
    vc.write_text("a.b.c")
    assert runner.invoke(app, ["verify", str(vc), "--context", "no-equals-sign"]).exit_code == 2
    assert runner.invoke(app, ["verify", str(vc), "--at", "yesterday"]).exit_code == 2
    assert runner.invoke(app, ["verify", str(vc), "--shapes", "99.99"]).exit_code == 2


def test_build_sign_present_comply_end_to_end(world: World, tmp_path: Path) -> None:
    config = tmp_path / "gxc.toml"
    config.write_text(
        'participant_name = "Example Data GmbH"\npublic_url = "https://participant.example"\n'
        '[self_description]\ncountry_code = "DE"\nlocality = "Berlin"\n'
        'service_terms_url = "https://participant.example/terms"\nservice_terms_hash = "' + "b" * 64 + '"\n'
        '[[self_description.registration_numbers]]\nkind = "vatID"\nvalue = "DE123456789"\ncountry_code = "DE"\n'
    )
    datasets = tmp_path / "datasets.json"
    datasets.write_text(json.dumps([{"id": "weather", "title": "Weather", "policy": POLICY}]))
    built = runner.invoke(
        app,
        [
            "build",
            "--config",
            str(config),
            "--datasets",
            str(datasets),
            "--at",
            AT,
            "--notary-did",
            world.notary.did,
            "--out",
            str(tmp_path / "sd"),
        ],
    )
    assert built.exit_code == 0, built.output
    files = sorted((tmp_path / "sd").glob("*.json"))
    assert len(files) == 5
    participant_key = tmp_path / "participant.pem"
    notary_key = tmp_path / "notary.pem"
    write_private_key_file(world.participant.key, participant_key)
    write_private_key_file(world.notary.key, notary_key)
    tokens = tmp_path / "tokens.txt"
    lines = []
    for f in files:
        issuer = json.loads(f.read_text())["issuer"]
        key, party = (notary_key, world.notary) if issuer == world.notary.did else (participant_key, world.participant)
        signed = runner.invoke(app, ["sign", str(f), "--key", str(key), "--kid", party.kid, "--at", AT])
        assert signed.exit_code == 0, signed.output
        lines.append(signed.output.strip())
    tokens.write_text("\n".join(lines))
    vp = runner.invoke(
        app, ["present", str(tokens), "--key", str(participant_key), "--kid", world.participant.kid, "--at", AT]
    )
    assert vp.exit_code == 0, vp.output
    vp_file = tmp_path / "vp.jwt"
    vp_file.write_text(vp.output.strip())
    ch_key = tmp_path / "ch.pem"
    write_private_key_file(world.clearing_house.key, ch_key)
    comply = runner.invoke(
        app,
        [
            "comply",
            str(vp_file),
            "--json",
            "--trusted-notary",
            world.notary.did,
            "--key",
            str(ch_key),
            "--kid",
            world.clearing_house.kid,
            *_offline_args(world, tmp_path),
        ],
    )
    assert comply.exit_code == 0, comply.output
    result = json.loads(comply.output)
    assert result["compliant"] is True
    assert result["credential"].count(".") == 2
    label = tmp_path / "label.jwt"
    label.write_text(result["credential"])
    verified = runner.invoke(app, ["verify", str(label), "--json", "--no-shapes", *_offline_args(world, tmp_path)])
    assert verified.exit_code == 0, verified.output


def test_tagus_jws2020_signing_via_cli(world: World, tmp_path: Path) -> None:

    vc = tmp_path / "vc.json"
    vc.write_text(json.dumps(tagus_participant(world.participant.did)))
    key = tmp_path / "k.pem"
    write_private_key_file(world.participant.key, key)
    signed = runner.invoke(
        app, ["sign", str(vc), "--key", str(key), "--kid", world.participant.kid, "--format", "jws2020", "--at", AT]
    )
    assert signed.exit_code == 0, signed.output
    out = tmp_path / "signed.json"
    out.write_text(signed.output)
    verified = runner.invoke(app, ["verify", str(out), "--json", *_offline_args(world, tmp_path), "--no-shapes"])
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.output)["credentials"][0]["flavour"] == "gaia-x"


def _membership_with_status(world: World, index: int) -> str:
    vc = {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/gaia-x/development#"],
        "type": ["VerifiableCredential", "MembershipCredential"],
        "id": "urn:uuid:7f0c5a52-membership",
        "issuer": world.notary.did,
        "validFrom": "2026-02-01T00:00:00Z",
        "validUntil": "2026-12-01T00:00:00Z",
        "credentialSubject": {"id": world.participant.did, "memberOf": "urn:ds"},
        "credentialStatus": status_entry(STATUS_URL, index, "revocation"),
    }
    return sign_vc_jwt(vc, world.notary.key, kid=world.notary.kid, issued_at=world.now)


def _revocation_list(world: World, *revoked: int) -> str:
    bits = Bitstring.zeros()
    for index in revoked:
        bits.set(index)
    vc = build_status_list_credential(
        url=STATUS_URL, issuer=world.notary.did, purpose="revocation", bits=bits, valid_from=world.now
    )
    return sign_vc_jwt(vc, world.notary.key, kid=world.notary.kid, issued_at=world.now)


STATUS_URL = "https://notary.example/status/revocation"


def test_verify_a_revoked_credential_exits_1_with_code_revoked(world: World, tmp_path: Path) -> None:
    vc = tmp_path / "membership.jwt"
    vc.write_text(_membership_with_status(world, 4711))
    status = tmp_path / "revocation.jwt"
    status.write_text(_revocation_list(world, 4711))
    args = ["verify", str(vc), "--json", "--no-shapes", *_offline_args(world, tmp_path)]
    revoked = runner.invoke(app, [*args, "--status-list", f"{STATUS_URL}={status}"])
    assert revoked.exit_code == 1, revoked.output
    verdict = json.loads(revoked.output)
    assert verdict["valid"] is False
    (entry,) = verdict["credentials"]
    assert entry["status"] == "revoked"
    assert [e["code"] for e in entry["errors"]] == ["revoked"]
    assert "4711" in entry["errors"][0]["message"]
    # the table says it too
    table = runner.invoke(app, [*args[:2], *args[3:], "--status-list", f"{STATUS_URL}={status}"])
    assert table.exit_code == 1
    assert "revoked" in table.output

    status.write_text(_revocation_list(world, 4710))
    valid = runner.invoke(app, [*args, "--status-list", f"{STATUS_URL}={status}"])
    assert valid.exit_code == 0, valid.output
    assert json.loads(valid.output)["credentials"][0]["status"] == "valid"
    # offline without the list: not checked (nothing is fetched), still valid
    unchecked = runner.invoke(app, args)
    assert unchecked.exit_code == 0, unchecked.output
    assert json.loads(unchecked.output)["credentials"][0]["status"] == "not-checked"
    # a list given for another URL only: the credential's status cannot be established
    other = runner.invoke(app, [*args, "--status-list", f"https://elsewhere.example/list={status}"])
    assert other.exit_code == 1
    entry = json.loads(other.output)["credentials"][0]
    assert entry["status"] == "unverifiable"
    assert entry["errors"][0]["code"] == "status-retrieval-error"
    assert runner.invoke(app, [*args, "--status-list", "no-equals-sign"]).exit_code == 2
