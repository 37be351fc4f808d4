"""Known variants placed into simulated families, with genotypes that obey Mendel.

A demonstration or a test of the rare-disease pathway needs a family whose answer is known: a
published causal variant, carried by the child and the parents exactly as the mode of inheritance
says (a de novo variant in the child only; a recessive one from each parent; an X-linked one from a
carrier mother to a hemizygous son), inside an otherwise simulated genome. This module does the
three mechanical parts of that: choosing a seed whose trio children have the sexes the cases need,
rewriting the synthetic regional reference so that it carries the published reference bases, and
writing the trio VCF with the placed records in coordinate order. What the variant *means* is left
to the annotator and the interpretation, which are not told.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from genomed.annotate.model import Variant
from genomed.errors import InputError
from genomed.genome.reference import Region
from genomed.simulate.ancestry import rng_for

SEED_SEARCH_LIMIT = 10_000
_DEPTH = 32  # read depth written for placed calls: an ordinary, well-covered exome position


class Pattern(StrEnum):
    """How a placed variant is carried by a trio (child, father, mother)."""

    DE_NOVO = "de novo"                      # child heterozygous, both parents reference
    HOMOZYGOUS = "homozygous"                # child homozygous, both parents heterozygous carriers
    PATERNAL = "paternal heterozygous"       # child and father heterozygous (one allele of a compound het)
    MATERNAL = "maternal heterozygous"       # child and mother heterozygous (the other allele)
    HEMIZYGOUS = "hemizygous"                # son hemizygous on chrX, mother a heterozygous carrier


def trio_genotypes(pattern: Pattern | str, child_sex: str) -> tuple[str, str, str]:
    """GT of child, father and mother for a placed variant (fathers and sons are haploid on chrX).

    >>> trio_genotypes("de novo", "female")
    ('0/1', '0/0', '0/0')
    >>> trio_genotypes(Pattern.HEMIZYGOUS, "male")
    ('1', '0', '0/1')
    """
    chosen = Pattern(pattern)
    if chosen is Pattern.HEMIZYGOUS:
        if child_sex != "male":
            raise InputError("a hemizygous variant needs a male child")
        return "1", "0", "0/1"
    return {Pattern.DE_NOVO: ("0/1", "0/0", "0/0"), Pattern.HOMOZYGOUS: ("1/1", "0/1", "0/1"),
            Pattern.PATERNAL: ("0/1", "0/1", "0/0"), Pattern.MATERNAL: ("0/1", "0/0", "0/1")}[chosen]


def trio_child_sexes(seed: int, trios: int) -> list[str]:
    """The sexes :func:`genomed.simulate.simulate_cohort` gives the children of ``trios`` families.

    The simulator draws them from its ``families`` random stream; reading the same stream here lets
    a caller pick a seed before paying for a simulation (the demo checks the manifest agrees).
    """
    draws = rng_for(seed, "families").random(trios) < 0.5
    return ["male" if male else "female" for male in draws.tolist()]


def seed_for_child_sexes(wanted: Sequence[str], start: int = 1) -> int:
    """The first seed from ``start`` whose trio children have the ``wanted`` sexes, in order.

    >>> seed = seed_for_child_sexes(["male", "female", "male"], 7)
    >>> trio_child_sexes(seed, 3)
    ['male', 'female', 'male']
    """
    wanted = list(wanted)
    if not wanted:
        raise InputError("no child sexes asked for")
    bad = sorted({s for s in wanted if s not in ("male", "female")})
    if bad:
        raise InputError(f"child sex must be 'male' or 'female', got {', '.join(bad)}")
    for seed in range(start, start + SEED_SEARCH_LIMIT):
        if trio_child_sexes(seed, len(wanted)) == wanted:
            return seed
    raise InputError(f"no seed in {start}..{start + SEED_SEARCH_LIMIT - 1} gives children {wanted}")


def patch_fasta(source: Path, target: Path, patches: Mapping[tuple[str, int], str], line_width: int = 60) -> Path:
    """Copy a regional FASTA (records named ``chrom:start-end``) with some bases replaced; index it.

    ``patches`` maps (chrom, 0-based position) to the base to write there. Every patch must fall in a
    record: a base the reference does not hold cannot be made to agree with anything.
    """
    import pysam

    left = {key: base.upper() for key, base in patches.items()}
    bad = sorted(f"{c}:{p + 1}={b}" for (c, p), b in left.items() if b not in ("A", "C", "G", "T"))
    if bad:
        raise InputError(f"patch bases must be A, C, G or T: {', '.join(bad)}")
    with pysam.FastaFile(str(source)) as fasta, open(target, "wb") as out:
        for name in fasta.references:
            region = Region.parse(name)
            seq = bytearray(fasta.fetch(name).upper().encode("ascii"))
            for (chrom, pos0), base in list(left.items()):
                if chrom == region.chrom and region.start <= pos0 < region.end:
                    seq[pos0 - region.start] = ord(base)
                    del left[(chrom, pos0)]
            out.write(f">{name}\n".encode("ascii"))
            out.write(b"\n".join(bytes(seq[i:i + line_width]) for i in range(0, len(seq), line_width)) + b"\n")
    if left:
        target.unlink()
        missing = ", ".join(f"{c}:{p + 1}" for c, p in sorted(left))
        raise InputError(f"positions outside every region of {source.name}: {missing}")
    pysam.faidx(str(target))
    return target


@dataclass(frozen=True)
class Placement:
    """One variant to write into a trio VCF, with the genotype of each sample column (VCF order)."""

    variant: Variant
    genotypes: tuple[str, ...]

    def record(self) -> str:
        """The VCF line: a confident call (QUAL 99 genotype qualities, allele depths that fit each GT)."""
        fields, alt_count, called = [], 0, 0
        for gt in self.genotypes:
            alleles = gt.replace("|", "/").split("/")
            alt = sum(a == "1" for a in alleles)
            alt_count += alt
            called += len(alleles)
            alt_reads = _DEPTH * alt // len(alleles) if alt < len(alleles) else _DEPTH
            fields.append(f"{gt}:{_DEPTH - alt_reads},{alt_reads}:{_DEPTH}:99")
        v = self.variant
        info = f"AC={alt_count};AN={called};DP={_DEPTH * len(self.genotypes)}"
        return "\t".join([v.chrom, str(v.pos), ".", v.ref, v.alt, "200", "PASS", info, "GT:AD:DP:GQ", *fields])


def place_variants(source: Path, target: Path, placements: Sequence[Placement],
                   cleared: Iterable[tuple[str, int]] = ()) -> Path:
    """Write ``source`` (a VCF, gzipped or not) to ``target`` (bgzipped, tabix-indexed) with the placements.

    Simulated records that touch a ``cleared`` position (chrom, 0-based) or a placed variant's
    reference bases are dropped: their REF was drawn from the reference before it was patched there.
    Returns the written path (``target`` must end in ``.vcf.gz``).
    """
    import pysam

    if not str(target).endswith(".vcf.gz"):
        raise InputError(f"the placed VCF is written bgzipped: name it .vcf.gz, not {target.name}")
    opener = gzip.open if str(source).endswith(".gz") else open
    with opener(source, "rt", encoding="ascii") as handle:
        lines = handle.read().splitlines()
    samples = next((line.split("\t")[9:] for line in lines if line.startswith("#CHROM")), None)
    if samples is None:
        raise InputError(f"{source} has no #CHROM header line")
    for placement in placements:
        if len(placement.genotypes) != len(samples):
            raise InputError(f"{placement.variant.name}: {len(placement.genotypes)} genotypes for "
                             f"{len(samples)} samples")
    order = {line.split("ID=")[1].split(",")[0].rstrip(">"): i for i, line in
             enumerate(x for x in lines if x.startswith("##contig"))}
    unknown = sorted({p.variant.chrom for p in placements} - set(order))
    if unknown:
        raise InputError(f"{source} declares no contig {', '.join(unknown)}")
    blocked = set(cleared) | {(p.variant.chrom, p.variant.pos - 1 + i) for p in placements
                              for i in range(len(p.variant.ref))}
    header = [line for line in lines if line.startswith("#")]
    body: list[tuple[tuple[int, int], str]] = []
    for line in lines:
        if line.startswith("#") or not line:
            continue
        chrom, pos, _, ref = line.split("\t", 4)[:4]
        start = int(pos) - 1
        if any((chrom, start + i) in blocked for i in range(len(ref))):
            continue
        body.append(((order[chrom], int(pos)), line))
    body += [((order[p.variant.chrom], p.variant.pos), p.record()) for p in placements]
    body.sort(key=lambda item: item[0])  # stable: simulated records keep their order
    plain = Path(str(target)[: -len(".gz")])
    plain.write_text("\n".join(header + [line for _, line in body]) + "\n", encoding="ascii")
    written = pysam.tabix_index(str(plain), preset="vcf", force=True, keep_original=False)
    return Path(written)
