"""``gxc connector tck-properties``: the DSP TCK's ``.properties`` for a connector run with
``gxc connector serve --tck`` (docs/tck.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from connector.cli.management import ConfigOption, StateDirOption, config_file, fail
from connector.errors import ConnectorError
from connector.services.assembly import DSP_PATH
from connector.services.tck import tck_properties
from connector.settings import load_settings
from self_descriptions.did import did_web_from_url


def properties_command(
    host: Annotated[str | None, typer.Option(help="The address `serve --tck --host` listens on.")] = None,
    port: Annotated[int | None, typer.Option(help="The port `serve --tck --port` listens on.")] = None,
    tck_host: Annotated[str, typer.Option("--tck-host", help="Host of the TCK's callback server.")] = "localhost",
    tck_port: Annotated[int, typer.Option("--tck-port", help="Port of the TCK's callback server.")] = 8083,
    wait_ms: Annotated[int, typer.Option("--wait-ms", help="dataspacetck.dsp.default.wait (ms).")] = 10_000,
    config: ConfigOption = None,
    state_dir: StateDirOption = None,
) -> None:
    """Print the complete TCK configuration: agent id, URLs, authorization header, triggers, every seed."""
    try:
        settings = load_settings(config_file(config, state_dir), host=host, port=port)
    except ConnectorError as exc:
        fail(exc.message)
    typer.echo(
        tck_properties(
            agent_id=did_web_from_url(settings.base_url),
            base_url=settings.base_url,
            dsp_base_url=settings.base_url + DSP_PATH,
            authorization=settings.tck_authorization,
            tck_host=tck_host,
            tck_port=tck_port,
            default_wait_ms=wait_ms,
        ),
        nl=False,
    )
