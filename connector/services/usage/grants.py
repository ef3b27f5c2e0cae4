"""The consumers' credential-service grants seen on pulls, so the policy monitor can ask for *current* claims.

A pull with ``X-GXC-Identity`` carries a DCP self-issued token whose ``token`` claim is an access token for the
consumer's Credential Service (DCP 1.0 §presentation flow), valid for a few minutes. While it is valid, the policy
monitor uses it to fetch a fresh presentation through the claims resolver and re-decides the agreement with what
the consumer can prove *now* (an expired or revoked credential ends the transfer without waiting for the next
pull). After it expired there is no way to ask (DCP gives verifiers no standing access): the monitor then decides
with the claims seen last. Kept in memory only: a grant is short-lived, and a restart falls back to the snapshot.
"""

from __future__ import annotations

import base64
import datetime as dt
import json

from connector.identity.tokens import VerifiedCaller


def access_token_expiry(token: str | None) -> dt.datetime | None:
    """The ``exp`` of a JWT access token (read, not verified: it only tells us whether asking is worth it; the
    consumer's Credential Service verifies it)."""
    if not token or token.count(".") != 2:
        return None
    payload = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC)
    except (ValueError, KeyError, TypeError):
        return None


class Grants:
    """The latest verified caller (with its access token) per transfer the provider serves."""

    def __init__(self) -> None:
        self._callers: dict[str, tuple[VerifiedCaller, dt.datetime]] = {}
        self._checked: dict[str, dt.datetime] = {}

    def remember(self, transfer_id: str, caller: VerifiedCaller) -> None:
        expires = access_token_expiry(caller.access_token)
        if expires is not None:
            self._callers[transfer_id] = (caller, expires)

    def usable(self, transfer_id: str, now: dt.datetime) -> VerifiedCaller | None:
        """The caller whose access token is still valid at ``now`` (None when there is none)."""
        found = self._callers.get(transfer_id)
        if found is None:
            return None
        if now >= found[1]:
            del self._callers[transfer_id]
            return None
        return found[0]

    def due(self, transfer_id: str, now: dt.datetime, every: dt.timedelta) -> bool:
        """Whether the claims of ``transfer_id`` were last re-checked ``every`` ago or longer (or never)."""
        last = self._checked.get(transfer_id)
        return last is None or now - last >= every or now < last

    def checked(self, transfer_id: str, now: dt.datetime) -> None:
        self._checked[transfer_id] = now

    def keep_only(self, transfer_ids: set[str]) -> None:
        """Forget transfers that are no longer running."""
        for mapping in (self._callers, self._checked):
            for gone in [k for k in mapping if k not in transfer_ids]:
                del mapping[gone]
