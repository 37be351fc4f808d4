"""RefSeq accessions and LOINC answer codes of the human chromosomes.

The exports name a variant's chromosome the way HGVS and the FHIR Genomics Reporting IG do: by
the RefSeq accession of the chromosome in the genome build (``NC_000002.12`` is chr2 of GRCh38),
and by the LOINC "Human chromosomes" answer code (LL2938-0). Both tables are fixed by the builds
(GRCh38: GCF_000001405.26 assembly report; GRCh37: GCF_000001405.13) and never change, so they are
embedded; a test checks the GRCh38 table against the HGVS ``g.`` expressions of the published
phenopackets in the shared data.
"""

from __future__ import annotations

from genomed.errors import InputError

_GRCH38_VERSIONS = (11, 12, 12, 12, 10, 12, 14, 11, 12, 11, 10, 12, 11, 9, 10, 10, 11, 10, 10, 11, 9, 11, 11, 10)
_GRCH37_VERSIONS = (10, 11, 11, 11, 9, 11, 13, 10, 11, 10, 9, 11, 10, 8, 9, 9, 10, 9, 9, 10, 8, 10, 10, 9)
_NAMES = (*(str(i) for i in range(1, 23)), "X", "Y")
MITOCHONDRION = "NC_012920.1"  # the rCRS, chrM of GRCh38 and MT of GRCh37 alike

REFSEQ_CHROMOSOMES: dict[str, dict[str, str]] = {
    "GRCh38": {name: f"NC_{i + 1:06d}.{v}" for i, (name, v) in enumerate(zip(_NAMES, _GRCH38_VERSIONS, strict=True))}
    | {"MT": MITOCHONDRION},
    "GRCh37": {name: f"NC_{i + 1:06d}.{v}" for i, (name, v) in enumerate(zip(_NAMES, _GRCH37_VERSIONS, strict=True))}
    | {"MT": MITOCHONDRION},
}

# LOINC LL2938-0 "Human chromosomes" answer codes (consecutive LA numbers with their check digits;
# the IG's own examples use LA21256-5, LA21262-3, LA21269-8 and LA21276-3 for 3, 9, 16 and X).
LOINC_CHROMOSOMES: dict[str, str] = {
    "1": "LA21254-0", "2": "LA21255-7", "3": "LA21256-5", "4": "LA21257-3", "5": "LA21258-1", "6": "LA21259-9",
    "7": "LA21260-7", "8": "LA21261-5", "9": "LA21262-3", "10": "LA21263-1", "11": "LA21264-9", "12": "LA21265-6",
    "13": "LA21266-4", "14": "LA21267-2", "15": "LA21268-0", "16": "LA21269-8", "17": "LA21270-6",
    "18": "LA21271-4", "19": "LA21272-2", "20": "LA21273-0", "21": "LA21274-8", "22": "LA21275-5",
    "X": "LA21276-3", "Y": "LA21277-1",
}


def _chrom_name(chrom: str) -> str:
    name = chrom.removeprefix("chr")
    return "MT" if name in ("M", "MT") else name


def refseq_accession(chrom: str, build: str) -> str:
    """The RefSeq accession of a primary chromosome in a build.

    >>> refseq_accession("chr2", "GRCh38"), refseq_accession("X", "GRCh37"), refseq_accession("chrM", "GRCh38")
    ('NC_000002.12', 'NC_000023.10', 'NC_012920.1')
    """
    table = REFSEQ_CHROMOSOMES.get(build)
    if table is None:
        raise InputError(f"unknown genome build {build!r}; expected GRCh38 or GRCh37")
    accession = table.get(_chrom_name(chrom))
    if accession is None:
        raise InputError(f"{chrom!r} is not a primary chromosome of {build}")
    return accession


def loinc_chromosome(chrom: str) -> str | None:
    """The LOINC answer code for a nuclear chromosome (None for the mitochondrion or an unplaced contig).

    >>> loinc_chromosome("chr3"), loinc_chromosome("16"), loinc_chromosome("chrX"), loinc_chromosome("chrM")
    ('LA21256-5', 'LA21269-8', 'LA21276-3', None)
    """
    return LOINC_CHROMOSOMES.get(_chrom_name(chrom))
