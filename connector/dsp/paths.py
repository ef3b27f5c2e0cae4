"""Paths of the DSP 2025-1 HTTPS bindings (§catalog, §negotiation, §transfer "HTTPS Binding"; §common for the
version endpoint).

Provider endpoints are relative to the provider's ``<base>`` (``<root>`` + the ``path`` of its VersionResponse);
consumer callbacks are relative to the ``callbackAddress`` the consumer sent, except the initial provider offer,
which goes to ``<base>/negotiations/offers`` of the consumer. Templates use ``{providerPid}`` / ``{consumerPid}`` /
``{id}`` placeholders (valid router parameters); :func:`fill` substitutes percent-encoded values.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import quote

#: RFC 8615 location, unversioned and unauthenticated (§common "Exposure of Versions"); relative to ``<root>``.
WELL_KNOWN_VERSION: Final = "/.well-known/dspace-version"

# --- Catalog (provider) -------------------------------------------------------------------------------------------
CATALOG_REQUEST: Final = "/catalog/request"  # POST CatalogRequestMessage -> 200 Catalog
CATALOG_DATASET: Final = "/catalog/datasets/{id}"  # GET -> 200 Dataset

# --- Contract negotiation, provider endpoints ---------------------------------------------------------------------
NEGOTIATION: Final = "/negotiations/{providerPid}"  # GET -> ContractNegotiation
NEGOTIATION_INITIAL_REQUEST: Final = "/negotiations/request"  # POST initial ContractRequestMessage -> 201
NEGOTIATION_REQUEST: Final = "/negotiations/{providerPid}/request"  # POST counter ContractRequestMessage
NEGOTIATION_EVENTS: Final = "/negotiations/{providerPid}/events"  # POST event ACCEPTED
NEGOTIATION_VERIFICATION: Final = "/negotiations/{providerPid}/agreement/verification"  # POST verification
NEGOTIATION_TERMINATION: Final = "/negotiations/{providerPid}/termination"  # POST termination

# --- Contract negotiation, consumer callbacks (relative to callbackAddress, except the initial offer) ------------
NEGOTIATION_INITIAL_OFFER: Final = "/negotiations/offers"  # POST initial ContractOfferMessage -> 201 (at <base>)
CALLBACK_NEGOTIATION: Final = "/negotiations/{consumerPid}"  # GET -> ContractNegotiation (new in 2025-1)
CALLBACK_NEGOTIATION_OFFERS: Final = "/negotiations/{consumerPid}/offers"  # POST counter ContractOfferMessage
CALLBACK_NEGOTIATION_AGREEMENT: Final = "/negotiations/{consumerPid}/agreement"  # POST ContractAgreementMessage
CALLBACK_NEGOTIATION_EVENTS: Final = "/negotiations/{consumerPid}/events"  # POST event FINALIZED
CALLBACK_NEGOTIATION_TERMINATION: Final = "/negotiations/{consumerPid}/termination"  # POST termination

# --- Transfer process, provider endpoints -------------------------------------------------------------------------
TRANSFER: Final = "/transfers/{providerPid}"  # GET -> TransferProcess
TRANSFER_REQUEST: Final = "/transfers/request"  # POST TransferRequestMessage -> 201 TransferProcess
TRANSFER_START: Final = "/transfers/{providerPid}/start"  # POST (consumer resumes)
TRANSFER_COMPLETION: Final = "/transfers/{providerPid}/completion"
TRANSFER_TERMINATION: Final = "/transfers/{providerPid}/termination"
TRANSFER_SUSPENSION: Final = "/transfers/{providerPid}/suspension"

# --- Transfer process, consumer callbacks (relative to callbackAddress) --------------------------------------------
CALLBACK_TRANSFER_START: Final = "/transfers/{consumerPid}/start"
CALLBACK_TRANSFER_COMPLETION: Final = "/transfers/{consumerPid}/completion"
CALLBACK_TRANSFER_TERMINATION: Final = "/transfers/{consumerPid}/termination"
CALLBACK_TRANSFER_SUSPENSION: Final = "/transfers/{consumerPid}/suspension"

#: Every provider endpoint template (relative to ``<base>``), with its HTTP method.
PROVIDER_ENDPOINTS: Final[tuple[tuple[str, str], ...]] = (
    ("POST", CATALOG_REQUEST),
    ("GET", CATALOG_DATASET),
    ("GET", NEGOTIATION),
    ("POST", NEGOTIATION_INITIAL_REQUEST),
    ("POST", NEGOTIATION_REQUEST),
    ("POST", NEGOTIATION_EVENTS),
    ("POST", NEGOTIATION_VERIFICATION),
    ("POST", NEGOTIATION_TERMINATION),
    ("GET", TRANSFER),
    ("POST", TRANSFER_REQUEST),
    ("POST", TRANSFER_START),
    ("POST", TRANSFER_COMPLETION),
    ("POST", TRANSFER_TERMINATION),
    ("POST", TRANSFER_SUSPENSION),
)

#: Every consumer endpoint template: the initial offer at ``<base>``, the rest relative to the callbackAddress.
CONSUMER_ENDPOINTS: Final[tuple[tuple[str, str], ...]] = (
    ("POST", NEGOTIATION_INITIAL_OFFER),
    ("GET", CALLBACK_NEGOTIATION),
    ("POST", CALLBACK_NEGOTIATION_OFFERS),
    ("POST", CALLBACK_NEGOTIATION_AGREEMENT),
    ("POST", CALLBACK_NEGOTIATION_EVENTS),
    ("POST", CALLBACK_NEGOTIATION_TERMINATION),
    ("POST", CALLBACK_TRANSFER_START),
    ("POST", CALLBACK_TRANSFER_COMPLETION),
    ("POST", CALLBACK_TRANSFER_TERMINATION),
    ("POST", CALLBACK_TRANSFER_SUSPENSION),
)


def fill(template: str, *, partial: bool = False, **params: str) -> str:
    """``template`` with each ``{name}`` replaced by the percent-encoded value (``/``, ``?``, ``#`` escaped; the
    ``:`` of ``urn:uuid:`` pids kept). Every parameter must be used and, unless ``partial``, every placeholder
    given: a partial fill leaves the others for later (a peer's pid that is not known yet)."""
    result = template
    for name, value in params.items():
        placeholder = "{" + name + "}"
        if placeholder not in result:
            raise ValueError(f"{template!r} has no placeholder {placeholder}")
        result = result.replace(placeholder, quote(value, safe=":@!$&'()*+,;="))
    if not partial and "{" in result:
        raise ValueError(f"{template!r}: unfilled placeholder in {result!r}")
    return result


def placeholders(template: str) -> list[str]:
    """The names of the ``{name}`` placeholders left in ``template``."""
    return re.findall(r"\{(\w+)\}", template)


def join(address: str, path: str) -> str:
    """``address`` (a ``<base>`` or a ``callbackAddress``, with or without trailing ``/``) joined with ``path``
    (with or without leading ``/``) by exactly one slash (§common: handle both forms)."""
    return address.rstrip("/") + "/" + path.lstrip("/")
