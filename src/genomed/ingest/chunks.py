"""What ingestion hands to the variant store: normalised records and sparse genotypes, in chunks.

A reader turns a VCF or gVCF into a stream of :class:`RecordChunk` (and, for gVCFs,
:class:`BlockChunk`) objects, in file order within each contig; the store writes them as one batch.
Only what the store cannot infer is carried: reference calls of a multi-sample VCF are implicit
(``an`` counts every called allele at the record), so a chunk holds non-reference and missing
calls only — the "sparse genotypes" of DESIGN.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

MISSING = -1  # alt_count of a no-call: the sample was not called here (not a reference call)


@dataclass(frozen=True)
class BatchSample:
    """A sample of the input file, matched to the catalog; ploidy observed on the sex chromosomes."""

    index: int            # position in the input file's sample columns
    name: str             # the VCF column name, equal to the catalog sample label
    x_ploidy: int = 2     # 1 when the sample's chrX non-PAR calls are haploid (a male), else 2
    y_ploidy: int = 0     # 1 when the sample has chrY calls, else 0


@dataclass
class RecordChunk:
    """Up to a few tens of thousands of normalised, biallelic records and their sparse genotypes.

    Record arrays have one entry per record; genotype arrays one per (record, sample) call that is
    non-reference or missing. ``gt_record`` indexes this chunk's records; ``gt_sample`` the batch's
    samples. Absent FORMAT values are -1.
    """

    chrom: list[str]
    pos: npt.NDArray[np.int32]            # 1-based, after left-alignment
    ref: list[str]
    alt: list[str]
    key: npt.NDArray[np.int64]            # genomed.store.keys.variant_key
    an: npt.NDArray[np.int32]             # called alleles at this record over all batch samples
    filter_pass: npt.NDArray[np.bool_]
    gt_record: npt.NDArray[np.int32]
    gt_sample: npt.NDArray[np.int32]
    gt_alt_count: npt.NDArray[np.int8]    # copies of this alt allele: 1 or 2, or MISSING
    gt_ploidy: npt.NDArray[np.int8]       # 1 or 2
    gt_gq: npt.NDArray[np.int16]
    gt_dp: npt.NDArray[np.int32]
    gt_ad_ref: npt.NDArray[np.int32]
    gt_ad_alt: npt.NDArray[np.int32]

    def __len__(self) -> int:
        return len(self.chrom)


@dataclass
class BlockChunk:
    """gVCF reference blocks: the positions where a sample was called homozygous reference."""

    sample: npt.NDArray[np.int32]
    chrom: list[str]
    start: npt.NDArray[np.int32]          # 1-based, inclusive
    end: npt.NDArray[np.int32]            # 1-based, inclusive
    min_dp: npt.NDArray[np.int32]
    gq: npt.NDArray[np.int16]

    def __len__(self) -> int:
        return len(self.chrom)


@dataclass
class NormalisationCounts:
    """What normalisation did to the input, reported with every ingest."""

    records_read: int = 0
    multiallelic_split: int = 0
    trimmed: int = 0
    left_aligned: int = 0
    left_alignment_skipped: bool = False   # no reference FASTA: indels were trimmed but not shifted
    skipped_symbolic: int = 0              # <DEL>, <NON_REF>-only and other symbolic alleles
    skipped_other_contigs: int = 0         # alt/decoy/unplaced contigs, which have no variant key
    notes: list[str] = field(default_factory=list)
