"""Assets: the datasets a provider offers (DSP 2025-1 §catalog ``Dataset``) and where their bytes live.

The data address never holds secrets: headers the data plane adds towards a backend are references into the
secret store (:class:`SecretRef`), resolved by the data plane at access time.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from connector.domain.entity import Entity, JsonObject


class SecretRef(Entity):
    """The name of a secret in the connector's secret store (never the secret itself)."""

    secret: str = Field(min_length=1)


class HttpDataAddress(Entity):
    """An HTTP backend the data plane proxies to (EDC ``HttpData``)."""

    kind: Literal["http"] = "http"
    base_url: str = Field(min_length=1)
    allowed_methods: tuple[str, ...] = ("GET",)
    #: Whether the consumer may append a path below ``base_url`` / pass query parameters through.
    proxy_path: bool = False
    proxy_query: bool = False
    headers: dict[str, SecretRef] = Field(default_factory=dict)


class FileDataAddress(Entity):
    """A file on the provider's disk."""

    kind: Literal["file"] = "file"
    path: str = Field(min_length=1)


DataAddress = Annotated[HttpDataAddress | FileDataAddress, Field(discriminator="kind")]


class Asset(Entity):
    """A dataset offered by this connector."""

    id: str = Field(min_length=1)
    title: str
    description: str | None = None
    keywords: tuple[str, ...] = ()
    content_type: str | None = None
    data_address: DataAddress
    created_at: AwareDatetime
    properties: JsonObject = Field(default_factory=dict)
