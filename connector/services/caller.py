"""Who is calling a DSP endpoint, with what verified claims: the input of every provider-side decision."""

from __future__ import annotations

from dataclasses import dataclass

from connector.identity.claims import CallerClaims
from connector.identity.tokens import VerifiedCaller


@dataclass(frozen=True)
class Caller:
    token: VerifiedCaller
    claims: CallerClaims

    @property
    def did(self) -> str:
        return self.token.did
