"""Data-plane throughput and memory against same-run baselines (issue 6; performance.md §4).

1. the same file served by nginx (sendfile, its own config on 127.0.0.1 in a temp dir) and pulled from the data
   plane (token, access decision, reservation, streamed with SHA-256, ledger records), both fetched with curl;
2. the data plane proxying an HTTP backend (that nginx) vs the backend fetched directly;
3. memory of the connector process: its RSS when idle (started, one small request served), then for each case the
   peak RSS (VmHWM, reset through ``/proc/<pid>/clear_refs`` before the case) and the growth over the RSS just
   before it. The interpreter and its libraries are most of the RSS; the growth is what a transfer buffers and
   must not depend on the size (run with two ``--size-mib`` values to see that it is flat).

Profile of the proxy path (cProfile, 256 MiB from nginx, CPU seconds per GiB of the connector's event loop):
httpx ``aiter_raw(1 MiB)`` re-chunking through a BytesIO was ~0.9 s/GiB of 2.0, one executor hop per chunk for
SHA-256 another ~0.3, httpcore's 64 KiB reads ~0.4; now: chunks as the socket delivers them (256 KiB reads),
hashed in 1 MiB batches by one worker job at a time.

    .venv/bin/python bench/dataplane.py [--size-mib 1024] [--runs 3]

nginx comes from Debian's packages (``apt-get install nginx-light`` when missing). The file is written once with
random data so that page-cache reads, not sparse holes, are measured. Prints MB/s and ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connector.dataplane.access_tokens import issue_access_token
from connector.domain import Agreement, Asset, FileDataAddress, HttpDataAddress, Negotiation, TransferProcess
from connector.dsp.states import NegotiationState, Role, TransferState
from connector.identity.participant import init_participant, load_identity
from connector.settings import load_settings
from connector.store.opening import open_store

CONSUMER = "did:web:bench-consumer"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


def nginx_binary() -> str:
    found = shutil.which("nginx") or (Path("/usr/sbin/nginx").exists() and "/usr/sbin/nginx")
    if not found:
        subprocess.run(["apt-get", "install", "-y", "-qq", "nginx-light"], check=True)
        found = shutil.which("nginx") or "/usr/sbin/nginx"
    return str(found)


def start_nginx(root: Path, port: int) -> subprocess.Popen[bytes]:
    conf = root / "nginx.conf"
    conf.write_text(
        f"""daemon off; worker_processes 1; pid {root}/nginx.pid; error_log {root}/error.log;
events {{ worker_connections 64; }}
http {{ access_log off; sendfile on; tcp_nopush on; client_body_temp_path {root}/tmp;
  proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp; uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
  server {{ listen 127.0.0.1:{port}; root {root}/www; }} }}
""",
        encoding="utf-8",
    )
    (root / "tmp").mkdir()
    process = subprocess.Popen([nginx_binary(), "-c", str(conf), "-p", str(root)])
    wait_port(port)
    return process


def curl(url: str, headers: dict[str, str] | None = None) -> float:
    """Bytes per second of one download to /dev/null, as curl measures it."""
    args = ["curl", "-s", "-o", "/dev/null", "-w", "%{speed_download} %{http_code}", url]
    for k, v in (headers or {}).items():
        args += ["-H", f"{k}: {v}"]
    speed, code = subprocess.run(args, check=True, capture_output=True, text=True).stdout.split()
    if code != "200":
        raise SystemExit(f"{url}: HTTP {code}")
    return float(speed)


async def seed(state: Path, file: Path, backend_url: str) -> dict[str, str]:
    """Put a file asset and a proxied asset with STARTED pull transfers in the provider's database."""
    settings = load_settings(state / "gxc.toml")
    identity = load_identity(settings, now=dt.datetime.now(dt.UTC))
    store = await open_store(settings.sqlalchemy_url)
    now = dt.datetime.now(dt.UTC)
    tokens: dict[str, str] = {}
    try:
        async with store.transaction() as tx:
            for name, address in (
                ("file", FileDataAddress(path=str(file))),
                ("proxy", HttpDataAddress(base_url=backend_url)),
            ):
                await tx.assets.add(Asset(id=name, title=name, data_address=address, created_at=now))
                negotiation = Negotiation(
                    id=f"neg-{name}",
                    role=Role.PROVIDER,
                    consumer_pid=f"urn:c:{name}",
                    provider_pid=f"urn:p:{name}",
                    counter_party_id=CONSUMER,
                    counter_party_address="http://127.0.0.1:9/callback",
                    state=NegotiationState.FINALIZED,
                    offers=(),
                    asset_id=name,
                    agreement_id=f"urn:agreement:{name}",
                    created_at=now,
                    updated_at=now,
                )
                await tx.negotiations.add(negotiation)
                await tx.agreements.add(
                    Agreement(
                        id=f"urn:agreement:{name}",
                        negotiation_id=negotiation.id,
                        asset_id=name,
                        provider_id=identity.did,
                        consumer_id=CONSUMER,
                        policy={
                            "@type": "Agreement",
                            "@id": f"urn:agreement:{name}",
                            "permission": [{"action": "use"}],
                        },
                        signed_at=now,
                    )
                )
                await tx.transfers.add(
                    TransferProcess(
                        id=f"tp-{name}",
                        role=Role.PROVIDER,
                        consumer_pid=f"urn:tc:{name}",
                        provider_pid=f"urn:tp:{name}",
                        agreement_id=f"urn:agreement:{name}",
                        asset_id=name,
                        counter_party_id=CONSUMER,
                        counter_party_address="http://127.0.0.1:9/callback",
                        format="HttpData-PULL",
                        state=TransferState.STARTED,
                        created_at=now,
                        updated_at=now,
                    )
                )
                tokens[name], _ = issue_access_token(
                    identity.key,
                    issuer=identity.did,
                    transfer_id=f"urn:tp:{name}",
                    agreement_id=f"urn:agreement:{name}",
                    consumer=CONSUMER,
                    now=now,
                    ttl=dt.timedelta(hours=2),
                )
    finally:
        await store.close()
    return tokens


def status_mib(pid: int, field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak since start or the last reset) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: ``5`` to ``clear_refs``); False when not permitted."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def interleaved(pid: int, runs: int, cases: dict[str, tuple[str, dict[str, str]]]) -> dict[str, tuple[float, float]]:
    """Per case: the best speed of ``runs`` downloads and the largest RSS growth during one of them.

    The cases take turns run by run, so a neighbour's load on a shared machine hits baseline and data plane alike
    and the ratios stay same-run. Before each download of the data plane its VmHWM is reset to the current RSS;
    the growth is the peak during that download minus the RSS before it."""
    for url, headers in cases.values():
        curl(url, headers)  # warm-up: lazy imports and caches of the first request are not a transfer's growth
    speeds = dict.fromkeys(cases, 0.0)
    growth = dict.fromkeys(cases, float("nan"))
    for _ in range(runs):
        for name, (url, headers) in cases.items():
            before = status_mib(pid, "VmRSS") if reset_peak(pid) else float("nan")
            speeds[name] = max(speeds[name], curl(url, headers))
            grown = status_mib(pid, "VmHWM") - before
            growth[name] = grown if growth[name] != growth[name] else max(growth[name], grown)
    return {name: (speeds[name], growth[name]) for name in cases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gxc-bench-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)  # nginx workers run as an unprivileged user when started by root
        (root / "www").mkdir()
        data = root / "www" / "payload.bin"
        block = os.urandom(1 << 20)
        with data.open("wb") as fh:
            for _ in range(args.size_mib):
                fh.write(block)
        nginx_port, dp_port = free_port(), free_port()
        nginx = start_nginx(root, nginx_port)
        state = root / "provider"
        init_participant(
            state,
            participant_name="bench",
            host="127.0.0.1",
            port=dp_port,
            public_url=None,
            alg="ES256",
            now=dt.datetime.now(dt.UTC),
        )
        backend = f"http://127.0.0.1:{nginx_port}/payload.bin"
        tokens = asyncio.run(seed(state, data, backend))
        env = {**os.environ, "GXC_LOG_LEVEL": "warning"}
        gxc = Path(sys.executable).with_name("gxc")
        server = subprocess.Popen([str(gxc), "connector", "serve", "-d", str(state)], env=env)
        try:
            wait_port(dp_port)
            base = f"http://127.0.0.1:{dp_port}/public/transfers"
            subprocess.run(["curl", "-s", "-o", "/dev/null", f"{base}/urn:tp:file"], check=True)  # a 401: warm
            idle = status_mib(server.pid, "VmRSS")
            results = interleaved(
                server.pid,
                args.runs,
                {
                    "direct": (backend, {}),
                    "file": (f"{base}/urn:tp:file", {"Authorization": f"Bearer {tokens['file']}"}),
                    "proxy": (f"{base}/urn:tp:proxy", {"Authorization": f"Bearer {tokens['proxy']}"}),
                },
            )
            after = status_mib(server.pid, "VmRSS")
            overall = status_mib(server.pid, "VmHWM")
        finally:
            server.terminate()
            server.wait(timeout=30)
            nginx.terminate()
            nginx.wait(timeout=30)
    mb = 1e6
    direct, pulled, proxied = (results[k][0] for k in ("direct", "file", "proxy"))
    print(f"payload {args.size_mib} MiB, best of {args.runs} interleaved curl runs each (after one warm-up)\n")
    print(f"{'case':<42}{'MB/s':>10}{'ratio':>10}{'target':>10}")
    print(f"{'nginx (sendfile) serves the file':<42}{direct / mb:>10.0f}{1:>10.2f}")
    print(f"{'data plane: pull of the file':<42}{pulled / mb:>10.0f}{pulled / direct:>10.2f}{'>= 0.8':>10}")
    print(f"{'backend (nginx) fetched directly':<42}{direct / mb:>10.0f}{1:>10.2f}")
    print(f"{'data plane: proxying the backend':<42}{proxied / mb:>10.0f}{proxied / direct:>10.2f}{'>= 0.6':>10}")
    print(f"\nconnector RSS idle (started, one request served): {idle:.0f} MiB; after all runs: {after:.0f} MiB")
    print(f"{'largest RSS growth during one download':<42}{'MiB':>10}")
    for name, key in (("data plane: pull of the file", "file"), ("data plane: proxying the backend", "proxy")):
        print(f"{name:<42}{results[key][1]:>10.1f}")
    print(f"peak RSS of the connector (VmHWM, of the last download): {overall:.0f} MiB (target < 150)")


if __name__ == "__main__":
    main()
