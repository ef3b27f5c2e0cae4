"""Building the DCAT ``Catalog`` and ``Dataset`` answers of the provider (DSP 2025-1 §catalog).

The services layer decides *what* a requester may see (access policies over its verified claims) and hands the
visible datasets with their contract offers to :func:`build_catalog`; this module only enforces the wire rules:

* every offer in a catalog has an ``@id`` that is unique across the catalog and **no** ``target`` (the dataset is
  the target; a stored offer's ``target`` is dropped) — DSP 2025-1 §catalog "Dataset", schema ``Offer``;
* every dataset has at least one offer and one distribution, each distribution a ``format`` and an
  ``accessService`` that is one of the catalog's DataServices (same DSP version as the catalog, §catalog);
* the root carries ``participantId`` and at least one ``service``; an empty catalog omits ``dataset``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connector.dsp.catalog import Catalog, DataService, Dataset, Distribution, OdrlPolicy
from connector.dsp.errors import CatalogConfigurationError, UnsupportedFilter

#: Terms a caller may not set through ``DatasetEntry.properties`` (the builder owns them).
_RESERVED = frozenset({"@id", "@type", "@context", "hasPolicy", "distribution"})


@dataclass(frozen=True)
class DatasetEntry:
    """One dataset visible to the requester: its ``@id``, its contract offers (ODRL in the DSP compact form), the
    transfer formats it is distributed in and optional extra DCAT terms (``{"title": ...}``, compact form)."""

    id: str
    offers: Sequence[Mapping[str, Any]]
    formats: Sequence[str] = ("HttpData-PULL",)
    properties: Mapping[str, Any] = field(default_factory=dict)


def catalog_offer(offer: Mapping[str, Any]) -> OdrlPolicy:
    """``offer`` as it must appear inside a catalog: ``@type`` Offer, ``@id`` required, no ``target``."""
    if not isinstance(offer.get("@id"), str) or not offer["@id"]:
        raise CatalogConfigurationError("a catalog offer needs an @id (consumers refer to it in their request)")
    result = {key: copy.deepcopy(value) for key, value in offer.items() if key not in ("target", "@context")}
    result["@type"] = "Offer"
    return result


def build_dataset(entry: DatasetEntry, service: DataService, *, inline_service: bool = False) -> Dataset:
    """The ``Dataset`` for ``entry``; ``inline_service`` embeds the DataService in each distribution (for the
    stand-alone ``GET /catalog/datasets/:id`` answer, where no catalog lists the service)."""
    if not entry.offers:
        raise CatalogConfigurationError(f"dataset {entry.id} has no offer; a DSP dataset needs at least one")
    if not entry.formats:
        raise CatalogConfigurationError(f"dataset {entry.id} has no distribution format")
    clashes = _RESERVED & set(entry.properties)
    if clashes:
        raise CatalogConfigurationError(f"dataset {entry.id}: properties may not set {sorted(clashes)}")
    offers = [catalog_offer(offer) for offer in entry.offers]
    _require_unique((o["@id"] for o in offers), f"offer @id in dataset {entry.id}")
    access: str | DataService = service if inline_service else service.id
    distributions = [Distribution(format=fmt, access_service=access) for fmt in dict.fromkeys(entry.formats)]
    return Dataset.model_validate(
        {**copy.deepcopy(dict(entry.properties)), "@id": entry.id, "hasPolicy": offers, "distribution": distributions}
    )


def build_catalog(
    *,
    catalog_id: str,
    participant_id: str,
    service: DataService,
    datasets: Iterable[DatasetEntry],
    properties: Mapping[str, Any] | None = None,
) -> Catalog:
    """The root ``Catalog`` answering a CatalogRequestMessage (one page of ``datasets``; see ``pagination``)."""
    built = [build_dataset(entry, service) for entry in datasets]
    _require_unique((d.id for d in built), "dataset @id")
    _require_unique((str(o["@id"]) for d in built for o in d.has_policy), "offer @id")
    extra = dict(properties or {})
    clashes = {"@id", "@type", "@context", "participantId", "service", "dataset"} & set(extra)
    if clashes:
        raise CatalogConfigurationError(f"catalog properties may not set {sorted(clashes)}")
    return Catalog.model_validate(
        {
            **copy.deepcopy(extra),
            "@id": catalog_id,
            "participantId": participant_id,
            "service": [service],
            "dataset": built or None,
        }
    )


def check_filter(filter_: Sequence[Any] | None) -> None:
    """Reject a ``CatalogRequestMessage.filter`` (DSP 2025-1 §catalog binding: an unsupported filter is a 400).

    The spec leaves the filter language to implementations and this connector implements none, so only an absent
    or empty filter is accepted. Callers that add a filter language check it before calling this.
    """
    if filter_:
        raise UnsupportedFilter(
            "catalog filters are not supported by this connector; send no filter (or an empty list) and page with "
            "the Link header"
        )


def _require_unique(values: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise CatalogConfigurationError(f"duplicate {what} {value!r}: catalog identifiers must be unique")
        seen.add(value)
