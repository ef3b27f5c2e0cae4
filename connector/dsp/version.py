"""Version metadata (DSP 2025-1 §common "Exposure of Versions", schema ``common/protocol-version-schema.json``).

``GET <root>/.well-known/dspace-version`` is unversioned, unauthenticated and answers **plain JSON** (no
``@context``, unlike 2024-1).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from connector.dsp.wire import DspModel

#: The version string this package implements.
DSP_VERSION = "2025-1"


class VersionAuth(DspModel):
    """How a peer authenticates against this version's endpoints (e.g. ``{"protocol": "DCP", "version": "1.0"}``)."""

    protocol: str
    version: str
    profile: list[str] | None = None


class ProtocolVersion(DspModel):
    """One entry of ``protocolVersions``: ``<root>`` + ``path`` is the ``<base>`` of every endpoint."""

    version: str
    path: str
    binding: Literal["HTTPS"] = "HTTPS"
    service_id: str | None = Field(None, alias="serviceId")
    identifier_type: str | None = Field(None, alias="identifierType")
    auth: VersionAuth | None = None


class VersionResponse(DspModel):
    """The body of ``GET /.well-known/dspace-version``."""

    jsonld: ClassVar[bool] = False

    protocol_versions: list[ProtocolVersion] = Field(alias="protocolVersions", min_length=1)
