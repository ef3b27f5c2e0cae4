"""Catalog Protocol messages and DCAT objects (DSP 2025-1 §catalog, schemas ``catalog/*-schema.json``).

ODRL offers are carried as validated JSON objects in the DSP compact form (``dict``), not parsed: the services layer
interprets them with ``policies``. The schema checks their shape (``@id``, ``@type: Offer``, a permission or
prohibition and, inside a catalog, no ``target``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from connector.dsp.errors import DspError
from connector.dsp.wire import DcatModel, DspModel

#: An ODRL policy (Offer or Agreement) in the DSP 2025-1 compact form.
OdrlPolicy = dict[str, Any]


class CatalogRequestMessage(DspModel):
    """DSP 2025-1 §catalog "Catalog Request Message": ``POST <base>/catalog/request``.

    ``filter`` is implementation-specific; an unsupported filter must be answered with 400 (catalog binding).
    """

    type_: Literal["CatalogRequestMessage"] = Field("CatalogRequestMessage", alias="@type")
    filter: list[Any] | None = None


class DatasetRequestMessage(DspModel):
    """DSP 2025-1 §catalog "Dataset Request Message"; the HTTPS binding turns it into ``GET /catalog/datasets/:id``."""

    type_: Literal["DatasetRequestMessage"] = Field("DatasetRequestMessage", alias="@type")
    dataset: str


class DataService(DcatModel):
    """DSP 2025-1 §catalog "Data Service": a connector endpoint of the same DSP version (``endpointURL``)."""

    id: str = Field(alias="@id")
    type_: Literal["DataService"] = Field("DataService", alias="@type")
    endpoint_url: str = Field(alias="endpointURL")
    endpoint_description: str | None = Field(None, alias="endpointDescription")


class Distribution(DcatModel):
    """DSP 2025-1 §catalog "Distribution": a ``format`` (e.g. ``HttpData-PULL``) served by an ``accessService``
    (the ``@id`` of a DataService of the catalog, or an inline DataService)."""

    type_: Literal["Distribution"] = Field("Distribution", alias="@type")
    format: str
    access_service: str | DataService = Field(alias="accessService")
    has_policy: list[OdrlPolicy] | None = Field(None, alias="hasPolicy", min_length=1)


class Dataset(DcatModel):
    """DSP 2025-1 §catalog "Dataset": at least one offer (``hasPolicy``, unique ``@id``, no ``target``) and one
    distribution. Served alone by ``GET /catalog/datasets/:id`` (then with ``@context``) or inside a Catalog."""

    id: str = Field(alias="@id")
    type_: Literal["Dataset"] = Field("Dataset", alias="@type")
    has_policy: list[OdrlPolicy] = Field(alias="hasPolicy", min_length=1)
    distribution: list[Distribution] = Field(min_length=1)


class Catalog(DcatModel):
    """DSP 2025-1 §catalog "Catalog": datasets, ``service`` DataServices and, at the root, ``participantId``.

    Catalogs nest (``catalog``). Empty lists are not allowed by the schema (``minItems: 1``), so an empty catalog
    simply omits ``dataset``.
    """

    id: str = Field(alias="@id")
    type_: Literal["Catalog"] = Field("Catalog", alias="@type")
    participant_id: str | None = Field(None, alias="participantId")
    service: list[DataService] | None = Field(None, min_length=1)
    dataset: list[Dataset] | None = Field(None, min_length=1)
    catalog: list[Catalog] | None = Field(None, min_length=1)
    distribution: list[Distribution] | None = Field(None, min_length=1)


class CatalogError(DspModel):
    """DSP 2025-1 §catalog "Catalog Error": body of any 4xx answer of the catalog binding."""

    type_: Literal["CatalogError"] = Field("CatalogError", alias="@type")
    code: str | None = None
    reason: list[Any] | None = None

    @classmethod
    def from_error(cls, error: DspError) -> CatalogError:
        """The error body the HTTP layer sends for ``error`` (status: ``error.status``)."""
        return cls(code=error.code, reason=list(error.reason))
