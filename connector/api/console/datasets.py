"""Datasets: register one from a form (source URL, file on this machine, or an upload; description, keywords;
a policy from templates or hand-written ODRL with a live check), see it with its offer and its self-description.

Registering writes what the management API's three calls write (asset, contract policy, contract definition; plus
a shared "everyone" access policy) in one transaction, so a failed step leaves nothing half-registered.
"""

# No ``from __future__ import annotations``: FastAPI must see the Depends(auth) closures in the signatures.

import asyncio
import re
import shutil
from pathlib import Path
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from connector.api.console.context import PREFIX, ConsoleContext
from connector.api.console.guard import require_session
from connector.api.console.policy_form import EXAMPLE_ODRL, TEMPLATES, PolicyDraft, policy_from_form
from connector.api.console.self_description import dataset_credentials, preview
from connector.api.console.session import Session
from connector.api.console.wording import describe, policy_words
from connector.domain import Asset, ContractDefinition, FileDataAddress, HttpDataAddress, PolicyDefinition
from connector.errors import ConnectorError
from connector.store.errors import DuplicateKey, NotFound
from policies import PolicyError
from self_descriptions.errors import SelfDescriptionError

#: The access policy of datasets offered to everyone (who may *see* the offer; the contract policy decides use).
EVERYONE_POLICY_ID = "console-everyone"
EVERYONE = {
    "@context": "http://www.w3.org/ns/odrl.jsonld",
    "@type": "Set",
    "uid": "urn:gxc:policy:everyone",
    "permission": [{"action": "use"}],
}
MAX_UPLOAD_BYTES = 512 * 1024 * 1024
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~:-]{0,127}")


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "dataset"


def _text(form: Any) -> dict[str, str]:
    return {k: v for k, v in form.multi_items() if isinstance(v, str)}


def router(console: ConsoleContext) -> APIRouter:
    r = APIRouter()
    auth = require_session(console)

    async def listing() -> tuple[list[Asset], list[ContractDefinition], dict[str, PolicyDefinition]]:
        async with console.get().runtime.store.transaction() as tx:
            assets = (await tx.assets.list(limit=1000)).items
            definitions = (await tx.contract_definitions.list(limit=1000)).items
            policies = {p.id: p for p in (await tx.policies.list(limit=1000)).items}
        return list(assets), list(definitions), policies

    def parse(document: Any) -> Any:
        return console.get().runtime.policies.parse(document)

    @r.get("/datasets", include_in_schema=False)
    async def datasets(request: Request, session: Annotated[Session, Depends(auth)]) -> Response:
        assets, definitions, policies = await listing()
        rows = []
        for asset in assets:
            offers = [d for d in definitions if asset.id in d.asset_ids]
            words = (
                describe(policies[offers[0].contract_policy_id].policy, parse)
                if offers and offers[0].contract_policy_id in policies
                else []
            )
            rows.append({"asset": asset, "offers": offers, "words": words})
        return console.page(request, "datasets.html", session, rows=rows)

    def form_page(
        request: Request, session: Session, values: dict[str, str], errors: list[str], status: int = 200
    ) -> Response:
        return console.page(
            request,
            "dataset_new.html",
            session,
            status=status,
            values=values,
            errors=errors,
            templates=TEMPLATES,
            example_odrl=EXAMPLE_ODRL,
        )

    @r.get("/datasets/new", include_in_schema=False)
    async def new(request: Request, session: Annotated[Session, Depends(auth)]) -> Response:
        return form_page(request, session, {"source": "url", "policy_mode": "template", "visible": "everyone"}, [])

    @r.post("/datasets/policy-preview", include_in_schema=False)
    async def policy_preview(request: Request, session: Annotated[Session, Depends(auth)]) -> JSONResponse:
        draft = policy_from_form(_text(await request.form()), assigner=console.get().runtime.identity.did, parse=parse)
        return JSONResponse(_draft_json(draft), headers={"Cache-Control": "no-store"})

    @r.post("/datasets", include_in_schema=False)
    async def register(request: Request, session: Annotated[Session, Depends(auth)]) -> Response:
        form = await request.form()
        try:
            return await _register(request, session, form)
        finally:
            await form.close()  # uploads are spooled to temporary files

    async def _register(request: Request, session: Session, form: FormData) -> Response:
        values = _text(form)
        c = console.get()
        errors: list[str] = []
        title = values.get("title", "").strip()
        if not title:
            errors.append("Title: give the dataset a name people will recognise.")
        asset_id = values.get("id", "").strip() or slug(title)
        if not _ID.fullmatch(asset_id):
            errors.append("Identifier: letters, digits and . _ ~ : - only (at most 128).")
        draft = policy_from_form(values, assigner=c.runtime.identity.did, parse=parse)
        errors += [f"Policy: {e}" for e in draft.errors]
        address: HttpDataAddress | FileDataAddress | None = None
        source = values.get("source", "url")
        upload = form.get("upload")
        saved: Path | None = None
        if source == "url":
            url = values.get("source_url", "").strip()
            if not url.startswith(("http://", "https://")):
                errors.append("Source URL: give an http:// or https:// address of the data.")
            else:
                address = HttpDataAddress(base_url=url)
        elif source == "file":
            path = Path(values.get("source_path", "").strip())
            if not path.is_absolute() or not await asyncio.to_thread(path.is_file):
                errors.append("File: give the full path of an existing file on the connector's machine.")
            else:
                address = FileDataAddress(path=str(path))
        elif not isinstance(upload, UploadFile) or not upload.filename:
            errors.append("Upload: choose a file to upload.")
        if errors:
            return form_page(request, session, values, errors, status=400)
        if source == "upload":
            assert isinstance(upload, UploadFile)
            try:
                saved = await _save_upload(upload, console, asset_id)
            except ConnectorError as exc:
                return form_page(request, session, values, [exc.message], status=400)
            address = FileDataAddress(path=str(saved))
        assert address is not None
        assert draft.jsonld is not None
        content_type = values.get("content_type", "").strip() or (
            upload.content_type if isinstance(upload, UploadFile) and source == "upload" else None
        )
        now = c.runtime.now()
        asset = Asset(
            id=asset_id,
            title=title,
            description=values.get("description", "").strip() or None,
            keywords=tuple(k.strip() for k in values.get("keywords", "").split(",") if k.strip()),
            content_type=content_type,
            data_address=address,
            created_at=now,
        )
        contract = PolicyDefinition(id=f"{asset_id}-policy", policy=draft.jsonld, created_at=now)
        access_id = contract.id if values.get("visible") == "same" else EVERYONE_POLICY_ID
        definition = ContractDefinition(
            id=f"{asset_id}-offer",
            access_policy_id=access_id,
            contract_policy_id=contract.id,
            asset_ids=(asset_id,),
            created_at=now,
        )
        try:
            async with c.runtime.store.transaction() as tx:
                await tx.assets.add(asset)
                await tx.policies.add(contract)
                if access_id == EVERYONE_POLICY_ID:
                    try:
                        await tx.policies.get(EVERYONE_POLICY_ID)
                    except NotFound:
                        await tx.policies.add(PolicyDefinition(id=EVERYONE_POLICY_ID, policy=EVERYONE, created_at=now))
                await tx.contract_definitions.add(definition)
        except DuplicateKey:
            if saved is not None:
                shutil.rmtree(saved.parent, ignore_errors=True)
            message = f"Identifier: a dataset (or its policy or offer) named {asset_id!r} exists already."
            return form_page(request, session, values, [message], status=409)
        return RedirectResponse(f"{PREFIX}/datasets/{asset_id}?notice=registered", status_code=303)

    @r.get("/datasets/{asset_id}", include_in_schema=False)
    async def dataset(request: Request, asset_id: str, session: Annotated[Session, Depends(auth)]) -> Response:
        c = console.get()
        try:
            async with c.runtime.store.transaction() as tx:
                asset = await tx.assets.get(asset_id)
        except NotFound:
            return console.page(request, "missing.html", session, status=404, what=f"dataset {asset_id}")
        _, definitions, policies = await listing()
        offers: list[dict[str, Any]] = []
        for d in definitions:
            if asset.id not in d.asset_ids:
                continue
            contract, access = policies.get(d.contract_policy_id), policies.get(d.access_policy_id)
            offers.append(
                {
                    "definition": d,
                    "policy": contract,
                    "words": describe(contract.policy, parse) if contract else [],
                    "access_words": describe(access.policy, parse) if access else [],
                }
            )
        credentials: list[dict[str, Any]] = []
        sd_error = ""
        try:
            credentials = await dataset_credentials(c, asset.id)
        except (SelfDescriptionError, ConnectorError, PolicyError) as exc:
            sd_error = str(exc)
        return console.page(
            request, "dataset.html", session, asset=asset, offers=offers, credentials=credentials, sd_error=sd_error
        )

    @r.post("/datasets/{asset_id}/withdraw", include_in_schema=False)
    async def withdraw(request: Request, asset_id: str, session: Annotated[Session, Depends(auth)]) -> Response:
        _, definitions, _ = await listing()
        async with console.get().runtime.store.transaction() as tx:
            for d in definitions:
                if asset_id in d.asset_ids:
                    await tx.contract_definitions.delete(d.id)
        return RedirectResponse(f"{PREFIX}/datasets/{asset_id}?notice=deleted", status_code=303)

    @r.get("/self-description", include_in_schema=False)
    async def self_description(request: Request, session: Annotated[Session, Depends(auth)]) -> Response:
        return await _sd_page(request, session, console)

    @r.post("/self-description/publish", include_in_schema=False)
    async def publish(request: Request, session: Annotated[Session, Depends(auth)]) -> Response:
        error = ""
        try:
            await console.get().publish_self_description()
        except (ConnectorError, SelfDescriptionError) as exc:
            error = str(exc)
        return await _sd_page(request, session, console, error=error, status=200 if not error else 400)

    return r


async def _sd_page(
    request: Request, session: Session, console: ConsoleContext, *, error: str = "", status: int = 200
) -> Response:
    c = console.get()
    document: dict[str, Any] | None = None
    build_error = ""
    try:
        sd = await preview(c)
        document = {"verifiableCredential": sd.all()}
    except (SelfDescriptionError, ConnectorError, PolicyError) as exc:
        build_error = str(exc)
    return console.page(
        request,
        "self_description.html",
        session,
        status=status,
        document=document,
        build_error=build_error,
        error=error,
        publication=c.publication,
        catalogs=list(c.catalog_urls),
    )


def _draft_json(draft: PolicyDraft) -> dict[str, Any]:
    if not draft.ok or draft.policy is None:
        return {"ok": False, "errors": draft.errors or ["The policy is not complete."]}
    return {"ok": True, "words": policy_words(draft.policy), "jsonld": draft.jsonld}


async def _save_upload(upload: UploadFile, console: ConsoleContext, asset_id: str) -> Path:
    """Keep an uploaded file under the state folder (``uploads/<asset>/<name>``), at most ``MAX_UPLOAD_BYTES``."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(upload.filename or "data").name).lstrip(".") or "data"
    folder = console.settings.path(Path("uploads")) / re.sub(r"[^A-Za-z0-9._-]+", "_", asset_id)
    return await asyncio.to_thread(_copy, upload.file, folder, name)


def _copy(source: BinaryIO, folder: Path, name: str) -> Path:
    """Copy the spooled upload to disk (in a worker thread: file I/O blocks)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    written = 0
    with target.open("wb") as out:
        while chunk := source.read(1024 * 1024):
            written += len(chunk)
            if written > MAX_UPLOAD_BYTES:
                break
            out.write(chunk)
    if written > MAX_UPLOAD_BYTES:
        shutil.rmtree(folder, ignore_errors=True)
        raise ConnectorError(f"Upload: the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    return target
