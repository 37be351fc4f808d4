"""ClinVar, loaded from a release file into an index that interpretation asks three questions of.

* "What does ClinVar say about *this* variant?" (PP5/BP6-style evidence, the report): :meth:`ClinVar.by_variant`.
* "Which ClinVar variants change *this* amino acid?" (PS1: same amino-acid change; PM5: another
  missense change at the same codon): :meth:`ClinVar.at_protein_position`.
* "How many pathogenic variants does this gene have?" (gene-level evidence, e.g. whether
  loss of function is a known mechanism): :meth:`ClinVar.pathogenic_in_gene`.

Two release formats are read:

* the official **ClinVar VCF** (``clinvar.vcf.gz``; INFO ``CLNSIG``, ``CLNREVSTAT``, ``GENEINFO``,
  ``CLNHGVS``, ``MC``, ``CLNDN``, ``ALLELEID``; the ID column is the VariationID). Its version is
  its ``##fileDate``; its chromosomes ("1", "MT") become our UCSC names ("chr1", "chrM"). The VCF
  carries no protein change, so PS1/PM5 lookups on a VCF release need ``effect_of`` (the node's
  consequence predictor) to supply one for protein-altering records;
* **ClinVar JSONL** (one VCV record per line, the JSON of ClinVar's data exports as annonars
  stores them): the VCF-style allele in ``sequenceLocation`` and the protein change from the
  record's ``name``, ``NM_014855.3(AP5Z1):c.80_83del... (p.Arg27Trp)``.

Every allele is normalised like our own variants (shared prefix/suffix trimmed, one VCF anchor
base kept; left-aligned when a reference is given), so a lookup by a stored :class:`Variant` hits.

Review status becomes stars as ClinVar defines them: practice guideline 4, expert panel 3,
multiple submitters without conflicts 2, single submitter or conflicting 1, no criteria 0.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from genomed.annotate.model import ClinVarAssertion, TranscriptEffect, Variant
from genomed.annotate.releases import KnowledgeRelease, make_release, read_lines
from genomed.errors import InputError, WrongBuildError
from genomed.genome.builds import BUILDS, GRCH38, ucsc_name
from genomed.genome.reference import ReferenceGenome
from genomed.ingest.normalise import normalise

log = logging.getLogger(__name__)

# Canonical review-status text (as ClinVar's web pages print it) and its stars, keyed by the text
# with everything but letters removed, so the VCF spelling ("criteria_provided,_single_submitter")
# and the JSON enum ("AGGREGATE_GERMLINE_REVIEW_STATUS_CRITERIA_PROVIDED_SINGLE_SUBMITTER") meet.
_REVIEW_STATUSES: tuple[tuple[str, int], ...] = (
    ("practice guideline", 4),
    ("reviewed by expert panel", 3),
    ("criteria provided, multiple submitters, no conflicts", 2),
    ("criteria provided, conflicting classifications", 1),
    ("criteria provided, conflicting interpretations", 1),       # the same status before 2024
    ("criteria provided, single submitter", 1),
    ("no assertion criteria provided", 0),
    ("no classification provided", 0),
    ("no assertion provided", 0),                                # the same status before 2024
    ("no classification for the single variant", 0),
    ("no interpretation for the single variant", 0),             # the same status before 2024
    ("no classifications from unflagged records", 0),
    ("flagged submission", 0),
)
_REVIEW_BY_KEY = {re.sub(r"[^a-z]", "", text): (text, stars) for text, stars in _REVIEW_STATUSES}
_JSON_STATUS_PREFIX = re.compile(r"^(AGGREGATE_)?(GERMLINE_)?(REVIEW_STATUS_)?")
_NOT_CONDITIONS = frozenset({"not provided", "not specified", "see cases"})

# Molecular consequences (VCF ``MC``) worth asking a consequence predictor for a protein change.
_PROTEIN_CONSEQUENCES = frozenset({
    "missense_variant", "nonsense", "stop_gained", "stop_lost", "initiator_codon_variant", "start_lost",
    "inframe_deletion", "inframe_insertion", "inframe_indel", "frameshift_variant", "synonymous_variant"})

_NAME = re.compile(r"^(?P<tx>[^(:\s]+)(\((?P<gene>[^)]+)\))?:(?P<c>[cnm]\.[^\s]+)(\s+\((?P<p>p\.[^)]+)\))?")
_PROTEIN = re.compile(r"^p\.\(?(?P<ref>[A-Z][a-z]{2}|\*)(?P<pos>\d+)(?P<rest>.*?)\)?$")
_ALLELE = re.compile(r"^[ACGTN]+$")
_FILE_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$")

EffectOf = Callable[[Variant], TranscriptEffect | None]


@functools.lru_cache(maxsize=256)
def review_stars(status: str) -> tuple[str, int]:
    """ClinVar's review status in its canonical words, and its stars (0–4).

    Unknown statuses (a future ClinVar wording) get 0 stars, the weight of an unreviewed claim,
    and a warning: a whole release must not be refused for one new word, nor a claim overweighted.

    >>> review_stars("criteria_provided,_multiple_submitters,_no_conflicts")
    ('criteria provided, multiple submitters, no conflicts', 2)
    >>> review_stars("AGGREGATE_GERMLINE_REVIEW_STATUS_REVIEWED_BY_EXPERT_PANEL")
    ('reviewed by expert panel', 3)
    >>> review_stars("practice guideline")[1], review_stars("no_assertion_criteria_provided")[1]
    (4, 0)
    """
    cleaned = _JSON_STATUS_PREFIX.sub("", status.strip()) if status.isupper() else status
    key = re.sub(r"[^a-z]", "", cleaned.lower())
    known = _REVIEW_BY_KEY.get(key)
    if known is not None:
        return known
    text = cleaned.replace(",_", ", ").replace("_", " ").strip().lower()
    log.warning("unknown ClinVar review status %r: counted as 0 stars", status)
    return text, 0


class ProteinChange(NamedTuple):
    """An HGVS protein change split into what PS1 and PM5 compare."""

    ref: str        # reference amino acid, three-letter ("Arg"), or "*" / "Ter"
    position: int   # first affected codon
    change: str     # the rest: "Trp", "fs", "Ter", "=", "_Ile28delinsLeuLeuTer"

    @property
    def is_missense(self) -> bool:
        """A single amino-acid substitution to another amino acid (what PS1/PM5 apply to)."""
        return bool(re.fullmatch(r"[A-Z][a-z]{2}", self.change)) and self.change not in (self.ref, "Ter")


def parse_protein_change(hgvs_p: str | None) -> ProteinChange | None:
    """Split ``p.Arg27Trp`` (with or without parentheses or accession) into its parts; None if no position.

    >>> parse_protein_change("p.Arg27Trp")
    ProteinChange(ref='Arg', position=27, change='Trp')
    >>> parse_protein_change("NP_000050.2:p.(Leu473fs)").change, parse_protein_change("p.Glu88=").change
    ('fs', '=')
    >>> parse_protein_change("p.Arg27Trp").is_missense, parse_protein_change("p.Gln470Ter").is_missense
    (True, False)
    >>> parse_protein_change("p.?") is None
    True
    """
    if not hgvs_p:
        return None
    text = hgvs_p.split(":", 1)[1] if ":" in hgvs_p else hgvs_p
    match = _PROTEIN.match(text.strip())
    if match is None:
        return None
    return ProteinChange(match["ref"], int(match["pos"]), match["rest"])


class NameParts(NamedTuple):
    gene: str | None
    hgvs_c: str | None
    hgvs_p: str | None


def parse_name(name: str) -> NameParts:
    """Gene, c. and p. change from a ClinVar variation name.

    >>> parse_name("NM_014855.3(AP5Z1):c.80_83delinsTGCTGTAAACTGTAACTGTAAA (p.Arg27_Ile28delinsLeuLeuTer)")
    NameParts(gene='AP5Z1', hgvs_c='NM_014855.3:c.80_83delinsTGCTGTAAACTGTAACTGTAAA', \
hgvs_p='p.Arg27_Ile28delinsLeuLeuTer')
    >>> parse_name("NM_138413.4(HOGA1):c.700+4G>T")
    NameParts(gene='HOGA1', hgvs_c='NM_138413.4:c.700+4G>T', hgvs_p=None)
    >>> parse_name("GRCh38/hg38 7p22.1(chr7:1-2)x3")
    NameParts(gene=None, hgvs_c=None, hgvs_p=None)
    """
    match = _NAME.match(name.strip())
    if match is None:
        return NameParts(None, None, None)
    return NameParts(match["gene"], f"{match['tx']}:{match['c']}", match["p"])


def clinvar_file_date(text: str) -> str:
    """A ``##fileDate`` value as an ISO date (ClinVar writes ``20240507``; older files ``2024-05-07``).

    >>> clinvar_file_date("20240507"), clinvar_file_date("2019-12-31")
    ('2024-05-07', '2019-12-31')
    """
    match = _FILE_DATE.match(text.strip())
    return "-".join(match.groups()) if match else text.strip()


@dataclass(frozen=True, slots=True)
class _Raw:
    """One ClinVar record before normalisation, from either format."""

    line: int
    chrom: str
    pos: int
    ref: str
    alt: str
    accession: str
    significance: str
    review_status: str
    genes: tuple[str, ...]
    hgvs_c: str | None
    hgvs_p: str | None
    conditions: tuple[str, ...]
    consequences: tuple[str, ...]


class ClinVar:
    """An in-memory index of one ClinVar release (build it with :meth:`load`, :meth:`from_vcf`, :meth:`from_jsonl`).

    Memory: each record costs a few hundred bytes; the whole GRCh38 release (≈3 M records) fits in
    about 1.5 GB. ``keep`` at load time (e.g. only records with a classification) trims that.
    """

    def __init__(self, assertions: Iterable[ClinVarAssertion], release: KnowledgeRelease,
                 *, multi_gene: Iterable[Variant] = (), skipped: Counter[str] | None = None) -> None:
        self._release = release
        self._by_variant: dict[Variant, ClinVarAssertion] = {}
        self._by_protein: dict[tuple[str, int], list[ClinVarAssertion]] = defaultdict(list)
        self._pathogenic: dict[str, Counter[int]] = defaultdict(Counter)
        several_genes = set(multi_gene)
        self.skipped: Counter[str] = skipped if skipped is not None else Counter()
        for assertion in assertions:
            known = self._by_variant.get(assertion.variant)
            if known is not None:
                # Two VCV records that normalise to one allele (rare: a left-shifted duplicate):
                # the better-reviewed one answers for it.
                self.skipped["same allele as another record"] += 1
                if known.stars >= assertion.stars:
                    continue
            self._by_variant[assertion.variant] = assertion
            if assertion.gene_symbol and assertion.protein_position is not None:
                self._by_protein[(assertion.gene_symbol, assertion.protein_position)].append(assertion)
            if assertion.gene_symbol and assertion.pathogenic and assertion.variant not in several_genes:
                self._pathogenic[assertion.gene_symbol][assertion.stars] += 1

    # -- loading ----------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path, *, build: str = GRCH38, version: str | None = None,
             reference: ReferenceGenome | None = None, effect_of: EffectOf | None = None,
             keep: Callable[[ClinVarAssertion], bool] | None = None) -> ClinVar:
        """A ClinVar release in either format, recognised from its first line."""
        first = next((line for _, line in read_lines(path, "a ClinVar VCF or JSONL file") if line.strip()), "")
        if first.startswith("##fileformat=VCF"):
            return cls.from_vcf(path, build=build, version=version, reference=reference, effect_of=effect_of,
                                keep=keep)
        if first.lstrip().startswith("{"):
            return cls.from_jsonl(path, build=build, version=version, reference=reference, keep=keep)
        raise InputError(f"{path} line 1: neither a ClinVar VCF (##fileformat=VCF...) nor ClinVar JSONL "
                         f"(one JSON object per line); starts with {first[:40]!r}")

    @classmethod
    def from_vcf(cls, path: Path, *, build: str = GRCH38, version: str | None = None,
                 reference: ReferenceGenome | None = None, effect_of: EffectOf | None = None,
                 keep: Callable[[ClinVarAssertion], bool] | None = None) -> ClinVar:
        """The official ClinVar VCF (plain or bgzipped). ``version`` only when the file has no ``##fileDate``."""
        _check_build(build)
        meta: dict[str, str] = {}
        skipped: Counter[str] = Counter()
        raws = _vcf_records(path, build, meta, skipped)
        multi: list[Variant] = []
        items = list(_assertions(raws, reference, effect_of, keep, skipped, multi))
        file_version = meta.get("fileDate")
        release = make_release("ClinVar", path, version=file_version or version,
                               version_from="file" if file_version else "caller", build=build, records=len(items))
        return cls(items, release, multi_gene=multi, skipped=skipped)

    @classmethod
    def from_jsonl(cls, path: Path, *, build: str = GRCH38, version: str | None = None,
                   reference: ReferenceGenome | None = None,
                   keep: Callable[[ClinVarAssertion], bool] | None = None) -> ClinVar:
        """ClinVar JSONL (one VCV record per line); the file states no release, so ``version`` labels it."""
        _check_build(build)
        skipped: Counter[str] = Counter()
        multi: list[Variant] = []
        items = list(_assertions(_jsonl_records(path, build, skipped), reference, None, keep, skipped, multi))
        release = make_release("ClinVar", path, version=version, version_from="caller", build=build,
                               records=len(items))
        return cls(items, release, multi_gene=multi, skipped=skipped)

    # -- questions --------------------------------------------------------------------------------

    @property
    def release(self) -> KnowledgeRelease:
        """The release this index was loaded from (for provenance)."""
        return self._release

    def by_variant(self, variant: Variant) -> ClinVarAssertion | None:
        """ClinVar's record for exactly this (normalised) variant, or None."""
        return self._by_variant.get(variant)

    def at_protein_position(self, gene_symbol: str, position: int) -> list[ClinVarAssertion]:
        """Every record with a protein change starting at this codon of this gene (PS1, PM5), best reviewed first."""
        found = self._by_protein.get((gene_symbol, position), [])
        return sorted(found, key=lambda a: (-a.stars, a.accession))

    def pathogenic_in_gene(self, gene_symbol: str, min_stars: int = 0) -> int:
        """Pathogenic/likely pathogenic (not conflicting) single-gene records in a gene with at least ``min_stars``."""
        counts = self._pathogenic.get(gene_symbol)
        return sum(n for stars, n in counts.items() if stars >= min_stars) if counts else 0

    def __len__(self) -> int:
        return len(self._by_variant)

    def __iter__(self) -> Iterator[ClinVarAssertion]:
        return iter(self._by_variant.values())


# ------------------------------------------------------------------------------------------- helpers

def _check_build(build: str) -> None:
    if build not in BUILDS:
        raise InputError(f"unknown genome build {build!r}; expected one of {', '.join(BUILDS)}")


def _text(value: str) -> str:
    """A VCF INFO text value in words: underscores were spaces, ``|`` separates values."""
    return value.replace(",_", ", ").replace("_", " ").replace("|", "; ").strip()


def _conditions(names: Iterable[str]) -> tuple[str, ...]:
    kept = [sys.intern(n) for n in (name.strip() for name in names) if n and n.lower() not in _NOT_CONDITIONS]
    return tuple(dict.fromkeys(kept))


@functools.lru_cache(maxsize=65536)
def _vcf_conditions(clndn: str) -> tuple[str, ...]:
    """CLNDN as condition names (cached: a few thousand diseases name most of ClinVar's records)."""
    return _conditions(_text(name) for name in clndn.split("|"))


def _vcf_records(path: Path, build: str, meta: dict[str, str], skipped: Counter[str]) -> Iterator[_Raw]:
    info_ids: set[str] = set()
    seen_columns = False
    for number, line in read_lines(path, "a ClinVar VCF"):
        if number == 1 and not line.startswith("##fileformat=VCF"):
            raise InputError(f"{path} line 1: not a VCF (expected ##fileformat=VCF..., got {line[:40]!r})")
        if line.startswith("##"):
            key, _, value = line[2:].partition("=")
            if key == "INFO":
                found = re.search(r"[<,]ID=([^,>]+)", value)
                if found:
                    info_ids.add(found.group(1))
            elif key == "fileDate":
                meta["fileDate"] = clinvar_file_date(value)
            elif key in ("reference", "source"):
                meta[key] = value.strip()
            continue
        if line.startswith("#CHROM"):
            missing = {"CLNSIG", "CLNREVSTAT"} - info_ids
            if missing or meta.get("source", "ClinVar").lower() != "clinvar":
                raise InputError(f"{path} line {number}: not a ClinVar VCF (source {meta.get('source')!r}; "
                                 f"INFO {', '.join(sorted(missing)) or 'fields'} not declared)")
            declared = meta.get("reference", "")
            other = next((b for b in BUILDS if b != build and b.lower() in declared.lower()), None)
            if other is not None:
                raise WrongBuildError(f"{path}: a ClinVar VCF on {other} (##reference={declared}); "
                                      f"this index is {build}")
            seen_columns = True
            continue
        if not line.strip():
            continue
        if not seen_columns:
            raise InputError(f"{path} line {number}: a record before the #CHROM header line; not a ClinVar VCF")
        raw = _vcf_record(path, number, line, skipped)
        if raw is not None:
            yield raw
    if not seen_columns:
        raise InputError(f"{path}: no #CHROM header line; not a ClinVar VCF")


def _vcf_record(path: Path, number: int, line: str, skipped: Counter[str]) -> _Raw | None:
    fields = line.split("\t")
    if len(fields) < 8:
        raise InputError(f"{path} line {number}: {len(fields)} columns, a VCF record has 8 "
                         "(CHROM POS ID REF ALT QUAL FILTER INFO)")
    chrom, pos_text, vid, ref, alt, _, _, info_text = fields[:8]
    if not pos_text.isdigit():
        raise InputError(f"{path} line {number}: POS {pos_text!r} is not a position")
    info: dict[str, str] = {}
    for item in info_text.split(";"):
        key, _, value = item.partition("=")
        info[key] = value
    if "CLNSIG" not in info:
        skipped["no germline classification"] += 1   # somatic/oncogenicity-only records
        return None
    if "CLNREVSTAT" not in info:
        raise InputError(f"{path} line {number}: INFO has CLNSIG but no CLNREVSTAT (review status)")
    ref, alt = ref.upper(), alt.upper()
    if not _ALLELE.match(ref) or not _ALLELE.match(alt) or ref == alt:
        skipped["no sequence allele"] += 1
        return None
    genes = tuple(sys.intern(g.split(":", 1)[0]) for g in info.get("GENEINFO", "").split("|") if g)
    consequences = tuple(c.split("|", 1)[1] for c in info.get("MC", "").split(",") if "|" in c)
    return _Raw(line=number, chrom=chrom, pos=int(pos_text), ref=ref, alt=alt,
                accession=f"VCV{int(vid):09d}" if vid.isdigit() else vid,
                significance=sys.intern(_text(info["CLNSIG"])), review_status=info["CLNREVSTAT"],
                genes=genes, hgvs_c=None, hgvs_p=None,
                conditions=_vcf_conditions(info.get("CLNDN", "")),
                consequences=consequences)


def _jsonl_records(path: Path, build: str, skipped: Counter[str]) -> Iterator[_Raw]:
    for number, line in read_lines(path, "ClinVar JSONL"):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path} line {number}: not JSON ({exc.msg}); is this ClinVar JSONL?") from exc
        if not isinstance(record, dict) or "accession" not in record:
            raise InputError(f"{path} line {number}: not a ClinVar record (no 'accession'); is this ClinVar JSONL?")
        raw = _jsonl_record(path, number, record, build, skipped)
        if raw is not None:
            yield raw


def _jsonl_record(path: Path, number: int, record: dict[str, Any], build: str, skipped: Counter[str]) -> _Raw | None:
    germline = (record.get("classifications") or {}).get("germlineClassification")
    if not germline:
        skipped["no germline classification"] += 1
        return None
    for key in ("description", "reviewStatus"):
        if key not in germline:
            raise InputError(f"{path} line {number}: germlineClassification has no {key!r}")
    location = _location(path, number, record.get("sequenceLocation"), build)
    if location is None:
        skipped["no VCF allele on this build"] += 1
        return None
    try:
        chrom = str(location["chr"]).removeprefix("CHROMOSOME_")
        pos = int(location["positionVcf"])
        ref, alt = str(location["referenceAlleleVcf"]).upper(), str(location["alternateAlleleVcf"]).upper()
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path} line {number}: sequenceLocation lacks a usable {exc}") from exc
    if not _ALLELE.match(ref) or not _ALLELE.match(alt) or ref == alt:
        skipped["no sequence allele"] += 1
        return None
    accession = record["accession"]
    accession = str(accession.get("accession")) if isinstance(accession, dict) else str(accession)
    parts = parse_name(str(record.get("name", "")))
    conditions = _conditions(
        str(name.get("value", ""))
        for condition in germline.get("conditions") or ()
        for trait in condition.get("traits") or ()
        for name in trait.get("names") or () if name.get("type") == "Preferred")
    return _Raw(line=number, chrom=chrom, pos=pos, ref=ref, alt=alt, accession=accession,
                significance=sys.intern(str(germline["description"])),
                review_status=str(germline["reviewStatus"]),
                genes=(sys.intern(parts.gene),) if parts.gene else (), hgvs_c=parts.hgvs_c, hgvs_p=parts.hgvs_p,
                conditions=conditions, consequences=())


def _location(path: Path, number: int, value: Any, build: str) -> dict[str, Any] | None:
    """The record's location on ``build``: a single location on the other build is a wrong-build file."""
    if isinstance(value, list):
        return next((loc for loc in value if isinstance(loc, dict) and loc.get("assembly") == build
                     and "positionVcf" in loc), None)
    if not isinstance(value, dict):
        raise InputError(f"{path} line {number}: no 'sequenceLocation'")
    assembly = value.get("assembly")
    if assembly is not None and assembly != build:
        raise WrongBuildError(f"{path} line {number}: a ClinVar record located on {assembly}; this index is {build}")
    return value if "positionVcf" in value else None


def _assertions(raws: Iterable[_Raw], reference: ReferenceGenome | None, effect_of: EffectOf | None,
                keep: Callable[[ClinVarAssertion], bool] | None, skipped: Counter[str],
                multi_gene: list[Variant]) -> Iterator[ClinVarAssertion]:
    """Normalised assertions; variants of records naming several genes (mostly large CNVs) go to ``multi_gene``,
    so they do not count as pathogenic evidence for every gene they overlap."""
    for raw in raws:
        chrom = ucsc_name(raw.chrom)
        normal = normalise(chrom, raw.pos, raw.ref, raw.alt, reference)
        variant = Variant(chrom, normal.pos, normal.ref, normal.alt)
        status, stars = review_stars(raw.review_status)
        gene = raw.genes[0] if raw.genes else None
        hgvs_c, hgvs_p = raw.hgvs_c, raw.hgvs_p
        if hgvs_p is None and effect_of is not None and _PROTEIN_CONSEQUENCES.intersection(raw.consequences):
            effect = effect_of(variant)
            if effect is not None and effect.hgvs_p:
                gene, hgvs_c, hgvs_p = effect.gene_symbol, effect.hgvs_c, effect.hgvs_p.split(":")[-1]
        change = parse_protein_change(hgvs_p)
        assertion = ClinVarAssertion(
            variant=variant, accession=raw.accession, significance=raw.significance,
            review_status=sys.intern(status), stars=stars, gene_symbol=gene, hgvs_c=hgvs_c, hgvs_p=hgvs_p,
            protein_position=change.position if change else None, conditions=raw.conditions)
        if keep is not None and not keep(assertion):
            skipped["left out by keep"] += 1
            continue
        if len(raw.genes) > 1:
            multi_gene.append(variant)
        yield assertion
