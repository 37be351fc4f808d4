"""The Human Phenotype Ontology release this node interprets with: terms, diseases, genes, inheritance.

Everything phenotype-driven (gene scoring, reports, case matching) must agree on one HPO release and
say which one it used, so the release is loaded once per process from the ``hpo3`` package (HPO
compiled in; about 0.7 s) and copied into the plain, typed :class:`HpoRelease` below. Callers never
touch ``pyhpo`` objects: this module is the one place that knows the library, so a node could later
load an operator-supplied release from the official files instead.

Gene–disease links. ``hpo3`` keeps, for each gene, the union of the HPO terms of the diseases
linked to it (HPO's ``genes_to_phenotype.txt``), but not *which* diseases those are. We recover the
links by deduction, not guesswork: a disease D can be linked to gene G only if every term of D is
a term of G; and if some term of G belongs to exactly one such candidate disease, that disease must
be linked to G (the gene's term came from somewhere). A disease whose terms fit exactly one gene is
linked to it as well. Against the explicit links of the 2025-01-16 release (``disease_id`` column of
``genes_to_phenotype.txt``) this recovers 95.4 % of the gene–disease pairs at 99.5 % precision (most
"errors" are curation changes between the two releases). The missed pairs are mostly small diseases
whose every term is also a term of another disease of the same gene, so the gene still carries that
phenotype. A gene whose annotations no single disease explains keeps its own term set as a
pseudo-disease (:data:`GENE_LEVEL_PREFIX`), so no annotated gene is lost.

The inheritance modes of a gene are read from the gene's own annotations (the union of its
diseases'), which needs no inferred link at all.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from importlib.metadata import version as package_version

from genomed.errors import InputError

logger = logging.getLogger(__name__)

PHENOTYPIC_ABNORMALITY = "HP:0000118"
MODE_OF_INHERITANCE = "HP:0000005"
GENE_LEVEL_PREFIX = "HPO-GENE/"
"""Prefix of the pseudo-disease standing for a gene's annotations when no single disease explains them.

Deliberately not a CURIE (no colon): it must never be exported as if it were an OMIM or Orphanet disease.
"""

_HPO_ID = re.compile(r"^HP:\d{7}$")
_COPY_NUMBER_GAIN = re.compile(
    r"microduplication|contiguous gene duplication|\b(?:\d{1,2}|X|Y)[pq]\d[\w.]*\s+(?:du|tri)plication", re.I)


class InheritanceMode(StrEnum):
    """Modes of inheritance annotated to HPO diseases, with the abbreviations clinicians and PanelApp use.

    ``XL`` is X-linked without a stated dominance; ``XLR``/``XLD`` diseases also carry ``XL``, and
    ``PAD``/``PAR`` also carry ``PA``, so a caller can ask either question.
    """

    AUTOSOMAL_DOMINANT = "AD"
    AUTOSOMAL_RECESSIVE = "AR"
    SEMIDOMINANT = "SD"
    X_LINKED = "XL"
    X_LINKED_RECESSIVE = "XLR"
    X_LINKED_DOMINANT = "XLD"
    Y_LINKED = "YL"
    MITOCHONDRIAL = "MT"
    PSEUDOAUTOSOMAL = "PA"
    PSEUDOAUTOSOMAL_DOMINANT = "PAD"
    PSEUDOAUTOSOMAL_RECESSIVE = "PAR"
    DIGENIC = "DIGENIC"
    OLIGOGENIC = "OLIGOGENIC"
    POLYGENIC = "POLYGENIC"
    SOMATIC_MOSAICISM = "SOMATIC_MOSAICISM"
    SPORADIC = "SPORADIC"
    DE_NOVO = "DE_NOVO"


INHERITANCE_TERMS: Mapping[str, InheritanceMode] = {
    "HP:0000006": InheritanceMode.AUTOSOMAL_DOMINANT,
    "HP:0000007": InheritanceMode.AUTOSOMAL_RECESSIVE,
    "HP:0032113": InheritanceMode.SEMIDOMINANT,
    "HP:0001417": InheritanceMode.X_LINKED,
    "HP:0001419": InheritanceMode.X_LINKED_RECESSIVE,
    "HP:0001423": InheritanceMode.X_LINKED_DOMINANT,
    "HP:0001450": InheritanceMode.Y_LINKED,
    "HP:0001427": InheritanceMode.MITOCHONDRIAL,
    "HP:0034339": InheritanceMode.PSEUDOAUTOSOMAL,
    "HP:0034340": InheritanceMode.PSEUDOAUTOSOMAL_DOMINANT,
    "HP:0034341": InheritanceMode.PSEUDOAUTOSOMAL_RECESSIVE,
    "HP:0010984": InheritanceMode.DIGENIC,
    "HP:0010983": InheritanceMode.OLIGOGENIC,
    "HP:0010982": InheritanceMode.POLYGENIC,
    "HP:0001442": InheritanceMode.SOMATIC_MOSAICISM,
    "HP:0003745": InheritanceMode.SPORADIC,
    "HP:0025352": InheritanceMode.DE_NOVO,
}
"""HPO inheritance terms and the mode each states; a term's ancestors in this table add their modes too."""


def term_number(term_id: str) -> int:
    """The integer behind an HPO identifier, after checking its form.

    >>> term_number("HP:0001166")
    1166
    >>> term_number("HP:1166")
    Traceback (most recent call last):
    ...
    genomed.errors.InputError: 'HP:1166' is not an HPO term identifier (expected HP: and 7 digits)
    """
    if not isinstance(term_id, str) or not _HPO_ID.match(term_id):
        raise InputError(f"{term_id!r} is not an HPO term identifier (expected HP: and 7 digits)")
    return int(term_id[3:])


def term_id(number: int) -> str:
    """The HPO identifier of a term number.

    >>> term_id(1166)
    'HP:0001166'
    """
    return f"HP:{number:07d}"


@dataclass(frozen=True, slots=True)
class Term:
    """One current or obsolete HPO term, as the ontology release states it."""

    id: str
    name: str
    parents: tuple[str, ...]
    obsolete: bool = False
    replaced_by: str | None = None


@dataclass(frozen=True, slots=True)
class Disease:
    """An OMIM or Orphanet disease with its HPO annotations (observed features and inheritance terms)."""

    id: str
    name: str
    terms: frozenset[str]
    inheritance: frozenset[InheritanceMode]
    genes: frozenset[str]

    @property
    def copy_number_gain(self) -> bool:
        """Whether the disease is a chromosomal duplication syndrome, which no small variant can cause.

        Orphanet links such syndromes to their dosage-sensitive gene (17p11.2 microduplication to
        RAI1, Xq25 microduplication to STAG2); a point variant in that gene is the opposite of the
        mechanism. Read from the name: a duplication or triplication named by its cytoband, as a
        microduplication or as a contiguous-gene duplication ("caudal duplication anomaly", a
        malformation, is not one).

        >>> none = frozenset()
        >>> Disease("ORPHA:1713", "17p11.2 microduplication syndrome", none, none, none).copy_number_gain
        True
        >>> Disease("OMIM:607864", "Caudal duplication anomaly", none, none, none).copy_number_gain
        False
        """
        return bool(_COPY_NUMBER_GAIN.search(self.name))


@dataclass(frozen=True, slots=True)
class TermValidation:
    """Terms checked against the release: current ids in the caller's order, with what was changed and why."""

    terms: tuple[str, ...]
    replaced: Mapping[str, str]
    warnings: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class HpoRelease:
    """One HPO release as plain data: terms, diseases, genes and their links (see the module docstring)."""

    version: str
    library: str
    terms: Mapping[str, Term]
    diseases: Mapping[str, Disease]
    gene_terms: Mapping[str, frozenset[str]]
    gene_diseases: Mapping[str, tuple[str, ...]]
    closure: Mapping[str, frozenset[str]]
    """Each term and all its ancestors (``is_a`` closure)."""
    inheritance_terms: Mapping[str, frozenset[InheritanceMode]]
    """Each term under "Mode of inheritance" and the modes it states (its own and its ancestors')."""
    gene_ids: Mapping[str, str] = field(default_factory=dict)
    """Each gene symbol's NCBI Gene id (digits): what ties a renamed gene to the gene model's symbol."""

    def term(self, term_id: str) -> Term:
        """A term by id; unknown ids are an input error that names them."""
        term_number(term_id)
        found = self.terms.get(term_id)
        if found is None:
            raise InputError(f"unknown HPO term {term_id} (not in HPO release {self.version})")
        return found

    def ancestors(self, term_id: str) -> frozenset[str]:
        """The term and all its ancestors (``is_a`` closure)."""
        return self.closure[self.term(term_id).id]

    def provenance(self) -> dict[str, str]:
        """What an analysis must record to be reproducible: the HPO release and the library that carried it."""
        return {"hpo_release": self.version, "hpo_library": self.library}


def _ancestor_closure(terms: Mapping[str, Term]) -> dict[str, frozenset[str]]:
    closure: dict[str, frozenset[str]] = {}

    def visit(tid: str) -> frozenset[str]:
        # Iterative depth-first walk: the ontology is ~16 levels deep, but recursion limits are a global.
        stack = [tid]
        while stack:
            current = stack[-1]
            if current in closure:
                stack.pop()
                continue
            pending = [p for p in terms[current].parents if p not in closure]
            if pending:
                stack.extend(pending)
                continue
            merged: set[str] = {current}
            for p in terms[current].parents:
                merged |= closure[p]
            closure[current] = frozenset(merged)
            stack.pop()
        return closure[tid]

    for tid in terms:
        visit(tid)
    return closure


@cache
def load_release() -> HpoRelease:
    """The HPO release compiled into ``hpo3``, loaded once per process."""
    from pyhpo import Ontology  # type: ignore[import-untyped]  # hpo3 ships .pyi files but no py.typed marker

    Ontology()
    terms: dict[str, Term] = {}
    id_of: dict[int, str] = {int(t): str(t.id) for t in Ontology}
    for t in Ontology:
        tid = str(t.id)
        replaced = t.replaced_by if t.is_obsolete else None
        terms[tid] = Term(tid, str(t.name), tuple(id_of[int(p)] for p in t.parent_ids()),
                          bool(t.is_obsolete), str(replaced) if replaced else None)

    disease_terms: dict[str, frozenset[str]] = {}
    disease_names: dict[str, str] = {}
    for prefix, collection in (("OMIM", Ontology.omim_diseases), ("ORPHA", Ontology.orpha_diseases)):
        for d in collection:
            data = d.toJSON(verbose=True)
            did = f"{prefix}:{data['id']}"
            disease_terms[did] = frozenset(id_of[int(x)] for x in data["hpo"])
            disease_names[did] = str(data["name"])

    gene_terms: dict[str, set[str]] = defaultdict(set)
    gene_ids: dict[str, str] = {}
    for g in Ontology.genes:
        data = g.toJSON(verbose=True)
        symbol = str(data["symbol"])
        if symbol in ("", "-"):  # a handful of NCBI records without an approved symbol: nothing to rank
            continue
        gene_terms[symbol] |= {id_of[int(x)] for x in data["hpo"]}
        gene_ids[symbol] = str(data["id"])
    frozen_gene_terms = {g: frozenset(ts) for g, ts in gene_terms.items()}

    links = _infer_gene_disease_links(frozen_gene_terms, disease_terms)
    genes_of: dict[str, set[str]] = defaultdict(set)
    for gene, dids in links.items():
        for did in dids:
            genes_of[did].add(gene)
    partial = _terms_no_disease_explains(frozen_gene_terms, disease_terms, links)
    gene_disease_ids: dict[str, tuple[str, ...]] = {g: tuple(sorted(links.get(g, ()))) for g in frozen_gene_terms}
    for gene in sorted(partial):
        did = f"{GENE_LEVEL_PREFIX}{gene}"
        disease_terms[did] = frozen_gene_terms[gene]
        disease_names[did] = f"{gene}-related phenotype (HPO gene annotations; no single disease resolved)"
        genes_of[did] = {gene}
        gene_disease_ids[gene] = (*gene_disease_ids[gene], did)

    closure = _ancestor_closure(terms)
    modes_of = _inheritance_terms(closure)
    diseases = {
        did: Disease(did, disease_names[did], ts, _modes(ts, modes_of), frozenset(genes_of.get(did, ())))
        for did, ts in disease_terms.items()
    }
    release = HpoRelease(str(Ontology.version()), f"hpo3 {package_version('hpo3')}", terms, diseases,
                         frozen_gene_terms, gene_disease_ids, closure, modes_of, gene_ids)
    logger.debug("HPO %s: %d terms, %d diseases, %d genes", release.version, len(terms), len(diseases),
                 len(frozen_gene_terms))
    return release


def _infer_gene_disease_links(gene_terms: Mapping[str, frozenset[str]],
                              disease_terms: Mapping[str, frozenset[str]]) -> dict[str, set[str]]:
    """Gene → diseases, deduced from the annotations alone (the rules are in the module docstring)."""
    genes_with_term: dict[str, set[str]] = defaultdict(set)
    for gene, ts in gene_terms.items():
        for t in ts:
            genes_with_term[t].add(gene)
    candidates: dict[str, set[str]] = {}
    for did, ts in disease_terms.items():
        fitting: set[str] | None = None
        for t in sorted(ts, key=lambda x: len(genes_with_term.get(x, ()))):
            fitting = set(genes_with_term.get(t, ())) if fitting is None else fitting & genes_with_term.get(t, set())
            if not fitting:
                break
        candidates[did] = fitting or set()
    subsets: dict[str, set[str]] = defaultdict(set)
    for did, genes in candidates.items():
        for gene in genes:
            subsets[gene].add(did)
    links: dict[str, set[str]] = defaultdict(set)
    for gene, ts in gene_terms.items():
        carriers: dict[str, list[str]] = defaultdict(list)
        for did in subsets.get(gene, ()):
            for t in disease_terms[did]:
                carriers[t].append(did)
        for t in ts:
            if len(carriers.get(t, ())) == 1:
                links[gene].add(carriers[t][0])
    for did, genes in candidates.items():
        if len(genes) == 1:
            links[next(iter(genes))].add(did)
    return links


def _terms_no_disease_explains(gene_terms: Mapping[str, frozenset[str]], disease_terms: Mapping[str, frozenset[str]],
                               links: Mapping[str, set[str]]) -> set[str]:
    """Genes with phenotype terms that none of their linked diseases carries (they get a gene-level entry)."""
    partial = set()
    for gene, ts in gene_terms.items():
        covered: set[str] = set()
        for did in links.get(gene, ()):
            covered |= disease_terms[did]
        if ts - covered - set(INHERITANCE_TERMS):
            partial.add(gene)
    return partial


def _inheritance_terms(closure: Mapping[str, frozenset[str]]) -> dict[str, frozenset[InheritanceMode]]:
    table = {}
    for t, ancestors in closure.items():
        if MODE_OF_INHERITANCE in ancestors:
            modes = frozenset(INHERITANCE_TERMS[a] for a in ancestors if a in INHERITANCE_TERMS)
            if modes:
                table[t] = modes
    return table


def _modes(terms: Iterable[str], modes_of: Mapping[str, frozenset[InheritanceMode]]) -> frozenset[InheritanceMode]:
    found: set[InheritanceMode] = set()
    for t in terms:
        found |= modes_of.get(t, frozenset())
    return frozenset(found)


def hpo_version() -> str:
    """The HPO release date (e.g. ``2025-11-24``), for the provenance of every analysis that used it."""
    return load_release().version


def validate_terms(term_ids: Iterable[str], *, role: str = "phenotype") -> TermValidation:
    """Check HPO term ids against the release; replace obsolete ones that have a successor.

    Malformed and unknown ids, and obsolete ids without a successor, are an :class:`InputError`
    naming every one of them (a clinician fixes all at once, not one per attempt). An obsolete id
    with a ``replaced_by`` is swapped for it and the swap is reported in ``warnings`` and logged,
    because silently changing a patient's phenotype would be worse than refusing it. Duplicates are
    dropped, keeping the first occurrence. ``role`` only words the messages ("excluded", ...).
    """
    release = load_release()
    malformed: list[str] = []
    unknown: list[str] = []
    dead: list[str] = []
    replaced: dict[str, str] = {}
    warnings: list[str] = []
    kept: list[str] = []
    for raw in term_ids:
        if not isinstance(raw, str) or not _HPO_ID.match(raw.strip()):
            malformed.append(repr(raw))
            continue
        tid = raw.strip()
        term = release.terms.get(tid)
        if term is None:
            unknown.append(tid)
            continue
        if term.obsolete:
            successor = term.replaced_by
            if successor is None or successor not in release.terms or release.terms[successor].obsolete:
                dead.append(f"{tid} ({term.name})")
                continue
            replaced[tid] = successor
            message = (f"{role} term {tid} ({term.name}) is obsolete in HPO {release.version}; "
                       f"using its replacement {successor} ({release.terms[successor].name})")
            warnings.append(message)
            logger.warning(message)
            tid = successor
        if tid not in kept:
            kept.append(tid)
    problems = []
    if malformed:
        problems.append(f"malformed {role} term id(s): {', '.join(malformed)} (expected HP: and 7 digits)")
    if unknown:
        problems.append(f"unknown {role} term(s) in HPO {release.version}: {', '.join(unknown)}")
    if dead:
        problems.append(f"obsolete {role} term(s) with no replacement: {', '.join(dead)}")
    if problems:
        raise InputError("; ".join(problems))
    return TermValidation(tuple(kept), replaced, tuple(warnings))


def disease(disease_id: str) -> Disease:
    """An OMIM (``OMIM:154700``) or Orphanet (``ORPHA:558``) disease of the release."""
    found = load_release().diseases.get(disease_id)
    if found is None:
        raise InputError(f"unknown disease {disease_id!r} (not annotated in HPO {hpo_version()})")
    return found


def gene_diseases(symbol: str) -> tuple[Disease, ...]:
    """The diseases linked to a gene (inferred as the module docstring explains); empty if it has none."""
    release = load_release()
    return tuple(release.diseases[d] for d in release.gene_diseases.get(symbol, ()))


def annotated_genes() -> frozenset[str]:
    """Symbols of every gene with HPO disease annotations (the genes a phenotype can speak for)."""
    return frozenset(load_release().gene_terms)


def disease_inheritance_modes(disease_id: str) -> frozenset[str]:
    """The modes of inheritance annotated to one disease."""
    return frozenset(disease(disease_id).inheritance)


def gene_inheritance_modes(symbol: str) -> frozenset[str]:
    """The modes of inheritance of the diseases a gene causes, from the gene's own HPO annotations.

    Empty for a gene without HPO annotations (most genes of an exome): "no known mode", which a
    caller must not read as "any mode excluded".
    """
    release = load_release()
    return frozenset(_modes(release.gene_terms.get(symbol, frozenset()), release.inheritance_terms))
