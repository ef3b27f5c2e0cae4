"""``gxc sd``: build, sign, present, check compliance of and verify Gaia-X self-descriptions."""

from __future__ import annotations

import typer

app = typer.Typer(help="Gaia-X self-descriptions: build, sign, present, comply, verify.", no_args_is_help=True)
