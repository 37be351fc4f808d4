"""Genomic variant queries (``/g_variants``): reading them, and answering them from both sources.

Beacon v2 asks for variants in four ways, told apart by which request parameters are present
(``genomicVariations/requestParameters.json``):

* a **sequence query**: ``referenceName``, one ``start``, ``alternateBases`` (and usually
  ``referenceBases``): one allele, the hot path of a beacon;
* a **range query**: one ``start`` and one ``end``: every variant overlapping ``[start, end)``,
  optionally of a ``variantType``, with given bases, or within a length range;
* a **bracket query**: two ``start`` and two ``end`` values: variants starting within the first
  bracket and ending within the second;
* a **gene query**: ``geneId``, a range query over the gene's MANE span (see :mod:`.genes`).

``genomicAlleleShortForm`` (an HGVS ``g.`` substitution) is read as a sequence query. Queries the
node cannot answer faithfully (``aminoacidChange`` needs annotation of every stored variant,
``mateName`` asks for fusions) are refused with an error that says so, rather than answered
"no". Oversized ranges are refused too: a range may span at most :data:`MAX_SPAN` bases and
examine at most :data:`MAX_SCAN` stored variants.

Variants come from the node's own variant store (consent-aware, through
:class:`~genomed.store.consented.ConsentedCohort`) and from loaded ``genomicVariations``
documents (:class:`DocumentVariants`).
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from genomed.errors import InputError
from genomed.share.beacon.coordinates import (
    Allele,
    allele_matches,
    assembly,
    bases,
    bases_pattern,
    contig,
    has_wildcards,
)
from genomed.share.beacon.genes import GENE_BUILD, GeneSpan, gene_span
from genomed.share.beacon.index import EntryIndex
from genomed.store.consented import ConsentedCohort
from genomed.store.keys import position_range
from genomed.store.query import AlleleCounts

MAX_SPAN = 5_000_000      # bases a range, bracket or gene query may span
MAX_SCAN = 10_000         # stored variants one query may examine
RANGE_MARGIN = 100        # bases left of a range also scanned, for deletions that start before it
PARAMETERS = ("referenceName", "start", "end", "referenceBases", "alternateBases", "variantType", "assemblyId",
              "geneId", "variantMinLength", "variantMaxLength", "genomicAlleleShortForm", "aminoacidChange",
              "mateName")
GET_ALIASES = {"geneid": "geneId", "allele": "genomicAlleleShortForm"}  # names the default model's GET uses
_HGVS_SUBSTITUTION = re.compile(r"^(?P<acc>[^:\s]+):g\.(?P<pos>\d+)(?P<ref>[ACGTacgt]+)>(?P<alt>[ACGTacgt]+)$")
# variantType values a short variant can have, and the types (from Allele.variant_type) each means.
_VARIANT_TYPES = {
    "SNP": {"SNP"}, "SNV": {"SNP"}, "MNP": {"MNP"}, "MNV": {"MNP"}, "DEL": {"DEL"}, "INS": {"INS"},
    "INDEL": {"INS", "DEL", "INDEL"}, "DELINS": {"INDEL"},
}


def _ints(value: object, name: str, minimum: int) -> tuple[int, ...]:
    items: list[object]
    if isinstance(value, str):
        items = [p.strip() for p in value.split(",") if p.strip()]
    elif isinstance(value, list):
        items = list(value)
    else:
        items = [value]
    numbers: list[int] = []
    for item in items:
        if isinstance(item, bool):
            raise InputError(f"{name} must be an integer or a list of integers")
        integral = isinstance(item, int) or (isinstance(item, float) and item.is_integer()) \
            or (isinstance(item, str) and re.fullmatch(r"[+-]?\d{1,12}", item) is not None)
        if integral and isinstance(item, int | float | str):
            number = int(item)
        else:
            raise InputError(f"{name} must be an integer or a list of integers, got {str(item)[:40]!r}")
        if not minimum <= number < 1 << 31:
            raise InputError(f"{name} {number} is out of range (at least {minimum})")
        numbers.append(number)
    if not 1 <= len(numbers) <= 2:
        raise InputError(f"{name} takes one or two values, got {len(numbers)}")
    return tuple(numbers)


def _text(value: object, name: str, limit: int = 200) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{name} must be a non-empty string")
    if len(value) > limit:
        raise InputError(f"{name} is longer than {limit} characters")
    return value.strip()


@dataclass(frozen=True)
class VariantQuery:
    """One variant query, in Beacon's 0-based coordinates, with its store contig name."""

    kind: str                   # sequence, range, bracket, gene or all
    chrom: str | None = None
    start: tuple[int, ...] = ()
    end: tuple[int, ...] = ()
    ref: str | None = None      # None: any reference allele
    alt: str | None = None      # None: any alternate allele
    variant_type: str | None = None
    assembly: str | None = None
    gene: GeneSpan | None = None
    min_length: int | None = None
    max_length: int | None = None
    hgvs: str | None = None

    @property
    def exact(self) -> bool:
        """A sequence query for one VCF-style allele without wildcards: one key lookup in the store."""
        return (self.kind == "sequence" and bool(self.ref) and bool(self.alt) and self.variant_type is None
                and self.min_length is None and self.max_length is None
                and not has_wildcards(self.ref or "") and not has_wildcards(self.alt or ""))

    def window(self) -> tuple[str, int, int] | None:
        """The stored positions (1-based, inclusive) a match can start at; None for an unbounded query."""
        if self.kind == "gene" and self.gene is not None:
            return self.gene.chrom, max(1, self.gene.start + 1 - RANGE_MARGIN), self.gene.end
        if self.chrom is None:
            return None
        if self.kind == "sequence":
            return self.chrom, max(1, self.start[0]), self.start[0] + 1
        if self.kind == "range":
            return self.chrom, max(1, self.start[0] + 1 - RANGE_MARGIN), self.end[0]
        if self.kind == "bracket":
            return self.chrom, self.start[0] + 1, self.start[1] + 1
        return None

    def _type_matches(self, allele: Allele, declared: str | None) -> bool:
        if self.variant_type is None:
            return True
        wanted = self.variant_type.upper()
        if declared is not None and declared.upper() == wanted:
            return True
        return allele.variant_type in _VARIANT_TYPES.get(wanted, set())

    def _bases_match(self, allele: Allele) -> bool:
        indel = len(allele.ref) != len(allele.alt) and allele.ref[:1] == allele.alt[:1]
        for asked, stored in ((self.alt, allele.alt), (self.ref, allele.ref)):
            if asked is None:
                continue
            pattern = bases_pattern(asked)
            if not (pattern.fullmatch(stored) or (indel and pattern.fullmatch(stored[1:]))):
                return False
        return True

    def matches(self, allele: Allele, declared_type: str | None = None) -> bool:
        """Whether a stored allele answers this query (``declared_type``: a document's own variantType)."""
        if self.kind == "sequence":
            if self.alt is None or allele.chrom != self.chrom \
                    or not allele_matches(allele, self.start[0], self.ref, self.alt):
                return False
        elif self.kind in ("range", "gene"):
            chrom, lo, hi = (self.gene.chrom, self.gene.start, self.gene.end) if self.gene is not None \
                else (self.chrom, self.start[0], self.end[0])
            if allele.chrom != chrom or not (allele.start0 < hi and allele.end0 > lo) or not self._bases_match(allele):
                return False
        elif self.kind == "bracket":
            if allele.chrom != self.chrom or not (self.start[0] <= allele.start0 <= self.start[1]
                                                  and self.end[0] <= allele.end0 <= self.end[1]):
                return False
        elif not self._bases_match(allele):
            return False
        if self.min_length is not None and allele.length < self.min_length:
            return False
        if self.max_length is not None and allele.length > self.max_length:
            return False
        return self._type_matches(allele, declared_type)

    def describe(self) -> str:
        """A short text of the query, for the audit trail."""
        if self.kind == "gene" and self.gene is not None:
            return f"gene:{self.gene.symbol}"
        if self.kind == "sequence":
            return f"{self.chrom}:{self.start[0]}:{self.ref if self.ref is not None else '*'}>{self.alt}"
        if self.kind in ("range", "bracket"):
            return f"{self.chrom}:{','.join(map(str, self.start))}-{','.join(map(str, self.end))}"
        return "all"


def parse_variant_query(params: Mapping[str, object], build: str) -> VariantQuery:
    """A :class:`VariantQuery` from ``requestParameters`` (GET values are strings, POST values JSON).

    ``build`` is the node's genome build: gene spans are on GRCh38, so a gene query on another
    build is refused.
    """
    unknown = set(params) - set(PARAMETERS)
    if unknown:
        raise InputError(f"unknown request parameter(s) for g_variants: {', '.join(sorted(unknown))}")
    if "aminoacidChange" in params:
        raise InputError("aminoacidChange queries are not supported by this beacon; query the gene (geneId) "
                         "or the genomic allele instead")
    if "mateName" in params:
        raise InputError("mateName (fusion) queries are not supported by this beacon: it stores short variants")
    fields: dict[str, Any] = {}
    if "assemblyId" in params:
        fields["assembly"] = assembly(_text(params["assemblyId"], "assemblyId"))
    if "variantType" in params:
        fields["variant_type"] = _text(params["variantType"], "variantType", 64)
    for key, name in (("variantMinLength", "min_length"), ("variantMaxLength", "max_length")):
        if key in params:
            values = _ints(params[key], key, 0)
            if len(values) != 1:
                raise InputError(f"{key} takes one value")
            fields[name] = values[0]
    for key, name in (("referenceBases", "ref"), ("alternateBases", "alt")):
        if key in params:
            value = params[key]
            if not isinstance(value, str):
                raise InputError(f"{key} must be a string of bases")
            fields[name] = bases(value, key)
    if "genomicAlleleShortForm" in params:
        text = _text(params["genomicAlleleShortForm"], "genomicAlleleShortForm")
        match = _HGVS_SUBSTITUTION.match(text)
        if match is None or any(k in params for k in ("start", "end", "referenceName", "geneId")):
            raise InputError("genomicAlleleShortForm: only an HGVS g. substitution such as NC_000017.11:g.43045712G>A "
                             "is supported, and without start, end, referenceName or geneId")
        return VariantQuery("sequence", chrom=contig(match["acc"]), start=(int(match["pos"]) - 1,),
                            ref=match["ref"].upper(), alt=match["alt"].upper(), hgvs=text, **fields)
    if "geneId" in params:
        if any(k in params for k in ("start", "end", "referenceName")):
            raise InputError("geneId queries take no start, end or referenceName (the gene gives the range)")
        if build != GENE_BUILD:
            raise InputError(f"geneId queries need gene spans on this node's build {build}; MANE is on {GENE_BUILD}")
        span = gene_span(_text(params["geneId"], "geneId", 64))
        if span.end - span.start > MAX_SPAN:
            raise InputError(f"gene {span.symbol} spans more than {MAX_SPAN:,} bases; query a range within it")
        return VariantQuery("gene", chrom=span.chrom, gene=span, **fields)
    if "start" not in params:
        if "end" in params or "referenceName" in params:
            raise InputError("a variant query with referenceName or end needs start (0-based)")
        if "alt" in fields or "ref" in fields:
            raise InputError("referenceBases and alternateBases need referenceName and start")
        return VariantQuery("all", **fields)
    if "referenceName" not in params:
        raise InputError("a variant query with start needs referenceName")
    chrom = contig(_text(params["referenceName"], "referenceName", 64))
    start = _ints(params["start"], "start", 0)
    end = _ints(params["end"], "end", 1) if "end" in params else ()
    if len(start) == 1 and not end:
        if fields.get("alt") is None:
            raise InputError("a sequence query (start without end) needs alternateBases")
        return VariantQuery("sequence", chrom=chrom, start=start, **fields)
    if len(start) == 1 and len(end) == 1:
        if end[0] <= start[0]:
            raise InputError(f"end {end[0]} must be after start {start[0]}")
        if end[0] - start[0] > MAX_SPAN:
            raise InputError(f"a range may span at most {MAX_SPAN:,} bases, got {end[0] - start[0]:,}")
        return VariantQuery("range", chrom=chrom, start=start, end=end, **fields)
    if len(start) == 2 and len(end) == 2:
        if start[1] < start[0] or end[1] < end[0] or end[0] < start[0]:
            raise InputError("a bracket query needs start[0] <= start[1], end[0] <= end[1] and start before end")
        if end[1] - start[0] > MAX_SPAN:
            raise InputError(f"a bracket query may span at most {MAX_SPAN:,} bases")
        return VariantQuery("bracket", chrom=chrom, start=start, end=end, **fields)
    raise InputError("start and end must both have one value (a range) or two values (a bracket query)")


# -- loaded genomicVariations documents ------------------------------------------------------------------

def _number(value: object) -> int | None:
    if isinstance(value, dict):
        value = value.get("value")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    return None


def document_allele(body: Mapping[str, Any]) -> Allele | None:
    """The allele a genomicVariation document describes (LegacyVariation form), or None.

    The chromosome comes from the location's ``sequence_id`` (``refseq:NC_...`` or an HGVS id such
    as ``HGVSid:22:g.16050075G>A``), else from ``identifiers.genomicHGVSId``; coordinates from the
    VRS interval start (0-based). An allele with an empty side (VRS-trimmed) is kept with an
    ``N`` anchor so that it can still be found by position.
    """
    variation = body.get("variation")
    if not isinstance(variation, dict):
        return None
    ref, alt = variation.get("referenceBases"), variation.get("alternateBases")
    location = variation.get("location")
    if not isinstance(ref, str) or not isinstance(alt, str) or not isinstance(location, dict):
        return None
    interval = location.get("interval")
    start = _number(interval.get("start")) if isinstance(interval, dict) else _number(location.get("start"))
    if start is None:
        return None
    chrom = None
    identifiers = body.get("identifiers")
    candidates = [location.get("sequence_id"),
                  identifiers.get("genomicHGVSId") if isinstance(identifiers, dict) else None]
    for candidate in candidates:
        if isinstance(candidate, str):
            name = candidate.removeprefix("HGVSid:").split(":g.")[0]
            try:
                chrom = contig(name)
                break
            except InputError:
                continue
    if chrom is None:
        return None
    ref, alt = ref.upper().replace("-", ""), alt.upper().replace("-", "")
    if ref and alt:
        return Allele(chrom, start + 1, ref, alt)
    if not ref and not alt:
        return None
    return Allele(chrom, start, "N" + ref, "N" + alt)


class DocumentVariants:
    """Loaded genomicVariations documents by position, for sequence, range and gene queries."""

    def __init__(self, entry: EntryIndex) -> None:
        self.entry = entry
        self.alleles: list[Allele | None] = [document_allele(doc) for doc in entry.documents]
        self.declared: list[str | None] = []
        for doc in entry.documents:
            variation = doc.get("variation")
            declared = variation.get("variantType") if isinstance(variation, dict) else None
            self.declared.append(declared if isinstance(declared, str) else None)
        positions: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for row, allele in enumerate(self.alleles):
            if allele is not None:
                positions[allele.chrom].append((allele.pos, row))
        self.positions: dict[str, tuple[list[int], list[int]]] = {}
        for chrom, pairs in positions.items():
            pairs.sort()
            self.positions[chrom] = ([p for p, _ in pairs], [r for _, r in pairs])
        self.hgvs: dict[str, list[int]] = defaultdict(list)
        for row, doc in enumerate(entry.documents):
            identifiers = doc.get("identifiers")
            if isinstance(identifiers, dict) and isinstance(identifiers.get("genomicHGVSId"), str):
                self.hgvs[identifiers["genomicHGVSId"]].append(row)

    def rows(self, query: VariantQuery, among: Iterable[int] | None = None) -> list[int]:
        """Rows answering ``query`` (restricted to ``among`` when given), in position order."""
        window = query.window()
        if window is None:
            candidates: Sequence[int] = range(len(self.alleles))
        else:
            chrom, lo, hi = window
            positions, rows = self.positions.get(chrom, ([], []))
            candidates = rows[bisect.bisect_left(positions, lo):bisect.bisect_right(positions, hi)]
        allowed = None if among is None else set(among)
        found = []
        for row in candidates:
            if allowed is not None and row not in allowed:
                continue
            allele = self.alleles[row]
            if allele is not None and query.matches(allele, self.declared[row]):
                found.append(row)
        if query.hgvs is not None:
            found.extend(r for r in self.hgvs.get(query.hgvs, []) if r not in found
                         and (allowed is None or r in allowed))
        return found

    def carriers(self, row: int, individuals: set[tuple[str, str]] | None = None) -> int:
        """How many individuals carry the variant of a row (those of ``individuals`` only, when given)."""
        links = self.entry.individuals[row] or self.entry.biosamples[row]
        if individuals is None:
            return len(links)
        return len(self.entry.individuals[row] & individuals)


# -- the node's own variant store ------------------------------------------------------------------------

def carriers_of(counts: AlleleCounts) -> int:
    """Individuals carrying an allele: heterozygous, homozygous and hemizygous carriers."""
    return counts.n_het + counts.n_hom_alt + counts.n_hemi_alt


def stored_variants(cohort: ConsentedCohort, query: VariantQuery) -> list[AlleleCounts]:
    """The node's variants answering ``query``, counted over consented samples, carried by someone.

    A query the store cannot bound (no position, no gene) is an :class:`InputError`; so is a window
    holding more than :data:`MAX_SCAN` stored variants.
    """
    if query.exact and query.chrom is not None and query.ref is not None and query.alt is not None:
        counts = cohort.variant(query.chrom, query.start[0] + 1, query.ref, query.alt)
        return [counts] if carriers_of(counts) > 0 else []
    window = query.window()
    if window is None:
        raise InputError("the node's cohort answers sequence, range and gene queries only")
    chrom, lo, hi = window
    index = cohort.ctx.store.index()
    low, high = position_range(chrom, lo, hi)
    sites = int(np.searchsorted(index.keys, high)) - int(np.searchsorted(index.keys, low))
    if sites > MAX_SCAN:
        raise InputError(f"the range holds {sites:,} stored variants, more than the {MAX_SCAN:,} one query may "
                         "examine; narrow the range")
    found = []
    for counts in cohort.region(chrom, lo, hi):
        allele = Allele(counts.chrom, counts.pos, counts.ref, counts.alt)
        if carriers_of(counts) > 0 and query.matches(allele):
            found.append(counts)
    return found
