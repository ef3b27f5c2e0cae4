"""``gxc transfer-pull TRANSFER_ID``: fetch a pull transfer's data through the consumer connector (issue 6 §1).

Calls the management API (``GET /transfers/{id}/data``) of the running connector, which pulls from the provider
with the stored data address and records the receipt in its ledger. ``--purpose`` is declared to the provider
(``X-GXC-Purpose``) and checked against the agreement's ``purpose`` constraints. The body is streamed to
``--output`` (or stdout) and its SHA-256 printed.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console

from connector.settings import CONFIG_FILE_NAME, load_settings

err = Console(stderr=True)


def pull(
    transfer_id: Annotated[str, typer.Argument(help="The consumer-side transfer id (management API).")],
    state_dir: Annotated[Path, typer.Option("--state-dir", "-d", help="Participant state folder.")] = Path(
        ".gxc/connector"
    ),
    purpose: Annotated[str | None, typer.Option(help="Purpose declared to the provider.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    byte_range: Annotated[str | None, typer.Option("--range", help="HTTP range, e.g. bytes=0-1023.")] = None,
) -> None:
    """Stream a transfer's data to a file or stdout; exit 1 with the provider's reason when refused."""
    settings = load_settings(state_dir / CONFIG_FILE_NAME)
    key = settings.management_api_key.get_secret_value() if settings.management_api_key else ""
    headers = {"X-Api-Key": key, **({"Range": byte_range} if byte_range else {})}
    url = f"{settings.base_url}/api/management/v1/transfers/{transfer_id}/data"
    digest, size = hashlib.sha256(), 0
    with httpx.stream(
        "GET",
        url,
        headers=headers,
        params={"purpose": purpose} if purpose else None,
        timeout=httpx.Timeout(30, read=600),
    ) as r:
        if r.status_code >= 400:
            r.read()
            detail = r.json().get("detail", r.text) if r.headers.get("content-type", "").endswith("json") else r.text
            err.print(f"[red]refused[/] (HTTP {r.status_code}): {detail}")
            raise typer.Exit(1)
        sink = output.open("wb") if output else sys.stdout.buffer
        try:
            for chunk in r.iter_raw(1 << 20):
                sink.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        finally:
            if output:
                sink.close()
    err.print(f"{size} bytes, sha-256={digest.hexdigest()}")
