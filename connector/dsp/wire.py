"""The base of every DSP 2025-1 model: compact JSON-LD form, spec term aliases, ``to_wire()``.

DSP 2025-1 §common "JSON-LD": a message is valid when its **compacted** form (with the 2025-1 context and bare,
protected terms) validates against the official schema. Models therefore mirror the compact form directly: Python
attributes are snake_case, each aliased to the exact JSON-LD term (house rule 8), ``@type`` is a constant field, and
``@context`` is not part of the model at all: it is always ``[DSP_CONTEXT_URL]`` after normalisation, so the codec
strips it on the way in and :meth:`DspModel.to_wire` adds it on the way out.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

#: The DSP 2025-1 JSON-LD context (DSP 2025-1 §common; ``artifacts/src/main/resources/context/dspace.jsonld``).
DSP_CONTEXT_URL = "https://w3id.org/dspace/2025/1/context.jsonld"

#: The namespace behind the ``dspace:`` prefix of the 2025-1 context.
DSP_NAMESPACE = "https://w3id.org/dspace/2025/1/"


def dsp_context() -> list[str]:
    """A fresh ``@context`` value; a list because every DSP schema requires an array (dsp.md §7.3, pitfall 1)."""
    return [DSP_CONTEXT_URL]


class DspModel(BaseModel):
    """Common configuration: aliases are the JSON-LD terms, attributes are snake_case, instances are immutable.

    Unknown properties are ignored for protocol messages (a peer's extension terms must not leak into state);
    DCAT objects override this to keep them (titles, descriptions and keywords are open-ended).
    """

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="ignore")

    #: Whether the wire form is JSON-LD (gets ``@context``); False only for the plain-JSON VersionResponse.
    jsonld: ClassVar[bool] = True

    def wire_body(self) -> dict[str, Any]:
        """This object in compact form without ``@context`` (the form it takes when nested)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_wire(self) -> dict[str, Any]:
        """The top-level compact JSON-LD document: ``@context`` first, then the terms (DSP 2025-1 §common)."""
        body = self.wire_body()
        if not self.jsonld:
            return body
        return {"@context": dsp_context(), **body}


class DcatModel(DspModel):
    """DCAT objects (DSP 2025-1 §catalog) are open: keep extra properties such as ``title`` or ``description``."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="allow")
