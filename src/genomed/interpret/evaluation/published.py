"""Published solved cases (GA4GH Phenopackets, one per line) as prioritisation test cases.

phenopacket-store holds thousands of published rare-disease patients: HPO features (observed and
excluded), the diagnosis, and the causal variants with their GRCh38 VCF record, HGVS and zygosity.
A case is evaluable when every causal variant has a VCF record on GRCh38 and a gene: structural
variants described only in words cannot be spiked into a genome, and are counted, not hidden.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genomed.annotate.model import Variant
from genomed.errors import InputError, NotFoundError
from genomed.interpret.case_knowledge import publication_of

# GENO allelic states -> zygosity words.
ALLELIC_STATES = {
    "GENO:0000135": "heterozygous",
    "GENO:0000136": "homozygous",
    "GENO:0000134": "hemizygous",
    "GENO:0000402": "compound heterozygous",
}
_BUILDS = {"hg38", "grch38"}


@dataclass(frozen=True)
class CausalVariant:
    """One published causal variant: where, in which gene, in which state, and how it was described."""

    variant: Variant
    gene: str
    zygosity: str
    hgvs_c: str | None
    hgvs_p: str | None


@dataclass(frozen=True)
class PublishedCase:
    """A solved case: its phenotype and the variant(s) that explain it."""

    case_id: str
    sex: str
    observed: tuple[str, ...]
    excluded: tuple[str, ...]
    disease_id: str | None
    disease_label: str | None
    causal: tuple[CausalVariant, ...]
    publication: str | None = None
    """The publication the case was curated from: its knowledge is withheld when the case is ranked."""

    @property
    def genes(self) -> frozenset[str]:
        """The causal gene(s)."""
        return frozenset(c.gene for c in self.causal)


def _normalise(chrom: str, pos: int, ref: str, alt: str) -> Variant:
    """Trim shared suffix then prefix (keeping one anchor base for indels), as the store does."""
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return Variant(chrom if chrom.startswith("chr") else f"chr{chrom}", pos, ref.upper(), alt.upper())


def causal_variant(descriptor: Mapping[str, Any]) -> CausalVariant | None:
    """A published causal variant from its variation descriptor, or None when it has no GRCh38 VCF record."""
    record = descriptor.get("vcfRecord")
    gene = (descriptor.get("geneContext") or {}).get("symbol")
    if not record or not gene or str(record.get("genomeAssembly", "")).lower() not in _BUILDS:
        return None
    ref, alt = str(record.get("ref", "")), str(record.get("alt", ""))
    if not ref or not alt or not set(ref + alt) <= set("ACGTacgt"):
        return None
    state = (descriptor.get("allelicState") or {}).get("id", "")
    expressions = {e.get("syntax"): e.get("value") for e in descriptor.get("expressions", [])}
    return CausalVariant(_normalise(str(record["chrom"]), int(record["pos"]), ref, alt), gene,
                         ALLELIC_STATES.get(state, "heterozygous"), expressions.get("hgvs.c"),
                         expressions.get("hgvs.p"))


def parse_case(packet: dict[str, Any]) -> PublishedCase | None:
    """A :class:`PublishedCase`, or None when some causal variant cannot be placed on GRCh38."""
    observed = tuple(f["type"]["id"] for f in packet.get("phenotypicFeatures", []) if not f.get("excluded"))
    excluded = tuple(f["type"]["id"] for f in packet.get("phenotypicFeatures", []) if f.get("excluded"))
    causal: list[CausalVariant] = []
    disease_id = disease_label = None
    for interpretation in packet.get("interpretations", []):
        diagnosis = interpretation.get("diagnosis") or {}
        disease = diagnosis.get("disease") or {}
        disease_id, disease_label = disease.get("id", disease_id), disease.get("label", disease_label)
        for genomic in diagnosis.get("genomicInterpretations", []):
            descriptor = (genomic.get("variantInterpretation") or {}).get("variationDescriptor")
            if descriptor is None:
                return None
            found = causal_variant(descriptor)
            if found is None:
                return None
            causal.append(found)
    if not causal or not observed:
        return None
    sex = str((packet.get("subject") or {}).get("sex", "UNKNOWN_SEX")).lower()
    return PublishedCase(str(packet.get("id")), sex if sex in ("male", "female") else "unknown", observed,
                         excluded, disease_id, disease_label, tuple(dict.fromkeys(causal)), publication_of(packet))


def read_cases(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Phenopackets of a JSON-lines file (gzipped or not), with their line numbers."""
    if not Path(path).is_file():
        raise NotFoundError(f"case file not found: {path}")
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    packet = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path} line {number}: not a JSON phenopacket ({exc.msg})") from exc
                if not isinstance(packet, dict) or "id" not in packet:
                    raise InputError(f"{path} line {number}: not a phenopacket (no 'id')")
                yield number, packet
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from exc


def load_cases(path: Path) -> tuple[list[PublishedCase], int]:
    """Evaluable cases of a phenopacket file, and how many were not evaluable."""
    cases, skipped = [], 0
    for _, packet in read_cases(path):
        case = parse_case(packet)
        if case is None:
            skipped += 1
        else:
            cases.append(case)
    return cases, skipped
