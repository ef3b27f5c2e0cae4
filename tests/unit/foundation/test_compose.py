"""compose/: the container topology is well-formed, local-only, health-checked, and sets only known settings."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from catalog.settings import CatalogueSettings
from connector.settings import ConnectorSettings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "compose"


def compose() -> dict[str, Any]:
    data = yaml.safe_load((COMPOSE / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def env_file(name: str) -> dict[str, str]:
    values = {}
    for line in (COMPOSE / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def test_services_and_image() -> None:
    services = compose()["services"]
    assert {"postgres", "setup", "trust", "catalog", "provider", "consumer"} <= set(services)
    assert (ROOT / "Dockerfile").is_file()
    for name in ("trust", "catalog", "provider", "consumer"):
        assert services[name]["build"]["dockerfile"] == "Dockerfile"


def test_ports_are_bound_to_loopback_and_services_are_health_checked() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
        if name != "setup":
            assert "healthcheck" in service, f"{name} has no health check"


def test_connector_env_files_set_only_known_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fields = set(ConnectorSettings.model_fields)
    for files in (["connector.env", "provider.env"], ["connector.env", "consumer.env"]):
        merged: dict[str, str] = {}
        for name in files:
            merged.update(env_file(name))
        for key, value in merged.items():
            assert key.startswith("GXC_"), key
            assert key[4:].lower() in fields, f"{key} is not a connector setting"
            monkeypatch.setenv(key, value)
        settings = ConnectorSettings(state_dir=tmp_path)  # the values parse
        assert settings.egress_allow_private
        assert settings.database_url is not None
        assert settings.database_url.startswith("postgresql")


def test_catalog_env_file_sets_only_known_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fields = set(CatalogueSettings.model_fields)
    for key, value in env_file("catalog.env").items():
        assert key.startswith("GXC_CATALOG_"), key
        assert key[len("GXC_CATALOG_") :].lower() in fields, f"{key} is not a catalogue setting"
        monkeypatch.setenv(key, value)
    settings = CatalogueSettings(state_dir=tmp_path)
    assert settings.trusted_notaries == ["did:web:trust%3A8100:notary"]


def test_docker_compose_config_when_available() -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode:
        pytest.skip("no docker compose client on this machine; the structure is checked by the tests above")
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE / "compose.yaml"), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
