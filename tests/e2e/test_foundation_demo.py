"""`gxc init` + `gxc connector serve` as a user runs them: separate processes, real sockets, real keys."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from jwcrypto import jwk, jws

from self_descriptions.certificates import load_pem_certificates, verify_chain
from self_descriptions.did import did_web_to_url
from tests.conftest import free_port

pytestmark = pytest.mark.e2e

GXC = [str(Path(sys.executable).parent / "gxc")]


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _, err = proc.communicate()
            raise AssertionError(f"process exited with {proc.returncode}: {err.decode()}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not become healthy within {timeout} s")


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    state = tmp_path / "participant"
    init = subprocess.run(
        [*GXC, "init", "--state-dir", str(state), "--port", str(port), "--name", "Demo Provider GmbH"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    proc = subprocess.Popen(
        [*GXC, "connector", "serve", "--state-dir", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base + "/health", proc)
        yield base, state
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out_bytes, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out_bytes, _ = proc.communicate()
        out = out_bytes.decode()
        # The URLs a user needs are printed.
        for path in ("/.well-known/did.json", "/.well-known/dspace-version", "/docs", "/health"):
            assert base + path in out


def test_demo_serves_a_did_web_document_whose_key_verifies_signatures(demo: tuple[str, Path]) -> None:
    base, state = demo
    doc = httpx.get(base + "/.well-known/did.json").json()
    did = doc["id"]
    port = base.rsplit(":", 1)[1]
    assert did == f"did:web:127.0.0.1%3A{port}"
    # did:web resolution rules map the DID back to the URL we fetched it from.
    assert did_web_to_url(did, scheme="http") == base + "/.well-known/did.json"
    (method,) = doc["verificationMethod"]
    assert method["type"] == "JsonWebKey2020"
    assert method["id"] in doc["assertionMethod"]
    public = method["publicKeyJwk"]
    assert public["alg"] == "ES256"
    assert public["x5u"].startswith(base)
    assert "d" not in public

    # A signature made with the private key on disk verifies with the published key.
    private = jwk.JWK.from_pem((state / "keys/participant.key.pem").read_bytes())
    token = jws.JWS(b"hello data space")
    token.add_signature(private, None, {"alg": "ES256", "kid": method["id"]})
    verifier = jws.JWS()
    verifier.deserialize(token.serialize(compact=True))
    verifier.verify(jwk.JWK(**public), alg="ES256")
    assert verifier.payload == b"hello data space"

    # The x5u chain leads to the development root and binds the same key.
    chain = load_pem_certificates(httpx.get(public["x5u"]).content)
    anchors = load_pem_certificates((state / "keys/root-ca.pem").read_bytes())
    verify_chain(chain, anchors, now=dt.datetime.now(dt.UTC), expected_key=jwk.JWK(**public).get_op_key("verify"))
    assert chain[0].public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == private.get_op_key("verify").public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_demo_serves_version_metadata_openapi_and_health(demo: tuple[str, Path]) -> None:
    base, _ = demo
    versions = httpx.get(base + "/.well-known/dspace-version").json()["protocolVersions"]
    assert any(v["version"] == "2025-1" and v["path"] and v["binding"] == "HTTPS" for v in versions)
    assert httpx.get(base + "/openapi.json").json()["info"]["title"] == "gxc connector"
    assert httpx.get(base + "/docs").status_code == 200
    assert httpx.get(base + "/health").json()["status"] == "ok"
    assert os.stat(demo[1] / "keys/participant.key.pem").st_mode & 0o077 == 0


def run_gxc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GXC, *args], capture_output=True, text=True, cwd=cwd, timeout=60, check=False)


def assert_one_clear_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error:")
    assert expected in lines[0]


def test_missing_key_file_is_one_clear_line(tmp_path: Path) -> None:
    assert run_gxc("init", "--state-dir", "p", "--port", str(free_port()), cwd=tmp_path).returncode == 0
    (tmp_path / "p/keys/participant.key.pem").unlink()
    result = run_gxc("connector", "serve", "--state-dir", "p", cwd=tmp_path)
    assert_one_clear_line(result, "participant.key.pem does not exist; run `gxc init`")


def test_malformed_toml_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "gxc.toml").write_text("port = = 3\n", encoding="utf-8")
    result = run_gxc("connector", "serve", "--config", "gxc.toml", cwd=tmp_path)
    assert_one_clear_line(result, "is not valid TOML")


def test_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    port = free_port()
    assert run_gxc("init", "--state-dir", "p", "--port", str(port), cwd=tmp_path).returncode == 0
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", port))
        blocker.listen(1)
        result = run_gxc("connector", "serve", "--state-dir", "p", cwd=tmp_path)
    assert_one_clear_line(result, f"port {port} on 127.0.0.1 is already in use")


def test_init_refuses_to_overwrite_an_identity(tmp_path: Path) -> None:
    assert run_gxc("init", "--state-dir", "p", cwd=tmp_path).returncode == 0
    assert_one_clear_line(run_gxc("init", "--state-dir", "p", cwd=tmp_path), "already exists; use --force")


def test_version_and_help() -> None:
    result = subprocess.run([*GXC, "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("gxc ")
    help_text = subprocess.run([*GXC, "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("init", "demo", "connector", "policy", "sd"):
        assert command in help_text
