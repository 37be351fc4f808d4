"""How many copies of a position a sample carries: two, except on the sex chromosomes.

Outside the pseudo-autosomal regions (PAR), chrX is haploid in males and chrY exists only in males.
A sample's ploidy on X and Y is observed from its calls at ingest (``x_ploidy``, ``y_ploidy``), so
the store counts allele numbers from the data rather than from a declared sex.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from genomed.genome.builds import PAR

# 1-based inclusive PAR intervals on chrX, per build (from genomed.genome.builds, the one source).
PAR_X = {build: regions["X"] for build, regions in PAR.items()}


def in_par(build: str, pos: int) -> bool:
    """Whether a chrX position lies in a pseudo-autosomal region.

    >>> in_par("GRCh38", 2_000_000), in_par("GRCh38", 50_000_000)
    (True, False)
    """
    return any(start <= pos <= end for start, end in PAR_X[build])


def expected_ploidy(build: str, chrom: str, pos: int, x_ploidy: int, y_ploidy: int) -> int:
    """Copies of ``chrom:pos`` in a sample with the given X and Y ploidy.

    >>> [expected_ploidy("GRCh38", c, 50_000_000, 1, 1) for c in ("chr1", "chrX", "chrY")]
    [2, 1, 1]
    >>> [expected_ploidy("GRCh38", c, 50_000_000, 2, 0) for c in ("chr1", "chrX", "chrY")]
    [2, 2, 0]
    """
    name = chrom.removeprefix("chr")
    if name == "X":
        return 2 if in_par(build, pos) else x_ploidy
    if name == "Y":
        return y_ploidy
    if name in ("M", "MT"):
        return 1
    return 2


def expected_ploidy_array(build: str, chrom: str, pos: npt.NDArray[np.int32], x_ploidy: int,
                          y_ploidy: int) -> npt.NDArray[np.int32]:
    """:func:`expected_ploidy` over an array of positions of one contig."""
    name = chrom.removeprefix("chr")
    if name == "X":
        par = np.zeros(len(pos), dtype=bool)
        for start, end in PAR_X[build]:
            par |= (pos >= start) & (pos <= end)
        return np.where(par, 2, x_ploidy).astype(np.int32)
    value = y_ploidy if name == "Y" else 1 if name in ("M", "MT") else 2
    return np.full(len(pos), value, dtype=np.int32)
