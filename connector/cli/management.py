"""The management API as the people's commands use it: where it is, how to call it, and its errors in one line.

Where: ``--url``/``--api-key`` (or ``GXC_URL``/``GXC_API_KEY``) name a management API directly; otherwise the
participant's ``gxc.toml`` (``--config``, ``--state-dir``, ``./gxc.toml`` or ``.gxc/connector/gxc.toml``, with
``GXC_*`` overrides as for ``gxc connector serve``) gives the connector's base URL and management key.

Errors: a problem+json answer becomes ``HTTP 404 not-found: <detail>``; an unreachable connector says which URL
was tried. Commands print that one line and exit 1 (usage errors exit 2, as typer does for bad options).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer
from rich.console import Console

from connector.errors import ConnectorError
from connector.settings import CONFIG_FILE_NAME, load_settings

API_PREFIX = "/api/management/v1"

err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help=f"The participant's config file (its {CONFIG_FILE_NAME}).")
]
StateDirOption = Annotated[
    Path | None, typer.Option("--state-dir", "-d", help=f"The participant's state folder (holding {CONFIG_FILE_NAME}).")
]
UrlOption = Annotated[
    str | None,
    typer.Option("--url", envvar="GXC_URL", help="Connector base URL (or its management API URL); skips gxc.toml."),
]
ApiKeyOption = Annotated[
    str | None, typer.Option("--api-key", envvar="GXC_API_KEY", help="Management API key (X-Api-Key).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


class CliError(Exception):
    """A failure to report in one line (exit 1)."""


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


def config_file(config: Path | None, state_dir: Path | None) -> Path | None:
    if config is not None:
        return config
    if state_dir is not None:
        return state_dir / CONFIG_FILE_NAME
    for candidate in (Path(CONFIG_FILE_NAME), Path(".gxc/connector") / CONFIG_FILE_NAME):
        if candidate.exists():
            return candidate
    return None


class Management:
    """A small synchronous client of ``/api/management/v1``."""

    def __init__(self, url: str, api_key: str, *, timeout: float = 90.0) -> None:
        base = url.rstrip("/")
        self.url = base if base.endswith(API_PREFIX) else base + API_PREFIX
        self.http = httpx.Client(base_url=self.url, headers={"X-Api-Key": api_key}, timeout=timeout)

    def __enter__(self) -> Management:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """Send one request; returns the JSON answer or raises :class:`CliError` with the reason in words."""
        try:
            response = self.http.request(
                method, path, json=body, params={k: v for k, v in params.items() if v is not None}
            )
        except httpx.TransportError as exc:
            raise CliError(f"cannot reach the management API at {self.url}: {exc}") from exc
        if response.status_code >= 400:
            raise CliError(_problem(response))
        if not response.content:
            return None
        return response.json()

    def items(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a paged list."""
        found: list[dict[str, Any]] = []
        offset: int | None = 0
        while offset is not None:
            page = self.call("GET", path, offset=offset, limit=200, **params)
            found += page["items"]
            offset = page.get("nextOffset")
        return found


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if isinstance(body, dict) and "detail" in body:
        code = str(body.get("type", "")).rsplit(":", 1)[-1]
        detail = body["detail"]
        if isinstance(detail, list):  # FastAPI's request validation errors
            detail = "; ".join(
                f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg')}"
                for d in detail
                if isinstance(d, dict)
            )
        return f"HTTP {response.status_code} {code}: {detail}".replace(" : ", ": ")
    return f"HTTP {response.status_code}: {json.dumps(body)[:200]}"


def connect(
    config: Path | None = None, state_dir: Path | None = None, url: str | None = None, api_key: str | None = None
) -> Management:
    """The management API named by the options (see the module docstring)."""
    if url is None:
        file = config_file(config, state_dir)
        if file is None:
            fail(
                f"no connector given: pass --url and --api-key, or --state-dir/--config of a participant "
                f"(or run where ./{CONFIG_FILE_NAME} exists)",
                code=2,
            )
        try:
            settings = load_settings(file)
        except ConnectorError as exc:
            fail(exc.message)
        url = settings.base_url
        if api_key is None and settings.management_api_key is not None:
            api_key = settings.management_api_key.get_secret_value()
    if not api_key:
        fail("no management API key: pass --api-key (or GXC_API_KEY), or set management_api_key in gxc.toml", code=2)
    return Management(url, api_key)


def print_json(value: Any) -> None:
    out.print_json(json.dumps(value))


def error_text(error: Any) -> str:
    """A process ``error`` ({code, reason, details}) in words."""
    if not isinstance(error, dict):
        return "no reason given"
    reason = str(error.get("reason") or "no reason given")
    code = error.get("code")
    return f"{reason} ({code})" if code else reason
