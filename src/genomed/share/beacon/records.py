"""Records of the node's own cohort: a stored variant as a Beacon ``genomicVariation`` document.

A record carries the variant (VRS-style location on the RefSeq chromosome, 0-based interval), its
frequency in the node's consented cohort, and, per carrier whose donor's sharing consent covers
the requester, a ``caseLevelData`` entry naming the sample by its catalog label and the donor by
pseudonym (never by a clear identifier), with the zygosity as a GENO term.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genomed.report.refseq import refseq_accession
from genomed.share.beacon.coordinates import Allele, sequence_id
from genomed.store.query import AlleleCounts, Carriers

MAX_CASES = 1000  # carriers listed per record; the count stays exact in the frequency
HETEROZYGOUS = {"id": "GENO:GENO_0000458", "label": "simple heterozygous"}
HOMOZYGOUS = {"id": "GENO:GENO_0000136", "label": "homozygous"}
HEMIZYGOUS = {"id": "GENO:GENO_0000134", "label": "hemizygous"}


def variant_id(counts: AlleleCounts | Allele) -> str:
    """The ``variantInternalId`` of a stored variant: ``chrom:pos:ref:alt`` (1-based VCF position).

    >>> variant_id(Allele("chr1", 101, "A", "G"))
    'chr1:101:A:G'
    """
    return f"{counts.chrom}:{counts.pos}:{counts.ref}:{counts.alt}"


def parse_variant_id(text: str) -> Allele | None:
    """The allele a node ``variantInternalId`` names, or None if ``text`` is not one."""
    parts = text.split(":")
    if len(parts) != 4 or not parts[1].isdigit() or not parts[2].isalpha() or not parts[3].isalpha():
        return None
    return Allele(parts[0], int(parts[1]), parts[2].upper(), parts[3].upper())


def _zygosity(alt_count: int, ploidy: int) -> dict[str, str]:
    if ploidy == 1:
        return HEMIZYGOUS
    return HOMOZYGOUS if alt_count >= ploidy else HETEROZYGOUS


def variant_record(counts: AlleleCounts, build: str, dataset_id: str, source: str, source_url: str,
                   carriers: Carriers | None = None,
                   labels: Mapping[int, tuple[str, str]] | None = None) -> dict[str, Any]:
    """A ``genomicVariation`` document of a stored variant.

    ``labels`` maps a catalog sample id to (sample label, donor pseudonym); carriers without one
    (samples the catalog does not know, hence without a known consent) are not listed.
    """
    allele = Allele(counts.chrom, counts.pos, counts.ref, counts.alt)
    record: dict[str, Any] = {
        "variantInternalId": variant_id(counts),
        "variation": {
            "variantType": allele.variant_type,
            "referenceBases": counts.ref,
            "alternateBases": counts.alt,
            "location": {"type": "SequenceLocation", "sequence_id": sequence_id(counts.chrom, build),
                         "interval": {"type": "SequenceInterval",
                                      "start": {"type": "Number", "value": allele.start0},
                                      "end": {"type": "Number", "value": allele.end0}}},
        },
        "datasetId": dataset_id,
    }
    if allele.variant_type == "SNP":
        record["identifiers"] = {
            "genomicHGVSId": f"{refseq_accession(counts.chrom, build)}:g.{counts.pos}{counts.ref}>{counts.alt}"}
    if counts.af is not None:
        record["frequencyInPopulations"] = [{
            "source": source, "sourceReference": source_url, "version": build,
            "frequencies": [{"population": dataset_id, "alleleFrequency": counts.af,
                             "alleleCount": counts.ac, "alleleNumber": counts.an,
                             "alleleCountHomozygous": counts.n_hom_alt,
                             "alleleCountHemizygous": counts.n_hemi_alt}],
        }]
    if carriers is not None and labels is not None:
        cases = []
        for carrier in carriers:
            named = labels.get(carrier.sample)
            if named is None:
                continue
            cases.append({"biosampleId": named[0], "individualId": named[1],
                          "zygosity": _zygosity(carrier.alt_count, carrier.ploidy)})
            if len(cases) >= MAX_CASES:
                break
        if cases:
            record["caseLevelData"] = cases
    return record
