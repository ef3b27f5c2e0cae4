"""``gxc policy``: validate, evaluate and explain ODRL policies; list the policy templates.

Inputs are JSON-LD (any pinned context) or Turtle; contexts come from the offline
:class:`self_descriptions.loader.DocumentLoader`. ``evaluate`` exits 0 on permit, 1 on deny, 2 on bad input (one
error line, no traceback).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from policies import (
    PolicyError,
    Report,
    Request,
    World,
    evaluate,
    parse_policy,
    request_from_document,
    request_from_policy,
    world_from_document,
)
from policies.templates import CATALOGUE
from policies.vocabulary import ODRL
from self_descriptions.loader import DocumentLoader

app = typer.Typer(help="ODRL 2.2 policies: validate, evaluate, explain, templates.", no_args_is_help=True)

PolicyFile = Annotated[Path, typer.Option("--policy", "-p", help="Policy file (JSON-LD or Turtle).")]
RequestFile = Annotated[
    Path, typer.Option("--request", "-r", help="CG Evaluation Request, odrl:Request policy or plain JSON.")
]
WorldFile = Annotated[Path | None, typer.Option("--world", "-w", help="State of the world (CG SotW or plain JSON).")]
ScopeOption = Annotated[str, typer.Option("--scope", help="catalog, negotiation, transfer, access or monitor.")]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read {path}: {exc}")


def _load_policy(path: Path) -> Any:
    try:
        return parse_policy(_read(path), loader=DocumentLoader())
    except PolicyError as exc:
        _fail(f"{path}: {exc}")


def _load_inputs(policy_path: Path, request_path: Path, world_path: Path | None) -> tuple[Any, Request, World]:
    policy = _load_policy(policy_path)
    text = _read(request_path)
    try:
        data = json.loads(text) if text.lstrip().startswith("{") else None
        stated_now: dt.datetime | None = None
        if data is not None and not _looks_like_policy(data):
            request, stated_now = request_from_document(data)
        else:
            request_policy = parse_policy(text, loader=DocumentLoader())
            if request_policy.type != ODRL + "Request" and request_policy.type_name not in ("Set", "Policy"):
                _fail(
                    f"{request_path}: expected an evaluation request or an odrl:Request, got {request_policy.type_name}"
                )
            request = request_from_policy(request_policy)
        world_data: dict[str, Any] = {}
        if world_path is not None:
            loaded = json.loads(_read(world_path))
            if not isinstance(loaded, dict):
                _fail(f"{world_path}: the state of the world must be a JSON object")
            world_data = loaded
        if stated_now is None and not any(k in world_data for k in ("now", "currentTime")):
            _fail("no evaluation time: give `now` in --world or sotw:CurrentXSDDateTime in the request")
        world = world_from_document(world_data, now=stated_now)
    except json.JSONDecodeError as exc:
        _fail(f"invalid JSON: {exc.msg} at line {exc.lineno}")
    except PolicyError as exc:
        _fail(str(exc))
    return policy, request, world


def _looks_like_policy(data: Any) -> bool:
    return isinstance(data, dict) and any(
        k in data for k in ("permission", "prohibition", "obligation", "odrl:permission")
    )


@app.command("validate")
def validate_command(file: Annotated[Path, typer.Argument(help="Policy file (JSON-LD or Turtle).")]) -> None:
    """Parse a policy and report its type and rules, or the first error (exit 2)."""
    policy = _load_policy(file)
    typer.echo(
        f"valid {policy.type_name} {policy.uid}: {len(policy.permissions)} permission(s), "
        f"{len(policy.prohibitions)} prohibition(s), {len(policy.obligations)} obligation(s)"
    )


def _run(policy_path: Path, request_path: Path, world_path: Path | None, scope: str) -> Report:
    policy, request, world = _load_inputs(policy_path, request_path, world_path)
    try:
        return evaluate(policy, request, world, scope=scope)
    except PolicyError as exc:
        _fail(str(exc))


@app.command("evaluate")
def evaluate_command(
    policy: PolicyFile,
    request: RequestFile,
    world: WorldFile = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the stable JSON report.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="`w3c` prints the CG evaluation report (JSON-LD).")] = "",
    scope: ScopeOption = "access",
) -> None:
    """Evaluate a request against a policy: exit 0 on permit, 1 on deny, 2 on bad input."""
    if fmt not in ("", "w3c"):
        _fail(f"unknown --format {fmt!r}; the only format is w3c")
    report = _run(policy, request, world, scope)
    if fmt == "w3c":
        typer.echo(json.dumps(report.to_w3c(), indent=2))
    elif as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        typer.echo(report.reason)
    raise typer.Exit(0 if report.permitted else 1)


@app.command("explain")
def explain_command(
    policy: PolicyFile, request: RequestFile, world: WorldFile = None, scope: ScopeOption = "access"
) -> None:
    """Explain a decision rule by rule and constraint by constraint (exit codes as evaluate)."""
    report = _run(policy, request, world, scope)
    typer.echo(report.explain())
    raise typer.Exit(0 if report.permitted else 1)


@app.command("templates")
def templates_command() -> None:
    """List the ready-made policy templates (policies.templates)."""
    for name, description in CATALOGUE.items():
        typer.echo(f"{name:22} {description}")
