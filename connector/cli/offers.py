"""``gxc offer add|list``: offer datasets under a policy in one go (policy definitions + contract definition).

A policy is given as a template of :mod:`policies.templates` (``gxc policy templates`` lists them), with its
arguments after ``=`` separated by commas, or as a file holding an ODRL policy in JSON-LD::

    gxc offer add weather --policy membership_required=https://w3id.org/gaia-x/demo --policy purpose_in=research
    gxc offer add weather --policy ./research-only.json --access named_recipients=did:web:partner.example

Several ``--policy`` templates are combined into one permission (a conjunction); ``open`` is "anyone may use".
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from connector.cli.management import (
    ApiKeyOption,
    CliError,
    ConfigOption,
    JsonOption,
    StateDirOption,
    UrlOption,
    connect,
    fail,
    out,
    print_json,
)
from policies import templates

app = typer.Typer(help="Offers: datasets under policies (contract definitions).", no_args_is_help=True)

OPEN = "open"


def _time(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} needs a time zone (e.g. 2026-01-01T00:00:00Z)")
    return moment


def _one(args: list[str]) -> str:
    if len(args) != 1:
        raise ValueError("takes exactly one argument")
    return args[0]


def _none(args: list[str], template: Callable[[], templates.Template]) -> templates.Template:
    if args:
        raise ValueError("takes no argument")
    return template()


#: Template name -> how its ``=a,b,c`` arguments are passed.
BUILDERS: dict[str, Callable[[list[str]], templates.Template]] = {
    "membership_required": lambda a: templates.membership_required(_one(a)),
    "purpose_in": lambda a: templates.purpose_in(a),
    "time_window": lambda a: templates.time_window(*(_time(v) for v in a)),
    "at_most_uses": lambda a: templates.at_most_uses(int(_one(a))),
    "region": lambda a: templates.region(a),
    "named_recipients": lambda a: templates.named_recipients(a),
    "gaiax_compliant": lambda a: _none(a, templates.gaiax_compliant),
    "credential_required": lambda a: templates.credential_required(_one(a)),
}


def policy_from(specs: list[str], *, uid: str) -> dict[str, Any]:
    """An ODRL policy (compact JSON-LD) from ``--policy`` values; raises ValueError with the reason."""
    files = [s for s in specs if s not in BUILDERS and s != OPEN and "=" not in s]
    if files:
        if len(specs) != 1:
            raise ValueError("a policy file cannot be combined with other --policy values")
        path = Path(files[0])
        if not path.exists():
            known = ", ".join([OPEN, *BUILDERS])
            raise ValueError(f"{files[0]!r} is neither a policy file nor a template ({known})")
        try:
            policy = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read policy file {path}: {exc}") from exc
        if not isinstance(policy, dict):
            raise ValueError(f"{path} does not hold a JSON object")
        return policy
    chosen: list[templates.Template] = []
    for spec in specs:
        if spec == OPEN:
            continue
        name, _, raw = spec.partition("=")
        if name not in BUILDERS:
            raise ValueError(f"unknown policy template {name!r}; choose one of {', '.join([OPEN, *BUILDERS])}")
        args = [v.strip() for v in raw.split(",") if v.strip()] if raw else []
        try:
            chosen.append(BUILDERS[name](args))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"template {name}: {exc}") from exc
    if not chosen:
        return {
            "@context": "http://www.w3.org/ns/odrl.jsonld",
            "@type": "Set",
            "uid": uid,
            "permission": [{"action": "use"}],
        }
    return templates.combine(*chosen, uid=uid, policy_type="Set").jsonld


@app.command("add")
def add_command(
    assets: Annotated[list[str], typer.Argument(metavar="ASSET...", help="Dataset ids to offer.")],
    policy: Annotated[
        list[str] | None,
        typer.Option("--policy", "-p", help="Contract policy: TEMPLATE[=ARG,...], 'open' or an ODRL file."),
    ] = None,
    access: Annotated[
        list[str] | None,
        typer.Option("--access", help="Who sees the offer in the catalog (same forms); default: everyone."),
    ] = None,
    offer_id: Annotated[str | None, typer.Option("--id", help="Contract definition id (default: offer-ASSET).")] = None,
    config: ConfigOption = None,
    state_dir: StateDirOption = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Offer datasets under a contract policy (and an access policy): one contract definition."""
    definition_id = offer_id or f"offer-{assets[0]}"
    try:
        contract = policy_from(policy or [OPEN], uid=f"urn:gxc:policy:{definition_id}:contract")
        visible = policy_from(access or [OPEN], uid=f"urn:gxc:policy:{definition_id}:access")
    except ValueError as exc:
        fail(str(exc), code=2)
    with connect(config, state_dir, url, api_key) as api:
        try:
            api.call("POST", "/policies", {"id": f"{definition_id}-contract", "policy": contract})
            api.call("POST", "/policies", {"id": f"{definition_id}-access", "policy": visible})
            created = api.call(
                "POST",
                "/contract-definitions",
                {
                    "id": definition_id,
                    "accessPolicyId": f"{definition_id}-access",
                    "contractPolicyId": f"{definition_id}-contract",
                    "assetIds": assets,
                },
            )
        except CliError as exc:
            fail(str(exc))
    if as_json:
        print_json(created)
    else:
        out.print(f"[green]Offered[/] {', '.join(assets)} as [bold]{definition_id}[/]")


@app.command("list")
def list_command(
    config: ConfigOption = None,
    state_dir: StateDirOption = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the offers (contract definitions)."""
    with connect(config, state_dir, url, api_key) as api:
        try:
            definitions = api.items("/contract-definitions")
        except CliError as exc:
            fail(str(exc))
    if as_json:
        print_json(definitions)
        return
    table = Table(title=f"{len(definitions)} offer(s)")
    for column in ("id", "datasets", "contract policy", "access policy"):
        table.add_column(column)
    for d in definitions:
        table.add_row(d["id"], ", ".join(d["assetIds"]), d["contractPolicyId"], d["accessPolicyId"])
    out.print(table)
