"""``gxc sd``: build, sign, present, check compliance of and verify Gaia-X self-descriptions.

* ``gxc sd build --config gxc.toml --datasets datasets.json [--out DIR] [--notary-did DID]``: the participant's
  Loire 25.11 credentials (JSON), generated from the config's ``participant_name``/``public_url`` and its
  ``[self_description]`` table plus the datasets file (a JSON list of ``{id, title, policy, description?,
  license?, keywords?, terms_url?, terms_hash?}``).
* ``gxc sd sign FILE --key PEM --kid KID [--profile w3c|icam-24.07|gxdch-2025] [--format vc-jwt|jws2020]``.
* ``gxc sd present TOKEN_FILE... --key PEM --kid KID``: a VP-JWT of enveloped VC-JWTs.
* ``gxc sd comply VP_FILE --trusted-notary DID [...verify options] [--key PEM --kid KID]``: the GXDCH checks; with
  a key, also issues the compliance (``gx:LabelCredential``) VC-JWT.
* ``gxc sd verify FILE [--json] [--at TIME] [--did-document FILE]... [--trust-anchor PEM]... [--no-trust-chain]
  [--x5u-chain URL=FILE]... [--status-list URL=FILE]... [--context URL=FILE]... [--shapes VERSION|FILE |
  --no-shapes] [--resolve-did-web] [--canonicalization-timeout SECONDS]``.

FILE may be JSON-LD (VC or VP), a compact VC-JWT/VP-JWT or a ``data:`` URL. Exit codes: 0 everything verified,
1 something is invalid, 2 usage error. No network connection is opened unless ``--resolve-did-web`` is given.
``verify`` and ``comply`` canonicalize the file's JSON-LD in a worker process that is killed after
``--canonicalization-timeout`` seconds (default 5; RDFC-1.0 §7.1): a crafted credential is reported as
``canonicalization-timeout`` instead of hanging the command.

Revocation (W3C Bitstring Status List v1.0): a credential's ``credentialStatus`` is checked against the status list
credentials given with ``--status-list URL=FILE`` (offline, like ``--did-document``) and, with
``--resolve-did-web``, against those fetched from their URL. With neither, status is ``not-checked``; a revoked or
suspended credential makes the verdict invalid (error code ``revoked`` / ``suspended``), and a status list that is
missing or does not verify makes the credential ``unverifiable``.

The ``--json`` verdict (stable; see :mod:`self_descriptions.report`)::

    {"valid": bool, "presentation": {...same fields...} | null,
     "credentials": [{"index": 0, "id": ..., "types": [...], "issuer": ..., "format": "vc-jwt"|"jsonld",
                      "signature": "valid"|"invalid"|"unverifiable", "flavour": "gaia-x"|"specification"|null,
                      "alg": ..., "trust": "valid"|"invalid"|"not-checked",
                      "validity": "valid"|"expired"|"not-yet-valid"|"invalid",
                      "status": "valid"|"revoked"|"suspended"|"not-checked"|"unverifiable",
                      "errors": [{"code", "message"}]}],
     "shapes": {"conforms": bool, "version": ..., "focus_nodes": int, "engine": ..., "violations": [...]} | null,
     "errors": [{"code", "message"}]}
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import sys
import tomllib
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from cryptography import x509
from rich.console import Console
from rich.table import Table

from connector.identity.resolver import GuardedFetcher, HttpDidResolver, HttpX5uFetcher
from connector.identity.status_lists import HttpStatusListFetcher
from self_descriptions.build import (
    Address,
    DatasetDescription,
    ParticipantProfile,
    RegistrationNumber,
    Validity,
    build_self_description,
)
from self_descriptions.canonical_worker import DEFAULT_TIMEOUT, Canonicalizer, InProcess, WorkerPool
from self_descriptions.certificates import load_pem_certificates
from self_descriptions.did import DidResolver, OfflineDidResolver, did_web_from_url
from self_descriptions.errors import SelfDescriptionError
from self_descriptions.keys import load_private_key_file
from self_descriptions.loader import DocumentLoader
from self_descriptions.proofs.jws2020 import Flavour, sign_jws2020
from self_descriptions.proofs.vc_jwt import PROFILES, build_presentation, format_datetime, sign_vc_jwt, sign_vp_jwt
from self_descriptions.status_list import OfflineStatusListFetcher, StatusListFetcher
from self_descriptions.trust import StaticX5uFetcher, X5uFetcher
from self_descriptions.verify import (
    PresentationAssessment,
    Problem,
    VerificationError,
    assess_presentation,
    make_context,
    parse_datetime,
)
from self_descriptions.wizard import Base58PemDidResolver

if TYPE_CHECKING:
    from self_descriptions.shacl import ShaclReport, Shapes

# SHACL (rdflib, pyoxigraph) and the compliance checks are imported by the commands that use them: every process
# that loads the CLI, the connector server included, would otherwise carry ~20 MiB of RDF libraries (issue 6 §3).

app = typer.Typer(help="Gaia-X self-descriptions: build, sign, present, comply, verify.", no_args_is_help=True)
err = Console(stderr=True)
out = Console()

TAGUS_MARKER = "trusted-shape-registry/v1/shapes/jsonld/trustframework"


def _usage(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


def _now(at: str | None) -> dt.datetime:
    if at is None:
        return dt.datetime.now(dt.UTC)
    try:
        return parse_datetime(at, "--at")
    except VerificationError as exc:
        _usage(exc.message)


def _pairs(values: Sequence[str], option: str) -> dict[str, Path]:
    pairs: dict[str, Path] = {}
    for value in values:
        url, sep, file = value.rpartition("=")
        if not sep or not url or not file:
            _usage(f"{option} expects URL=FILE, got {value!r}")
        pairs[url] = Path(file)
    return pairs


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > 8 * 1024 * 1024:
            _usage(f"{path} is larger than 8 MiB")
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        _usage(f"cannot read {path}: {exc.strerror}")
    except UnicodeDecodeError:
        _usage(f"{path} is not UTF-8 text")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(_read_text(path))
    except ValueError as exc:
        _usage(f"{path} is not valid JSON: {exc}")


# --- build -----------------------------------------------------------------------------------------------------


def profile_from_config(config: dict[str, Any]) -> ParticipantProfile:
    """The participant profile from a ``gxc.toml`` (``participant_name``, ``public_url``, ``[self_description]``)."""
    sd = config.get("self_description", {})
    if not isinstance(sd, dict):
        raise SelfDescriptionError("[self_description] must be a table")
    base_url = str(config.get("public_url") or f"http://{config.get('host', '127.0.0.1')}:{config.get('port', 8181)}")
    numbers = tuple(
        RegistrationNumber(kind=n["kind"], value=str(n["value"]), country_code=n.get("country_code"))
        for n in sd.get("registration_numbers", [])
    )
    legal = Address(
        country_code=str(sd.get("country_code", "")),
        street_address=sd.get("street_address"),
        postal_code=sd.get("postal_code"),
        locality=sd.get("locality"),
    )
    hq = Address(str(sd["headquarters_country_code"])) if "headquarters_country_code" in sd else None
    extra = {k: sd[k] for k in ("terms_and_conditions_hash", "service_terms_url", "service_terms_hash") if k in sd}
    return ParticipantProfile(
        did=str(sd.get("did") or did_web_from_url(base_url)),
        base_url=str(sd.get("credentials_base_url", base_url)),
        legal_name=str(config.get("participant_name", "")),
        legal_address=legal,
        headquarters_address=hq,
        registration_numbers=numbers,
        description=sd.get("description"),
        **extra,
    )


def datasets_from_json(data: Any) -> list[DatasetDescription]:
    if not isinstance(data, list):
        raise SelfDescriptionError("the datasets file must contain a JSON list of datasets")
    out = []
    for item in data:
        if not isinstance(item, dict) or "id" not in item or "title" not in item or "policy" not in item:
            raise SelfDescriptionError("each dataset needs id, title and policy (an ODRL JSON object)")
        out.append(
            DatasetDescription(
                id=str(item["id"]),
                title=str(item["title"]),
                policy=item["policy"],
                description=item.get("description"),
                license=str(item.get("license", "CC-BY-4.0")),
                keywords=tuple(item.get("keywords", ())),
                terms_url=item.get("terms_url"),
                terms_hash=item.get("terms_hash"),
            )
        )
    return out


@app.command("build")
def build_command(
    config: Annotated[Path, typer.Option("--config", help="Participant config (gxc.toml).")],
    datasets: Annotated[Path, typer.Option("--datasets", help="JSON list of dataset descriptions.")],
    out_dir: Annotated[Path | None, typer.Option("--out", help="Write one JSON file per credential here.")] = None,
    notary_did: Annotated[
        str | None, typer.Option("--notary-did", help="Also build registration-number credentials for this notary.")
    ] = None,
    at: Annotated[str | None, typer.Option("--at", help="validFrom (ISO 8601); default now.")] = None,
    days: Annotated[int, typer.Option(help="Validity in days.")] = 90,
) -> None:
    """Build the participant's unsigned Loire 25.11 credentials from its config and datasets."""
    try:
        raw = tomllib.loads(_read_text(config))
    except tomllib.TOMLDecodeError as exc:
        _usage(f"{config} is not valid TOML: {exc}")
    try:
        profile = profile_from_config(raw)
        sd = build_self_description(
            profile,
            datasets_from_json(_read_json(datasets)),
            validity=Validity.starting(_now(at), dt.timedelta(days=days)),
            notary_did=notary_did,
        )
    except (SelfDescriptionError, KeyError, TypeError) as exc:
        _usage(exc.message if isinstance(exc, SelfDescriptionError) else f"invalid configuration: {exc}")
    credentials = sd.all()
    if out_dir is None:
        out.print_json(json.dumps(credentials))
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    for credential in credentials:
        name = str(credential["id"]).rsplit("/", 1)[-1]
        (out_dir / name).write_text(json.dumps(credential, indent=2), encoding="utf-8")
    err.print(f"wrote {len(credentials)} credentials to {out_dir}")


# --- sign / present --------------------------------------------------------------------------------------------


@app.command("sign")
def sign_command(
    file: Annotated[Path, typer.Argument(help="A credential (JSON object) or a JSON list of credentials.")],
    key: Annotated[Path, typer.Option("--key", help="PEM private key.")],
    kid: Annotated[str, typer.Option("--kid", help="Verification method id (did#fragment) of the key.")],
    profile: Annotated[str, typer.Option(help="Header profile: w3c, icam-24.07 or gxdch-2025.")] = "w3c",
    fmt: Annotated[str, typer.Option("--format", help="vc-jwt, jws2020 (Gaia-X flavour) or jws2020-spec.")] = "vc-jwt",
    at: Annotated[str | None, typer.Option("--at", help="Signing time (ISO 8601); default now.")] = None,
) -> None:
    """Sign credentials: one VC-JWT per line, or JSON-LD with a JsonWebSignature2020 proof."""
    if profile not in PROFILES:
        _usage(f"unknown profile {profile!r}; choose {', '.join(PROFILES)}")
    if fmt not in ("vc-jwt", "jws2020", "jws2020-spec"):
        _usage("--format must be vc-jwt, jws2020 or jws2020-spec")
    data = _read_json(file)
    credentials = data if isinstance(data, list) else [data]
    now = _now(at)
    try:
        signer = load_private_key_file(key)
        for credential in credentials:
            if fmt == "vc-jwt":
                out.print(
                    sign_vc_jwt(credential, signer, kid=kid, profile=PROFILES[profile], issued_at=now), soft_wrap=True
                )
            else:
                flavour: Flavour = "gaia-x" if fmt == "jws2020" else "specification"
                signed = sign_jws2020(
                    credential, signer, verification_method=kid, created=format_datetime(now), flavour=flavour
                )
                out.print_json(json.dumps(signed))
    except SelfDescriptionError as exc:
        _usage(exc.message)


@app.command("present")
def present_command(
    tokens: Annotated[list[Path], typer.Argument(help="Files with VC-JWTs (one per line).")],
    key: Annotated[Path, typer.Option("--key", help="PEM private key of the holder.")],
    kid: Annotated[str, typer.Option("--kid", help="Verification method id of the holder key.")],
    profile: Annotated[str, typer.Option(help="Header profile: w3c, icam-24.07 or gxdch-2025.")] = "w3c",
    at: Annotated[str | None, typer.Option("--at", help="validFrom of the VP; default now.")] = None,
    hours: Annotated[int, typer.Option(help="VP lifetime in hours.")] = 24,
) -> None:
    """Wrap VC-JWTs into a signed VP-JWT (enveloped credentials), as GXDCH compliance expects."""
    if profile not in PROFILES:
        _usage(f"unknown profile {profile!r}; choose {', '.join(PROFILES)}")
    jwts = [line.strip() for path in tokens for line in _read_text(path).splitlines() if line.strip()]
    if not jwts:
        _usage("no VC-JWTs given")
    now = _now(at)
    try:
        signer = load_private_key_file(key)
        vp = build_presentation(kid.split("#", 1)[0], jwts, valid_from=now, valid_until=now + dt.timedelta(hours=hours))
        out.print(sign_vp_jwt(vp, signer, kid=kid, profile=PROFILES[profile], issued_at=now), soft_wrap=True)
    except SelfDescriptionError as exc:
        _usage(exc.message)


# --- verify / comply -------------------------------------------------------------------------------------------

DidDocuments = Annotated[list[Path], typer.Option("--did-document", help="Offline DID document (repeatable).")]
TrustAnchors = Annotated[list[Path], typer.Option("--trust-anchor", help="PEM root certificate (repeatable).")]
NoTrust = Annotated[bool, typer.Option("--no-trust-chain", help="Do not validate x5u chains.")]
X5uChains = Annotated[list[str], typer.Option("--x5u-chain", help="URL=FILE: offline x5u chain (repeatable).")]
StatusLists = Annotated[
    list[str],
    typer.Option("--status-list", help="URL=FILE: offline status list credential (VC-JWT or JSON; repeatable)."),
]
Contexts = Annotated[list[str], typer.Option("--context", help="URL=FILE: allow a JSON-LD context (repeatable).")]
ShapesOpt = Annotated[str | None, typer.Option("--shapes", help="Shapes: 25.11, 22.10 or a file (default: auto).")]
NoShapes = Annotated[bool, typer.Option("--no-shapes", help="Skip SHACL validation.")]
At = Annotated[str | None, typer.Option("--at", help="Verification time (ISO 8601); default now.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the machine-readable verdict.")]
ResolveWeb = Annotated[
    bool, typer.Option("--resolve-did-web", help="Resolve did:web, x5u chains and status lists over HTTPS.")
]
AllowPrivate = Annotated[bool, typer.Option("--allow-private", help="With --resolve-did-web: allow private hosts.")]
CanonicalizationTimeout = Annotated[
    float,
    typer.Option(
        "--canonicalization-timeout",
        min=0.0,
        help="Seconds to canonicalize one JSON-LD document, in a worker process killed beyond it (a crafted "
        "document can make RDFC-1.0 run for hours); 0 canonicalizes in this process without a time limit "
        "(trusted input only).",
    ),
]


def _canonicalizer(timeout: float) -> AbstractContextManager[Canonicalizer]:
    """The worker pool for ``timeout`` > 0 (closed when the command ends), else in-process canonicalization."""
    return WorkerPool(workers=1, timeout=timeout) if timeout > 0 else nullcontext(InProcess())


class _Setup:
    def __init__(
        self,
        did_documents: list[Path],
        trust_anchors: list[Path],
        no_trust_chain: bool,
        x5u_chains: list[str],
        contexts: list[str],
        resolve_did_web: bool,
        allow_private: bool,
        status_lists: Sequence[str] = (),
    ) -> None:
        try:
            self.loader = DocumentLoader(_pairs(contexts, "--context"))
            offline = OfflineDidResolver.from_files(did_documents)
            offline_lists = OfflineStatusListFetcher.from_files(_pairs(status_lists, "--status-list"))
        except SelfDescriptionError as exc:
            _usage(exc.message)
        self.anchors: list[x509.Certificate] | None = None
        if not no_trust_chain:
            self.anchors = []
            for path in trust_anchors:
                try:
                    self.anchors.extend(load_pem_certificates(path.read_bytes(), source=str(path)))
                except OSError as exc:
                    _usage(f"cannot read trust anchor {path}: {exc.strerror}")
                except SelfDescriptionError as exc:
                    _usage(exc.message)
        static = StaticX5uFetcher()
        for url, path in _pairs(x5u_chains, "--x5u-chain").items():
            try:
                static.add(url, path.read_bytes())
            except OSError as exc:
                _usage(f"cannot read x5u chain {path}: {exc.strerror}")
        self.x5u: X5uFetcher = static
        fallback: DidResolver = offline
        #: None: status is not checked (nothing given offline, no network allowed)
        self.status_lists: StatusListFetcher | None = offline_lists if status_lists else None
        if resolve_did_web:
            guarded = GuardedFetcher(allow_private=allow_private)
            self.x5u = _ChainedX5u(static, HttpX5uFetcher(guarded))
            fallback = _ChainedResolver(offline, HttpDidResolver(guarded))
            self.status_lists = _ChainedStatusLists(offline_lists, HttpStatusListFetcher(guarded))
        self.resolver: DidResolver = Base58PemDidResolver(fallback)


class _ChainedResolver:
    def __init__(self, first: OfflineDidResolver, second: HttpDidResolver) -> None:
        self.first, self.second = first, second

    async def resolve(self, did: str) -> Any:
        try:
            return await self.first.resolve(did)
        except SelfDescriptionError:
            return await self.second.resolve(did)


class _ChainedX5u:
    def __init__(self, first: StaticX5uFetcher, second: HttpX5uFetcher) -> None:
        self.first, self.second = first, second

    async def fetch(self, url: str) -> bytes:
        try:
            return await self.first.fetch(url)
        except SelfDescriptionError:
            return await self.second.fetch(url)


class _ChainedStatusLists:
    def __init__(self, first: OfflineStatusListFetcher, second: HttpStatusListFetcher) -> None:
        self.first, self.second = first, second

    async def fetch(self, url: str) -> str | Mapping[str, Any]:
        try:
            return await self.first.fetch(url)
        except SelfDescriptionError:
            return await self.second.fetch(url)


def _shapes_for(option: str | None, documents: list[Any]) -> Shapes | str:
    from self_descriptions.shacl import Shapes, load_shapes

    if option is None:
        text = json.dumps([d.get("@context") for d in documents]) + json.dumps(
            [
                d.get("credentialSubject", {}).get("@context") if isinstance(d.get("credentialSubject"), dict) else None
                for d in documents
            ]
        )
        return "22.10" if TAGUS_MARKER in text else "25.11"
    if Path(option).is_file():
        try:
            return Shapes.from_file(Path(option))
        except SelfDescriptionError as exc:
            _usage(exc.message)
    try:
        load_shapes(option)
    except SelfDescriptionError as exc:
        _usage(exc.message)
    return option


def _print_table(result: dict[str, Any]) -> None:
    table = Table(title="valid" if result["valid"] else "INVALID")
    for column in ("#", "id / types", "issuer", "format", "signature", "trust", "validity", "status", "errors"):
        table.add_column(column)
    rows = ([("VP", result["presentation"])] if result["presentation"] else []) + [
        (str(c["index"]), c) for c in result["credentials"]
    ]
    for label, c in rows:
        sig = c["signature"] + (f" ({c['flavour']})" if c["flavour"] else "")
        table.add_row(
            label,
            f"{c['id']}\n{', '.join(c['types'])}",
            str(c["issuer"]),
            c["format"],
            sig,
            c["trust"],
            c["validity"],
            c["status"],
            "\n".join(f"{e['code']}: {e['message']}" for e in c["errors"]),
        )
    out.print(table)
    shapes = result["shapes"]
    if shapes:
        out.print(
            f"shapes {shapes['version']}: {'conforms' if shapes['conforms'] else 'does NOT conform'} "
            f"({shapes['focus_nodes']} focus nodes, {len(shapes['violations'])} violations)"
        )
        for v in shapes["violations"][:50]:
            out.print(f"  {v['focus_node']} {v['path']}: {v['message'][:200]}")
    for e in result["errors"]:
        out.print(f"[red]{e['code']}[/red]: {e['message']}")


async def _assess(source: str, setup: _Setup, now: dt.datetime, canonicalizer: Canonicalizer) -> PresentationAssessment:
    ctx = make_context(
        resolver=setup.resolver,
        trust_anchors=setup.anchors,
        now=now,
        x5u_fetcher=setup.x5u,
        loader=setup.loader,
        canonicalizer=canonicalizer,
    )
    return await assess_presentation(source, dataclasses.replace(ctx, status_lists=setup.status_lists))


@app.command("verify")
def verify_command(
    file: Annotated[str, typer.Argument(help="JSON-LD VC/VP, compact VC-JWT/VP-JWT or data: URL ('-' = stdin).")],
    as_json: AsJson = False,
    at: At = None,
    did_document: DidDocuments = [],  # noqa: B006 - typer reads list defaults, never mutates them
    trust_anchor: TrustAnchors = [],  # noqa: B006
    no_trust_chain: NoTrust = False,
    x5u_chain: X5uChains = [],  # noqa: B006
    status_list: StatusLists = [],  # noqa: B006
    context: Contexts = [],  # noqa: B006
    shapes: ShapesOpt = None,
    no_shapes: NoShapes = False,
    resolve_did_web: ResolveWeb = False,
    allow_private: AllowPrivate = False,
    canonicalization_timeout: CanonicalizationTimeout = DEFAULT_TIMEOUT,
) -> None:
    """Verify signatures, keys, trust chains, validity, status (revocation) and shapes; exit 0 valid, 1 invalid,
    2 usage error."""
    from self_descriptions.report import verdict
    from self_descriptions.shacl import validate

    source = sys.stdin.read() if file == "-" else _read_text(Path(file))
    now = _now(at)
    setup = _Setup(
        did_document, trust_anchor, no_trust_chain, x5u_chain, context, resolve_did_web, allow_private, status_list
    )
    chosen = _shapes_for(shapes, []) if shapes is not None and not no_shapes else None  # usage errors first
    report: ShaclReport | None = None
    problems: list[Problem] = []
    with _canonicalizer(canonicalization_timeout) as canonicalizer:
        assessment = asyncio.run(_assess(source, setup, now, canonicalizer))
        documents = [c.document for c in assessment.credentials if c.document]
        if not no_shapes and documents:
            try:
                report = validate(
                    documents,
                    shapes=chosen or _shapes_for(None, documents),
                    loader=setup.loader,
                    canonicalizer=canonicalizer,
                )
            except SelfDescriptionError as exc:
                problems.append(Problem(exc.code, exc.message))
    result = verdict(assessment, report, errors=problems)
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        _print_table(result)
    raise typer.Exit(0 if result["valid"] else 1)


@app.command("comply")
def comply_command(
    file: Annotated[str, typer.Argument(help="The participant VP (VP-JWT or JSON-LD; '-' = stdin).")],
    trusted_notary: Annotated[list[str], typer.Option("--trusted-notary", help="Notary DID (repeatable).")] = [],  # noqa: B006
    key: Annotated[Path | None, typer.Option("--key", help="Clearing-house key: issue the credential.")] = None,
    kid: Annotated[str | None, typer.Option("--kid", help="Verification method id of --key.")] = None,
    as_json: AsJson = False,
    at: At = None,
    did_document: DidDocuments = [],  # noqa: B006
    trust_anchor: TrustAnchors = [],  # noqa: B006
    no_trust_chain: NoTrust = False,
    x5u_chain: X5uChains = [],  # noqa: B006
    context: Contexts = [],  # noqa: B006
    shapes: ShapesOpt = None,
    resolve_did_web: ResolveWeb = False,
    allow_private: AllowPrivate = False,
    canonicalization_timeout: CanonicalizationTimeout = DEFAULT_TIMEOUT,
) -> None:
    """Run the GXDCH compliance checks; with --key/--kid print the compliance VC-JWT. Exit 0 compliant, 1 not."""
    from self_descriptions.compliance import check_compliance, issue_compliance_credential

    if (key is None) != (kid is None):
        _usage("--key and --kid go together")
    source = sys.stdin.read() if file == "-" else _read_text(Path(file))
    now = _now(at)
    setup = _Setup(did_document, trust_anchor, no_trust_chain, x5u_chain, context, resolve_did_web, allow_private)
    with _canonicalizer(canonicalization_timeout) as canonicalizer:
        verdict_ = asyncio.run(
            check_compliance(
                source,
                resolver=setup.resolver,
                trust_anchors=setup.anchors,
                trusted_notaries=trusted_notary,
                now=now,
                x5u_fetcher=setup.x5u,
                shapes=shapes or "25.11",
                loader=setup.loader,
                canonicalizer=canonicalizer,
            )
        )
    result = verdict_.as_dict()
    if verdict_.compliant and key is not None and kid is not None:
        try:
            result["credential"] = issue_compliance_credential(
                verdict_, key=load_private_key_file(key), kid=kid, now=now
            )
        except SelfDescriptionError as exc:
            _usage(exc.message)
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        for check in verdict_.checks:
            mark = "[green]pass[/green]" if check.passed else "[red]FAIL[/red]"
            out.print(f"{mark} {check.name}: {check.message}")
        out.print("compliant" if verdict_.compliant else "NOT compliant")
        if "credential" in result:
            out.print(result["credential"], soft_wrap=True)
    raise typer.Exit(0 if verdict_.compliant else 1)
