"""SHACL validation of a presentation against the bundled Gaia-X shapes (``gaiax.md`` §8).

GXDCH validates the **union** of all credential subjects in a VP, so references between credentials (a
LegalPerson's ``gx:registrationNumber`` pointing at the notary's subject) resolve. Only credential subjects go into
the data graph, never the VC envelopes (a notary VC is itself typed ``gx:LeiCode``, and its envelope would fail the
closed shape). The shapes graph of each release is parsed and compiled once per process and cached.

Guards: a namespace mismatch (e.g. ``development#`` data against ``2511#`` shapes) matches no target and "conforms"
silently, so zero focus nodes is a failure here (:class:`NoFocusNodes`). ``sh:class`` on subclass instances needs
``rdfs:subClassOf`` facts in the data; the 25.11 ontology is not pinned, so the few axioms the participant shapes
depend on are added from :data:`SUBCLASS_AXIOMS` (a cheap, explicit form of the RDFS inference GXDCH runs).

Engines: ``pyshacl`` is the reference; ``turbo`` (pyshacl-turbo, precompiled) gives the same conformance and results
on the project's corpus (``tests/unit/self_descriptions/test_shacl.py``, differential test) and is the default.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pyoxigraph as ox
import rdflib
from rdflib.namespace import RDF, SH

from self_descriptions.canonical import DEFAULT_LIMITS, Limits, to_nquads
from self_descriptions.canonical_worker import Canonicalizer
from self_descriptions.errors import SelfDescriptionError
from self_descriptions.loader import DocumentLoader

Engine = Literal["pyshacl", "turbo"]
GX_2511 = "https://w3id.org/gaia-x/development#"
GX_TAGUS = "https://registry.lab.gaia-x.eu/development/api/trusted-shape-registry/v1/shapes/jsonld/trustframework#"

#: version -> (file under shapes/, rdflib format). Versions name the targeted Gaia-X release.
BUNDLED_SHAPES: dict[str, tuple[str, str]] = {
    "25.11": ("2511/gx.shacl.ttl", "turtle"),
    "22.10": ("2210/trustframework.jsonld", "json-ld"),
}
ALIASES = {"2511": "25.11", "loire": "25.11", "2210": "22.10", "tagus": "22.10"}

#: rdfs:subClassOf facts of the Gaia-X 25.11 ontology that the participant and offering shapes rely on via sh:class.
SUBCLASS_AXIOMS: dict[str, tuple[str, ...]] = {
    f"{GX_2511}{sub}": tuple(f"{GX_2511}{sup}" for sup in sups)
    for sub, sups in {
        "VatID": ("RegistrationNumber",),
        "LeiCode": ("RegistrationNumber",),
        "EORI": ("RegistrationNumber",),
        "EUID": ("RegistrationNumber",),
        "TaxID": ("RegistrationNumber",),
        "LocalRegistrationNumber": ("RegistrationNumber",),
        "LegalPerson": ("Participant",),
        "VirtualResource": ("Resource",),
        "PhysicalResource": ("Resource",),
        "SoftwareResource": ("VirtualResource", "Resource"),
        "InstantiatedVirtualResource": ("VirtualResource", "Resource"),
    }.items()
}


class ShaclError(SelfDescriptionError):
    """Shapes could not be loaded or the data graph could not be built."""

    code = "shacl-error"


class NoFocusNodes(ShaclError):
    """No node of the data matched any shape target: a namespace or version mismatch, never a pass."""

    code = "no-focus-nodes"


@dataclass(frozen=True)
class Violation:
    """One SHACL validation result."""

    focus_node: str
    path: str | None
    message: str
    severity: str
    source_shape: str | None = None
    value: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "focus_node": self.focus_node,
            "path": self.path,
            "message": self.message,
            "severity": self.severity,
            "shape": self.source_shape,
            "value": self.value,
        }


@dataclass(frozen=True)
class ShaclReport:
    """The outcome: conformance, violations, which shapes version was used and how many focus nodes it saw."""

    conforms: bool
    version: str
    focus_nodes: int
    engine: Engine
    violations: list[Violation] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "conforms": self.conforms,
            "version": self.version,
            "focus_nodes": self.focus_nodes,
            "engine": self.engine,
            "violations": [v.as_dict() for v in self.violations],
        }


class Shapes:
    """A parsed shapes graph, its target classes, and (lazily) its pyshacl-turbo compilation."""

    def __init__(self, graph: rdflib.Graph, version: str) -> None:
        self.graph = graph
        self.version = version
        self.target_classes = frozenset(str(o) for o in graph.objects(None, SH.targetClass))
        self.target_nodes = frozenset(str(o) for o in graph.objects(None, SH.targetNode))
        self.target_predicates = frozenset(
            str(o) for p in (SH.targetSubjectsOf, SH.targetObjectsOf) for o in graph.objects(None, p)
        )
        self._compiled: Any = None
        self._lock = threading.Lock()

    def compiled(self) -> Any:
        with self._lock:
            if self._compiled is None:
                import pyshacl_turbo

                compile_shapes: Any = pyshacl_turbo.compile_shapes
                self._compiled = compile_shapes(self.graph)
            return self._compiled

    @classmethod
    def from_file(cls, path: Path, version: str | None = None) -> Shapes:
        fmt = "json-ld" if path.suffix in (".jsonld", ".json") else "turtle"
        try:
            graph = _parse_graph(path.read_text(encoding="utf-8"), fmt)
        except Exception as exc:  # rdflib raises many parser-specific types
            raise ShaclError(f"cannot parse shapes file {path}: {exc}") from exc
        if not any(graph.triples((None, RDF.type, SH.NodeShape))):
            raise ShaclError(f"{path} contains no sh:NodeShape")
        return cls(graph, version or str(path))


def bundled_version(name: str) -> str:
    version = ALIASES.get(name.lower(), name)
    if version not in BUNDLED_SHAPES:
        raise ShaclError(f"unknown shapes version {name!r}; bundled: {', '.join(BUNDLED_SHAPES)} (or give a file)")
    return version


@lru_cache(maxsize=4)
def load_shapes(name: str = "25.11") -> Shapes:
    """The bundled shapes of a Gaia-X release ("25.11" or "22.10"), parsed once per process."""
    version = bundled_version(name)
    file_name, fmt = BUNDLED_SHAPES[version]
    text = resources.files("self_descriptions").joinpath("shapes", *file_name.split("/")).read_text(encoding="utf-8")
    return Shapes(_parse_graph(text, fmt), version)


def preload(name: str = "25.11") -> None:
    """Parse and compile a bundled shapes graph now (about 4 s for 25.11), so the first validation is fast.

    Services call it at start-up, off the event loop; validations later reuse the per-process cache."""
    load_shapes(name).compiled()


#: Bundled and operator shapes files are trusted configuration, larger than credentials.
_SHAPES_LIMITS = Limits(max_bytes=32 * 1024 * 1024, max_depth=64, max_nodes=5_000_000, max_blank_nodes=1_000_000)


def _parse_graph(text: str, fmt: str) -> rdflib.Graph:
    """Parse shapes; JSON-LD goes through pyld (rdflib's JSON-LD parser is deprecated API and rewrites literals)."""
    if fmt != "json-ld":
        graph = rdflib.Graph()
        graph.parse(data=text, format=fmt)
        return graph
    graph = rdflib.Graph()
    nquads = to_nquads(json.loads(text), limits=_SHAPES_LIMITS)
    for quad in ox.parse(nquads.encode("utf-8"), format=ox.RdfFormat.N_QUADS):
        graph.add((_term(quad.subject, 0), _term(quad.predicate, 0), _term(quad.object, 0)))
    return graph


def subject_documents(credentials: Sequence[Mapping[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Per credential (by index) the JSON-LD document of its subjects under its own ``@context``."""
    out: list[tuple[int, dict[str, Any]]] = []
    for index, credential in enumerate(credentials):
        subjects = credential.get("credentialSubject")
        if subjects is None:
            continue
        document = {
            "@context": credential.get("@context", []),
            "@graph": subjects if isinstance(subjects, list) else [subjects],
        }
        out.append((index, document))
    return out


def data_triples(
    credentials: Sequence[Mapping[str, Any]],
    *,
    loader: DocumentLoader | None = None,
    limits: Limits = DEFAULT_LIMITS,
    canonicalizer: Canonicalizer | None = None,
) -> list[ox.Triple]:
    """The union of the credential subjects of ``credentials`` (each under its own ``@context``), with the
    :data:`SUBCLASS_AXIOMS` types added; blank nodes are renamed apart per credential (``c<index>_<label>``).

    JSON-LD becomes RDF through ``canonicalizer`` (a worker pool for credentials from outside, where a crafted
    document can be stopped) or in process when it is None."""
    convert = canonicalizer.to_nquads if canonicalizer is not None else to_nquads
    return triples_from_nquads(
        [(index, convert(document, loader=loader, limits=limits)) for index, document in subject_documents(credentials)]
    )


async def data_triples_async(
    credentials: Sequence[Mapping[str, Any]],
    *,
    canonicalizer: Canonicalizer,
    loader: DocumentLoader | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> list[ox.Triple]:
    """:func:`data_triples`, awaiting the JSON-LD to RDF conversions (concurrently, one per credential)."""
    documents = subject_documents(credentials)
    converted = await asyncio.gather(
        *(canonicalizer.to_nquads_async(document, loader=loader, limits=limits) for _, document in documents)
    )
    return triples_from_nquads([(index, nquads) for (index, _), nquads in zip(documents, converted, strict=True)])


def triples_from_nquads(parts: Sequence[tuple[int, str]]) -> list[ox.Triple]:
    """The data graph from each credential's N-Quads (``(index, nquads)``), see :func:`data_triples`."""
    triples: list[ox.Triple] = []
    for index, nquads in parts:
        renamed: dict[str, ox.BlankNode] = {}

        def rename(term: Any, index: int = index, renamed: dict[str, ox.BlankNode] = renamed) -> Any:
            if isinstance(term, ox.BlankNode):
                node = renamed.get(term.value)
                if node is None:
                    # blank node labels restart in every credential: keep them apart in the union
                    node = renamed[term.value] = ox.BlankNode(f"c{index}_{term.value}")
                return node
            return term

        try:
            for quad in ox.parse(nquads.encode("utf-8"), format=ox.RdfFormat.N_QUADS, rename_blank_nodes=False):
                triples.append(ox.Triple(rename(quad.subject), quad.predicate, rename(quad.object)))
        except (SyntaxError, ValueError) as exc:
            raise ShaclError(f"cannot load the credential subjects as RDF: {exc}") from exc
    seen = set(triples)
    for triple in list(triples):
        if triple.predicate == _OX_TYPE and isinstance(triple.object, ox.NamedNode):
            for sup in SUBCLASS_AXIOMS.get(triple.object.value, ()):
                extra = ox.Triple(triple.subject, _OX_TYPE, ox.NamedNode(sup))
                if extra not in seen:
                    seen.add(extra)
                    triples.append(extra)
    return triples


def data_graph(
    credentials: Sequence[Mapping[str, Any]], *, loader: DocumentLoader | None = None, limits: Limits = DEFAULT_LIMITS
) -> rdflib.Graph:
    """:func:`data_triples` as an rdflib graph (for pyshacl, the reference engine)."""
    graph = rdflib.Graph()
    for triple in data_triples(credentials, loader=loader, limits=limits):
        graph.add((_term(triple.subject), _term(triple.predicate), _term(triple.object)))
    return graph


_OX_TYPE = ox.NamedNode(str(RDF.type))
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


def _term(term: Any, index: int | None = None) -> Any:
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value if index is None else f"c{index}_{term.value}")
    if isinstance(term, ox.Literal):
        if term.language:
            return rdflib.Literal(term.value, lang=term.language)
        datatype = term.datatype.value
        if datatype in (_XSD_STRING, _LANG_STRING):
            return rdflib.Literal(term.value)
        return rdflib.Literal(term.value, datatype=rdflib.URIRef(datatype))
    raise ShaclError(f"unsupported RDF term {term!r} in a credential subject")


def count_focus_nodes(graph: rdflib.Graph, shapes: Shapes) -> int:
    focus: set[str] = set()
    for node, cls in graph.subject_objects(RDF.type):
        if str(cls) in shapes.target_classes:
            focus.add(str(node))
    for subject, predicate, obj in graph:
        if str(predicate) in shapes.target_predicates:
            focus.add(str(subject))
            focus.add(str(obj))
        if str(subject) in shapes.target_nodes:
            focus.add(str(subject))
    return len(focus)


def _count_focus_triples(triples: Sequence[ox.Triple], shapes: Shapes) -> int:
    """:func:`count_focus_nodes` over pyoxigraph triples (same strings: IRIs, blank labels, literal values)."""
    focus: set[str] = set()
    for triple in triples:
        subject, predicate, obj = _value(triple.subject), triple.predicate.value, _value(triple.object)
        if predicate == _OX_TYPE.value and obj in shapes.target_classes:
            focus.add(subject)
        if predicate in shapes.target_predicates:
            focus.add(subject)
            focus.add(obj)
        if subject in shapes.target_nodes:
            focus.add(subject)
    return len(focus)


def _value(term: Any) -> str:
    return str(term.value) if isinstance(term, ox.NamedNode | ox.BlankNode | ox.Literal) else str(term)


def validate(
    credentials: Sequence[Mapping[str, Any]],
    *,
    shapes: Shapes | str = "25.11",
    engine: Engine = "turbo",
    loader: DocumentLoader | None = None,
    limits: Limits = DEFAULT_LIMITS,
    require_focus_nodes: bool = True,
    canonicalizer: Canonicalizer | None = None,
) -> ShaclReport:
    """Validate the union of ``credentials``' subjects; raises :class:`NoFocusNodes` when nothing was targeted.

    ``canonicalizer`` converts the JSON-LD (see :func:`data_triples`); None converts in process."""
    shapes_obj = load_shapes(shapes) if isinstance(shapes, str) else shapes
    triples = data_triples(credentials, loader=loader, limits=limits, canonicalizer=canonicalizer)
    return validate_triples(triples, shapes=shapes_obj, engine=engine, require_focus_nodes=require_focus_nodes)


async def validate_async(
    credentials: Sequence[Mapping[str, Any]],
    *,
    canonicalizer: Canonicalizer,
    shapes: Shapes | str = "25.11",
    engine: Engine = "turbo",
    loader: DocumentLoader | None = None,
    limits: Limits = DEFAULT_LIMITS,
    require_focus_nodes: bool = True,
) -> ShaclReport:
    """:func:`validate` for credentials from outside: the JSON-LD conversion is awaited from ``canonicalizer``."""
    shapes_obj = load_shapes(shapes) if isinstance(shapes, str) else shapes
    triples = await data_triples_async(credentials, canonicalizer=canonicalizer, loader=loader, limits=limits)
    return validate_triples(triples, shapes=shapes_obj, engine=engine, require_focus_nodes=require_focus_nodes)


def validate_triples(
    triples: Sequence[ox.Triple],
    *,
    shapes: Shapes | str = "25.11",
    engine: Engine = "turbo",
    require_focus_nodes: bool = True,
) -> ShaclReport:
    """Validate a data graph built by :func:`data_triples`."""
    shapes_obj = load_shapes(shapes) if isinstance(shapes, str) else shapes
    focus = _count_focus_triples(triples, shapes_obj)
    if focus == 0 and require_focus_nodes:
        raise NoFocusNodes(
            f"no credential subject matched any target of the {shapes_obj.version} shapes: the data uses another "
            "namespace or release than the shapes (e.g. Tagus data against 25.11 shapes); choose --shapes accordingly"
        )
    if engine == "turbo":
        conforms, violations = _validate_turbo(shapes_obj.compiled(), triples)
    else:
        import pyshacl

        graph = rdflib.Graph()
        for triple in triples:
            graph.add((_term(triple.subject), _term(triple.predicate), _term(triple.object)))
        conforms, results, _ = pyshacl.validate(graph, shacl_graph=shapes_obj.graph, inplace=True)
        violations = _violations(results)
    return ShaclReport(
        conforms=bool(conforms),
        version=shapes_obj.version,
        focus_nodes=focus,
        engine=engine,
        violations=violations,
    )


def _validate_turbo(compiled: Any, triples: Sequence[ox.Triple]) -> tuple[bool, list[Violation]]:
    """Run the compiled shapes over N-Triples, straight into pyshacl-turbo's native program.

    ``CompiledShapes.validate`` wraps the same call but copies its map of the shapes' blank nodes (78,000 entries for
    25.11) three times per call and decodes the report into rdflib: 95 % of a 10 ms validation whose native part
    takes 0.4 ms. The public API stays the fallback (another pyshacl-turbo version); the differential test in
    ``tests/unit/self_descriptions/test_sd_shacl.py`` keeps both paths equal.
    """
    text = (ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"").decode("utf-8")
    native = getattr(compiled, "_native", None)
    if native is not None:
        try:
            conforms, report, _text, _expanded, _warnings = native.validate(
                text, "nt", None, False, 100, 15, False, False, False, False, [], [], []
            )
        except TypeError:  # another native signature: use the public API below
            pass
        else:
            if isinstance(report, str):
                return bool(conforms), _native_violations(report)
    from pyshacl_turbo.rdf import Input

    conforms, results, _ = compiled.validate(Input(text, "nt", None, {}, {}, preserve_ids=True))
    return bool(conforms), _violations(results)


_SH = "http://www.w3.org/ns/shacl#"


def _native_violations(report: str) -> list[Violation]:
    """The results of a native N-Triples report, as :func:`_violations` reads them from the rdflib report graph."""
    if f"<{_SH}result>" not in report:
        return []
    facts: dict[Any, dict[str, list[Any]]] = {}
    for quad in ox.parse(report.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES, rename_blank_nodes=False):
        facts.setdefault(quad.subject, {}).setdefault(quad.predicate.value, []).append(quad.object)

    def one(node: Any, predicate: str) -> Any:
        values = facts.get(node, {}).get(_SH + predicate)
        return values[0] if values else None

    def text(term: Any) -> str | None:
        return None if term is None or isinstance(term, ox.BlankNode) else str(term.value)

    out: list[Violation] = []
    for properties in facts.values():
        if ox.NamedNode(_SH + "ValidationReport") not in properties.get(str(RDF.type), []):
            continue
        for result in properties.get(_SH + "result", []):
            focus, severity = one(result, "focusNode"), one(result, "resultSeverity")
            out.append(
                Violation(
                    focus_node=str(focus.value) if focus is not None else "None",
                    path=text(one(result, "resultPath")),
                    message=text(one(result, "resultMessage")) or "constraint violated",
                    severity=str(severity.value).rsplit("#", 1)[-1] if severity is not None else "Violation",
                    source_shape=text(one(result, "sourceShape")),
                    value=text(one(result, "value")),
                )
            )
    out.sort(key=lambda v: (v.focus_node, v.path or "", v.message))
    return out


def _violations(results: rdflib.Graph) -> list[Violation]:
    out: list[Violation] = []
    for report in results.subjects(RDF.type, SH.ValidationReport):
        for result in results.objects(report, SH.result):
            out.append(
                Violation(
                    focus_node=str(results.value(result, SH.focusNode)),
                    path=_text(results.value(result, SH.resultPath)),
                    message=_text(results.value(result, SH.resultMessage)) or "constraint violated",
                    severity=_short(results.value(result, SH.resultSeverity)) or "Violation",
                    source_shape=_text(results.value(result, SH.sourceShape)),
                    value=_text(results.value(result, SH.value)),
                )
            )
    out.sort(key=lambda v: (v.focus_node, v.path or "", v.message))
    return out


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, rdflib.BNode):
        return None
    return str(value)


def _short(value: Any) -> str | None:
    return None if value is None else str(value).rsplit("#", 1)[-1]
