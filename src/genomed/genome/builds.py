"""Contig lengths of the human genome builds, and recognising a build from a file's contigs.

A VCF says which build it was called on only through its ``##contig`` lengths (names are
"chr1" in one pipeline and "1" in another; ``##reference`` is free text). Every primary chromosome
differs in length between GRCh37 and GRCh38, so comparing the lengths of whichever contigs a file
declares tells the builds apart, and a file that matches neither is refused rather than guessed.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from genomed.errors import InputError

GRCH38 = "GRCh38"
GRCH37 = "GRCh37"
BUILDS = (GRCH38, GRCH37)

# Primary chromosomes in karyotype order, UCSC-style names (the names GRCh38 files use).
PRIMARY_CHROMS: tuple[str, ...] = (*(f"chr{i}" for i in range(1, 23)), "chrX", "chrY", "chrM")

GRCH38_SIZES_FILE = "gene-models/hg38.chrom.sizes"

# GRCh37 primary assembly lengths (chr1-22, X, Y; MT is the rCRS, 16,569 bp), from the GRC's
# GRCh37.p13 assembly report (GenBank GCA_000001405.14), the lengths every GRCh37 VCF header
# declares (e.g. the scout demo trio in the shared data). Embedded because they never change.
GRCH37_LENGTHS: dict[str, int] = {
    "1": 249_250_621, "2": 243_199_373, "3": 198_022_430, "4": 191_154_276, "5": 180_915_260,
    "6": 171_115_067, "7": 159_138_663, "8": 146_364_022, "9": 141_213_431, "10": 135_534_747,
    "11": 135_006_516, "12": 133_851_895, "13": 115_169_878, "14": 107_349_540, "15": 102_531_392,
    "16": 90_354_753, "17": 81_195_210, "18": 78_077_248, "19": 59_128_983, "20": 63_025_520,
    "21": 48_129_895, "22": 51_304_566, "X": 155_270_560, "Y": 59_373_566, "MT": 16_569,
}

# Pseudo-autosomal regions, 1-based inclusive (GRC): diploid in males on chrX, and the chrY copies
# of them are masked in most pipelines.
PAR: dict[str, dict[str, tuple[tuple[int, int], ...]]] = {
    GRCH38: {"X": ((10_001, 2_781_479), (155_701_383, 156_030_895)),
             "Y": ((10_001, 2_781_479), (56_887_903, 57_217_415))},
    GRCH37: {"X": ((60_001, 2_699_520), (154_931_044, 155_260_560)),
             "Y": ((10_001, 2_649_520), (59_034_050, 59_363_566))},
}


def canonical_name(chrom: str) -> str:
    """A contig name without its "chr" prefix, with the mitochondrion called MT.

    >>> [canonical_name(c) for c in ("chr1", "1", "chrX", "chrM", "MT", "chr1_KI270706v1_random")]
    ['1', '1', 'X', 'MT', 'MT', '1_KI270706v1_random']
    """
    name = chrom.removeprefix("chr")
    return "MT" if name == "M" else name


def ucsc_name(chrom: str) -> str:
    """A primary contig name in UCSC style ("chr1", "chrM"), whatever style it came in.

    >>> [ucsc_name(c) for c in ("1", "chrX", "MT")]
    ['chr1', 'chrX', 'chrM']
    """
    name = canonical_name(chrom)
    return "chrM" if name == "MT" else f"chr{name}"


def _read_sizes(text: str, source: str) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 2 or not parts[1].strip().isdigit():
            raise InputError(f"{source} line {number}: expected 'name<TAB>length', got {line!r}")
        sizes[parts[0]] = int(parts[1])
    return sizes


@functools.cache
def grch38_lengths() -> dict[str, int]:
    """Every GRCh38 contig length (primary, alt, fix, random), UCSC names, from the data directory."""
    from genomed.data import data_file

    path = data_file(GRCH38_SIZES_FILE)
    return _read_sizes(path.read_text(encoding="ascii"), str(path))


def contig_lengths(build: str) -> dict[str, int]:
    """Primary chromosome lengths of a build, keyed by canonical name ("1".."22", "X", "Y", "MT")."""
    if build == GRCH38:
        every = grch38_lengths()
        return {canonical_name(chrom): every[chrom] for chrom in PRIMARY_CHROMS if chrom in every}
    if build == GRCH37:
        return dict(GRCH37_LENGTHS)
    raise InputError(f"unknown genome build {build!r}; expected one of {', '.join(BUILDS)}")


def primary_contigs(build: str) -> list[tuple[str, int]]:
    """(UCSC name, length) of a build's primary chromosomes in karyotype order, for VCF headers."""
    lengths = contig_lengths(build)
    return [(chrom, lengths[canonical_name(chrom)]) for chrom in PRIMARY_CHROMS if canonical_name(chrom) in lengths]


def detect_build(contigs: Mapping[str, int], *, known: Mapping[str, Mapping[str, int]] | None = None) -> str | None:
    """The build whose primary chromosome lengths all agree with ``contigs``, or None.

    Names may carry a "chr" prefix or not; contigs outside the primary assembly and the
    mitochondrion (16,569 bp in both builds, 16,571 in hg19's chrM) are ignored. None means no
    primary contig was declared, or the lengths contradict every build (or fit both, which real
    builds never do). ``known`` replaces the builds' tables (tests).

    >>> grch37 = {"1": 249_250_621, "2": 243_199_373, "X": 155_270_560, "GL000207.1": 4262}
    >>> detect_build(grch37)
    'GRCh37'
    >>> detect_build({"chr1": 248_956_422, "chrM": 16_571})
    'GRCh38'
    >>> detect_build({"chr1": 248_956_422, "chr2": 243_199_373}) is None  # mixed builds
    True
    """
    tables = known if known is not None else {build: contig_lengths(build) for build in BUILDS}
    matches: list[str] = []
    for build, lengths in tables.items():
        agree = disagree = 0
        for name, length in contigs.items():
            canonical = canonical_name(name)
            if canonical == "MT" or canonical not in lengths:
                continue
            if lengths[canonical] == length:
                agree += 1
            else:
                disagree += 1
        if agree and not disagree:
            matches.append(build)
    return matches[0] if len(matches) == 1 else None


def in_par(build: str, chrom: str, pos: int) -> bool:
    """Whether a 1-based position on chrX/chrY lies in a pseudo-autosomal region.

    >>> in_par("GRCh38", "chrX", 2_000_000), in_par("GRCh38", "X", 50_000_000), in_par("GRCh38", "chr1", 5)
    (True, False, False)
    """
    intervals = PAR.get(build, {}).get(canonical_name(chrom), ())
    return any(start <= pos <= end for start, end in intervals)
