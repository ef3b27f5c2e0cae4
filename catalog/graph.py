"""The RDF view of the catalogue for SPARQL: one named graph per participant (graph IRI = the participant DID).

Each graph describes the participant (``gx:LegalPerson``, ``schema:name``) and its discovery entries as DCAT
(``dcat:Dataset`` with ``dct:title``, ``dct:description``, ``dcat:keyword``, ``dct:publisher``, ``dct:format``,
``dct:license``, ``dcat:endpointURL``), ``rdf:type`` of the Gaia-X class it came from (``gx:ServiceOffering``,
…), and the ODRL policy features (``gxc:purpose``, ``gxc:constrains``, ``gxc:membershipRequired``). Terms are
built with pyoxigraph and serialised as N-Triples, so escaping is always correct. Queries run over the graphs of
visible participants only (see :mod:`catalog.sparql`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from urllib.parse import quote

import pyoxigraph as ox

from catalog.model import DatasetRecord

DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
SCHEMA = "https://schema.org/"
GX = "https://w3id.org/gaia-x/development#"
GXC = "https://w3id.org/gxc/catalogue#"
XSD_BOOLEAN = ox.NamedNode("http://www.w3.org/2001/XMLSchema#boolean")
PREFIXES = {"dcat": DCAT, "dct": DCT, "schema": SCHEMA, "gx": GX, "gxc": GXC}


def iri(value: str, kind: str = "dataset") -> ox.NamedNode:
    """``value`` when it is a usable absolute IRI, else a ``urn:gxc:`` IRI derived from it."""
    try:
        if ":" in value and not any(c in value for c in ' <>"{}|^`\\'):
            return ox.NamedNode(value)
    except ValueError:
        pass
    return ox.NamedNode(f"urn:gxc:{kind}:{quote(value, safe='')}")


def participant_triples(did: str, name: str | None, records: Iterable[DatasetRecord]) -> Iterator[ox.Triple]:
    subject = iri(did, "participant")
    yield ox.Triple(subject, RDF_TYPE, ox.NamedNode(GX + "LegalPerson"))
    if name:
        yield ox.Triple(subject, ox.NamedNode(SCHEMA + "name"), ox.Literal(name))
    for record in records:
        yield from dataset_triples(subject, record)


def dataset_triples(publisher: ox.NamedNode, record: DatasetRecord) -> Iterator[ox.Triple]:
    data = record.data
    node = iri(record.dataset_id)
    yield ox.Triple(node, RDF_TYPE, ox.NamedNode(DCAT + "Dataset"))
    for t in data.get("type", []):
        if t != "Dataset":
            yield ox.Triple(node, RDF_TYPE, ox.NamedNode(GX + str(t)))
    yield ox.Triple(node, ox.NamedNode(DCT + "publisher"), publisher)
    yield ox.Triple(node, ox.NamedNode(GXC + "source"), ox.Literal(record.source))
    for prop, key in (("title", "title"), ("description", "description"), ("license", "license")):
        if data.get(key):
            yield ox.Triple(node, ox.NamedNode(DCT + prop), ox.Literal(str(data[key])))
    for keyword in data.get("keywords", []):
        yield ox.Triple(node, ox.NamedNode(DCAT + "keyword"), ox.Literal(str(keyword)))
    for fmt in data.get("formats", []):
        yield ox.Triple(node, ox.NamedNode(DCT + "format"), ox.Literal(str(fmt)))
    for purpose in data.get("purposes", []):
        yield ox.Triple(node, ox.NamedNode(GXC + "purpose"), ox.Literal(str(purpose)))
    for operand in data.get("constraints", []):
        yield ox.Triple(node, ox.NamedNode(GXC + "constrains"), ox.Literal(str(operand)))
    yield ox.Triple(
        node,
        ox.NamedNode(GXC + "membershipRequired"),
        ox.Literal("true" if data.get("membershipRequired") else "false", datatype=XSD_BOOLEAN),
    )
    if data.get("endpoint"):
        yield ox.Triple(node, ox.NamedNode(DCAT + "endpointURL"), iri(str(data["endpoint"]), "endpoint"))


def participant_ntriples(did: str, name: str | None, records: Iterable[DatasetRecord]) -> bytes:
    return ox.serialize(participant_triples(did, name, records), format=ox.RdfFormat.N_TRIPLES) or b""
