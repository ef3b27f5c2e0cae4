"""Seen token ids for replay protection of DCP self-issued ID tokens (DCP v1.0 §base: reject a reused ``jti``)."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from connector.domain.entity import Entity


class JtiRecord(Entity):
    """``jti`` was seen; it must be refused until ``expires_at``."""

    jti: str = Field(min_length=1)
    expires_at: AwareDatetime
