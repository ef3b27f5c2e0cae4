"""The credentials this participant holds (its wallet): list them and import one (e.g. a membership credential)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from connector.api.body import LimitedBodyRoute
from connector.api.management.problems import ProblemError
from connector.identity.wallet import HeldCredential
from connector.services.assembly import Connector


class CredentialIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    credential: str = Field(description="A VC-JWT (compact JWS)", examples=["eyJhbGciOiJFUzI1NiIs..."])


def _save(path: Path, token: str) -> None:
    """Persist a held credential so it is presented again after a restart."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(token, encoding="utf-8")


def router(get: Callable[[], Connector], folder: Path) -> APIRouter:
    r = APIRouter(tags=["management: credentials"], route_class=LimitedBodyRoute)

    @r.get("/credentials", summary="Credentials held and presented to verifiers (DCP)")
    async def list_credentials() -> dict[str, Any]:
        return {"items": [{"id": c.id, "types": list(c.types)} for c in get().runtime.wallet.credentials]}

    @r.post("/credentials", status_code=201, summary="Import a credential issued to this participant")
    async def import_credential(body: CredentialIn) -> dict[str, Any]:
        try:
            held = HeldCredential.from_token(body.credential)
        except ValueError as exc:
            raise ProblemError(400, "invalid-credential", f"not a VC-JWT: {exc}") from exc
        get().runtime.wallet.add(held)
        name = "".join(ch if ch.isalnum() else "-" for ch in (held.id or held.token[-24:]))[-80:]
        await asyncio.to_thread(_save, folder / f"{name}.jwt", held.token)
        return {"id": held.id, "types": list(held.types)}

    return r
