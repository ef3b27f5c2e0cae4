"""``gxc demo``: a whole data space on this machine, walked through step by step (issue 8).

Separate processes on 127.0.0.1, nothing mocked: a development trust anchor (data space CA, notary, compliance
service, federation), a federated catalogue, a provider connector with a sample HTTP backend and a file, and a
consumer connector. Each step is checked; the summary says what happened, how long it took and where to look next.
The documented outputs: ``--json`` prints ``{"ok": bool, "steps": [{"name", "ok", "seconds", "detail"}], ...}``;
``demo-state.json`` in the state folder lists, per component (``provider``, ``consumer``, ``catalog``, ``trust``),
its base URLs (``management``, ``dsp``, ``dataplane``, ``console``, ``openapi``), ``did``, ``api_key`` and
``state_dir``, so other tools can drive the running data space (``--keep``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.live import Live
from rich.table import Table

from connector.identity.participant import init_participant
from connector.settings import load_settings
from policies import templates
from self_descriptions.certificates import load_development_pki

DATASPACE = "urn:gxc:dataspace:demo"
HEALTH_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Component:
    """One process of the data space."""

    name: str
    state_dir: Path
    port: int
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = (self.state_dir.parent / f"{self.name}.log").open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - our own gxc executable with fixed arguments
            self.command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            start_new_session=True,
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class StepResult:
    name: str
    ok: bool
    seconds: float
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "seconds": round(self.seconds, 3), "detail": self.detail}


class StepFailed(Exception):
    """A step's check failed; the message says what was expected and what happened."""


def _gxc(*args: str) -> list[str]:
    executable = Path(sys.executable).parent / "gxc"
    return [str(executable), *args] if executable.exists() else [sys.executable, "-m", "connector.cli.main", *args]


class DataSpace:
    """Creates, starts and drives the demo data space."""

    def __init__(self, state_dir: Path, console: Console, *, database_url_template: str | None = None) -> None:
        self.root = state_dir
        self.console = console
        #: e.g. ``postgresql://postgres@127.0.0.1:5432/demo_{component}``; None: SQLite files in the state folder.
        self.database_url_template = database_url_template
        self.components: dict[str, Component] = {}
        self.keys: dict[str, str] = {}
        self.dids: dict[str, str] = {}
        self.results: list[StepResult] = []
        self.bytes_moved = 0
        self.facts: dict[str, Any] = {}

    # -- set-up -----------------------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Fresh state every run (a second run needs no clean-up): CA, issuers, catalogue, two participants."""
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True)
        ports = {name: free_port() for name in ("trust", "catalog", "provider", "consumer", "backend")}
        trust_dir = self.root / "trust"
        catalog_dir = self.root / "catalog"
        # The two service identities are created by their own commands (connector never imports catalog), in
        # parallel: each costs a Python start-up.
        _run_all(
            _gxc("trust", "init", "-d", str(trust_dir), "--port", str(ports["trust"]), "--dataspace", DATASPACE),
            _gxc(
                "catalog",
                "init",
                "-d",
                str(catalog_dir),
                "--port",
                str(ports["catalog"]),
                "--name",
                "Demo Federation Catalogue",
            ),
        )
        trust_cfg = (trust_dir / "trust.toml").read_text(encoding="utf-8")
        self.keys["trust"] = trust_cfg.split('operator_key = "', 1)[1].split('"', 1)[0]
        trust_base = f"http://127.0.0.1:{ports['trust']}"
        host = f"127.0.0.1%3A{ports['trust']}"
        self.dids.update(
            notary=f"did:web:{host}:notary",
            compliance=f"did:web:{host}:compliance",
            federation=f"did:web:{host}:federation",
        )
        self.components["trust"] = Component(
            "trust", trust_dir, ports["trust"], _gxc("trust", "serve", "-d", str(trust_dir))
        )

        self.keys["catalog"] = os.urandom(16).hex()
        root_ca = str(trust_dir / "pki" / "root-ca.pem")
        self.components["catalog"] = Component(
            "catalog",
            catalog_dir,
            ports["catalog"],
            _gxc("catalog", "serve", "-c", str(catalog_dir / "catalog.toml")),
            env={
                "GXC_CATALOG_TRUST_ANCHOR_FILES": json.dumps([root_ca]),
                "GXC_CATALOG_TRUSTED_NOTARIES": json.dumps([self.dids["notary"]]),
                "GXC_CATALOG_TRUSTED_COMPLIANCE_ISSUERS": json.dumps([self.dids["compliance"]]),
                "GXC_CATALOG_OPERATOR_API_KEYS": json.dumps([self.keys["catalog"]]),
                "GXC_CATALOG_EGRESS_ALLOW_PRIVATE": "true",
                "GXC_CATALOG_DID_WEB_HTTP": "true",
                "GXC_CATALOG_CRAWL_INTERVAL_SECONDS": "0",
                "GXC_CATALOG_FEDERATION_INTERVAL_SECONDS": "0",
                **self._database_env("GXC_CATALOG_DATABASE_URL", "catalog"),
            },
        )

        pki = load_development_pki(trust_dir / "pki")
        now = dt.datetime.now(dt.UTC)
        common = {
            "trusted_issuers": [self.dids["federation"], self.dids["compliance"], self.dids["notary"]],
            "trust_anchor_files": [root_ca],
            "notary_url": f"{trust_base}/notary",
            "compliance_url": f"{trust_base}/compliance",
            "catalog_urls": [f"http://127.0.0.1:{ports['catalog']}"],
            "log_format": "json",
        }
        for name, legal, vat in (
            ("provider", "Demo Provider GmbH", "DE811569869"),
            ("consumer", "Demo Research Institute e.V.", "DE129273398"),
        ):
            state = self.root / name
            init_participant(
                state,
                participant_name=legal,
                host="127.0.0.1",
                port=ports[name],
                public_url=None,
                alg="ES256",
                now=now,
                pki=pki,
                settings={**common, "vat_id": vat, "country_code": "DE", **self._database_setting(name)},
            )
            settings = load_settings(state / "gxc.toml")
            assert settings.management_api_key is not None
            self.keys[name] = settings.management_api_key.get_secret_value()
            self.dids[name] = f"did:web:127.0.0.1%3A{ports[name]}"
            self.components[name] = Component(name, state, ports[name], _gxc("connector", "serve", "-d", str(state)))

        backend = self.root / "backend"
        backend.mkdir()
        (backend / "observations.csv").write_bytes(_sample_csv(rows=20_000))
        self.components["backend"] = Component(
            "backend",
            backend,
            ports["backend"],
            [
                sys.executable,
                "-m",
                "http.server",
                str(ports["backend"]),
                "--bind",
                "127.0.0.1",
                "--directory",
                str(backend),
            ],
        )
        (self.root / "provider" / "data").mkdir()
        (self.root / "provider" / "data" / "air-quality.csv").write_bytes(_sample_csv(rows=5_000, seed=7))

    def _database_setting(self, component: str) -> dict[str, str]:
        if self.database_url_template is None:
            return {}
        return {"database_url": self.database_url_template.format(component=component)}

    def _database_env(self, variable: str, component: str) -> dict[str, str]:
        setting = self._database_setting(component)
        return {variable: setting["database_url"]} if setting else {}

    async def start(self) -> None:
        for component in self.components.values():
            component.start()
        async with httpx.AsyncClient(timeout=2) as client:
            await asyncio.gather(*(self._healthy(client, c) for c in self.components.values()))

    async def _healthy(self, client: httpx.AsyncClient, component: Component) -> None:
        url = component.base + ("/observations.csv" if component.name == "backend" else "/health")
        deadline = time.monotonic() + HEALTH_TIMEOUT
        while time.monotonic() < deadline:
            if component.process is not None and component.process.poll() is not None:
                log = self.root / f"{component.name}.log"
                tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
                raise StepFailed(f"{component.name} exited with {component.process.returncode}: {tail}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
        raise StepFailed(f"{component.name} did not become healthy at {url} within {HEALTH_TIMEOUT:.0f} s")

    def stop(self) -> None:
        for component in reversed(list(self.components.values())):
            component.stop()

    # -- helpers ------------------------------------------------------------------------------------------------

    def api(self, who: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.components[who].base + "/api/management/v1",
            headers={"X-Api-Key": self.keys[who]},
            timeout=60,
        )

    def state_document(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("provider", "consumer"):
            c = self.components[name]
            out[name] = {
                "did": self.dids[name],
                "api_key": self.keys[name],
                "state_dir": str(c.state_dir),
                "urls": {
                    "base": c.base,
                    "management": c.base + "/api/management/v1",
                    "dsp": c.base + "/dsp/2025-1",
                    "dataplane": c.base + "/public",
                    "console": c.base + "/console",
                    "openapi": c.base + "/docs",
                },
            }
        catalog = self.components["catalog"]
        out["catalog"] = {
            "did": None,
            "api_key": self.keys["catalog"],
            "state_dir": str(catalog.state_dir),
            "urls": {
                "base": catalog.base,
                "management": catalog.base + "/api/v1",
                "console": catalog.base + "/console",
                "openapi": catalog.base + "/docs",
                "dsp": catalog.base + "/api/v1/catalog",
                "dataplane": None,
            },
        }
        trust = self.components["trust"]
        out["trust"] = {
            "did": {k: self.dids[k] for k in ("notary", "compliance", "federation")},
            "api_key": self.keys["trust"],
            "state_dir": str(trust.state_dir),
            "urls": {
                "base": trust.base,
                "management": trust.base,
                "openapi": trust.base + "/docs",
                "root_ca": trust.base + "/pki/root-ca.pem",
                "dsp": None,
                "dataplane": None,
                "console": None,
            },
        }
        return out


def _run_all(*commands: list[str]) -> None:
    """Run commands concurrently; raise with the failing command's output."""
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for c in commands]  # noqa: S603
    for command, proc in zip(commands, procs, strict=True):
        output, _ = proc.communicate()
        if proc.returncode != 0:
            raise StepFailed(f"{' '.join(command[1:3])} failed: {output.decode(errors='replace')[-500:]}")


def _sample_csv(rows: int, seed: int = 1) -> bytes:
    """Deterministic sample data (hourly observations of a few stations)."""
    lines = ["timestamp,station,temperature_c,humidity_pct"]
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for i in range(rows):
        t = start + dt.timedelta(hours=i // 4)
        station = f"ST{(i % 4) + 1:02d}"
        temp = ((i * 37 + seed * 11) % 300) / 10 - 5
        hum = (i * 13 + seed) % 100
        lines.append(f"{t.isoformat()},{station},{temp:.1f},{hum}")
    return ("\n".join(lines) + "\n").encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


Step = Callable[[DataSpace], Awaitable[str]]


async def run_steps(
    space: DataSpace, steps: list[tuple[str, Step]], *, live: Live | None, table: Callable[[], Table]
) -> bool:
    ok = True
    for name, step in steps:
        started = time.perf_counter()
        try:
            detail = await step(space)
            result = StepResult(name, True, time.perf_counter() - started, detail)
        except StepFailed as exc:
            result = StepResult(name, False, time.perf_counter() - started, str(exc))
        except (httpx.HTTPError, OSError, KeyError, ValueError) as exc:
            result = StepResult(name, False, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
        space.results.append(result)
        if live is not None:
            live.update(table())
        if not result.ok:
            ok = False
            break
    return ok


def demo_templates(now: dt.datetime) -> dict[str, dict[str, Any]]:
    """The two offers of the scenario, from the policy templates (what a provider who is no ODRL expert picks)."""
    dataset_a = templates.combine(
        templates.membership_required(DATASPACE),
        templates.purpose_in(["research"]),
        templates.at_most_uses(3),
        templates.time_window(now - dt.timedelta(minutes=5), now + dt.timedelta(days=1)),
    )
    dataset_b = templates.credential_required("IndustrialLicenceCredential")
    open_access = templates.membership_required(DATASPACE)
    return {"A": dataset_a.jsonld, "B": dataset_b.jsonld, "access": open_access.jsonld}
