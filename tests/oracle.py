"""A slow, obviously correct allele counter: the test oracle for ingestion and the variant store.

It reads VCF text line by line with :mod:`gzip` and string methods only — no htslib, no numpy, no
code shared with ``genomed.ingest`` — so that an agreement between the two is evidence, not an echo.
The rules it implements are the ones the reader documents:

* records on contigs other than chr1–22, X, Y, M (any ``chr`` prefix) are skipped;
* each sequence ALT allele is its own biallelic variant; symbolic alleles (``<...>``, ``*``,
  breakends) and ``.`` get none;
* a genotype with any ``.`` allele is a no-call: it adds nothing to AN, AC or the counts;
* a called genotype adds its number of alleles (its ploidy) to AN; for each ALT, AC is the number
  of its copies, a homozygote is a diploid call with both copies that ALT, a hemizygote a haploid
  call of that ALT;
* alleles are trimmed: the shared suffix, then the shared prefix, keeping one base (no reference
  is used, so no left-alignment); contigs are named ``chr1`` … ``chrX``, ``chrM``.
"""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PRIMARY = {str(i) for i in range(1, 23)} | {"X", "Y", "M", "MT"}


@dataclass(frozen=True)
class SiteCount:
    chrom: str
    pos: int
    ref: str
    alt: str
    ac: int
    an: int
    n_hom: int
    n_hemi: int


def primary_name(chrom: str) -> str | None:
    name = chrom[3:] if chrom.startswith("chr") else chrom
    if name not in PRIMARY:
        return None
    return "chrM" if name in ("M", "MT") else "chr" + name


def is_sequence(allele: str) -> bool:
    return allele != "" and all(base in "ACGTNacgtn" for base in allele)


def trim(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def parse_genotype(text: str) -> list[int] | None:
    """Allele indices of one GT value, or None for a (partial) no-call."""
    alleles = text.replace("|", "/").split("/")
    if any(a in (".", "") for a in alleles):
        return None
    return [int(a) for a in alleles]


def lines(path: Path) -> Iterator[str]:
    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    with opener(path, "rt") as handle:
        yield from handle


def records(path: Path | str) -> Iterator[tuple[str, list[str]]]:
    """(primary contig name, tab-separated fields) of every record on a primary contig."""
    for line in lines(Path(path)):
        if line.startswith("#"):
            continue
        fields = line.rstrip("\n").split("\t")
        chrom = primary_name(fields[0])
        if chrom is not None:
            yield chrom, fields


def count_alleles(path: Path | str) -> list[SiteCount]:
    """Counts per split, trimmed record, in file order."""
    results = []
    for chrom, fields in records(path):
        pos, ref, alts = int(fields[1]), fields[3].upper(), fields[4].split(",")
        format_keys = fields[8].split(":") if len(fields) > 8 else []
        gt_index = format_keys.index("GT") if "GT" in format_keys else None
        # Identical GT strings are parsed once and weighted by how many samples carry them.
        texts: Counter[str | None] = Counter(
            (sample.split(":")[gt_index] if gt_index is not None and gt_index < len(sample.split(":")) else None)
            for sample in fields[9:])
        genotypes = [(parse_genotype(text) if text is not None else None, weight) for text, weight in texts.items()]
        an = sum(len(g) * weight for g, weight in genotypes if g is not None)
        for index, alt in enumerate(alts, start=1):
            if not is_sequence(alt):
                continue
            ac = n_hom = n_hemi = 0
            for g, weight in genotypes:
                if g is None:
                    continue
                copies = g.count(index)
                ac += copies * weight
                if len(g) == 2 and copies == 2:
                    n_hom += weight
                if len(g) == 1 and copies == 1:
                    n_hemi += weight
            t_pos, t_ref, t_alt = trim(pos, ref, alt.upper())
            results.append(SiteCount(chrom, t_pos, t_ref, t_alt, ac, an, n_hom, n_hemi))
    return results


def by_variant(counts: list[SiteCount]) -> dict[tuple[str, int, str, str], tuple[int, int, int, int]]:
    """(AC, AN, homozygotes, hemizygotes) per variant; a variant listed twice in a file is summed."""
    table: dict[tuple[str, int, str, str], tuple[int, int, int, int]] = {}
    for c in counts:
        key = (c.chrom, c.pos, c.ref, c.alt)
        ac, an, hom, hemi = table.get(key, (0, 0, 0, 0))
        table[key] = (ac + c.ac, an + c.an, hom + c.n_hom, hemi + c.n_hemi)
    return table


# ----------------------------------------------------------------------------- small VCFs with known truth

GRCH38_CONTIGS = {"chr1": 248_956_422, "chrX": 156_040_895, "chrY": 57_227_415, "chrUn_KI270302v1": 2_274}
X_NONPAR = 5_000_000       # GRCh38 chrX outside both PARs
X_PAR1 = 100_000           # GRCh38 chrX PAR1 (10,001–2,781,479)
Y_NONPAR = 3_000_000


def write_vcf(path: Path, samples: list[str], records: list[str], *, contigs: dict[str, int] | None = None,
              fileformat: str = "VCFv4.2", extra_header: tuple[str, ...] = ()) -> Path:
    """A bgzipped VCF (htslib's bgzf writer, through pysam) from record lines without the newline."""
    import pysam

    header = [f"##fileformat={fileformat}"]
    declared = GRCH38_CONTIGS if contigs is None else contigs
    header += [f"##contig=<ID={name},length={length}>" for name, length in declared.items()]
    header += [
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FILTER=<ID=LowQual,Description="Low quality">',
        '##INFO=<ID=END,Number=1,Type=Integer,Description="End of the block">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
        '##FORMAT=<ID=MIN_DP,Number=1,Type=Integer,Description="Minimum depth in a block">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allele depths">',
        *extra_header,
        "#" + "\t".join(["CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples]),
    ]
    plain = path.with_suffix("") if path.suffix == ".gz" else path.with_name(path.name + ".txt")
    plain.write_text("\n".join(header + records) + "\n")
    if path.suffix != ".gz":
        plain.replace(path)
        return path
    pysam.tabix_compress(str(plain), str(path), force=True)
    plain.unlink()
    return path


def random_cohort(path: Path, *, males: int = 6, females: int = 6, sites: int = 400, seed: int = 7,
                  missing: float = 0.03) -> Path:
    """A cohort VCF exercising what ingestion must get right, with genotypes drawn at random.

    Multi-allelic sites (up to three ALTs), indels written with extra context, symbolic and ``*``
    alleles, missing and half-missing calls, phased and unphased calls, haploid chrX (outside the
    PARs) and chrY calls in males, no-calls on chrY in females, a record on an unplaced contig,
    a monomorphic record, a filtered record, and FORMAT values sometimes absent.
    """
    import random

    rng = random.Random(seed)
    samples = [f"M{i}" for i in range(males)] + [f"F{i}" for i in range(females)]
    is_male = [True] * males + [False] * females
    records = []
    layout = ([("chr1", 1_000_000 + 37 * i) for i in range(sites)]
              + [("chrX", X_PAR1 + 53 * i) for i in range(sites // 8)]
              + [("chrX", X_NONPAR + 41 * i) for i in range(sites // 2)]
              + [("chrY", Y_NONPAR + 61 * i) for i in range(sites // 8)])
    for n, (chrom, pos) in enumerate(layout):
        ref = rng.choice("ACGT")
        n_alts = rng.choices([1, 2, 3], weights=[80, 15, 5])[0]
        alts = rng.sample([b for b in "ACGT" if b != ref], n_alts)
        if n % 17 == 0:                    # an indel spelled with one base of extra context on both sides
            ref, alts = ref + "TG", [ref + "G", ref + "TGTG"][:n_alts] if n_alts > 1 else [ref + "G"]
        if n % 29 == 0:
            alts = [*alts, rng.choice(["<DEL>", "*"])]
        frequencies = [rng.choice([0.005, 0.02, 0.1, 0.3]) for _ in alts]
        haploid_x = chrom == "chrX" and pos >= X_NONPAR
        calls = []
        for male in is_male:
            if chrom == "chrY" and not male:
                calls.append(".")
                continue
            ploidy = 1 if (male and (haploid_x or chrom == "chrY")) else 2
            alleles = []
            for _ in range(ploidy):
                allele = 0
                for index, freq in enumerate(frequencies, start=1):
                    if rng.random() < freq:
                        allele = index
                alleles.append(allele)
            if rng.random() < missing:
                gt = "/".join(["."] * ploidy)
            elif ploidy == 2 and rng.random() < missing / 3:
                gt = f"{alleles[0]}/."
            else:
                gt = rng.choice("/|").join(str(a) for a in alleles)
            depth = rng.randint(8, 60)
            ad = ",".join(str(rng.randint(0, depth)) for _ in range(len(alts) + 1))
            gq = str(rng.randint(5, 99)) if rng.random() > 0.05 else "."
            calls.append(f"{gt}:{gq}:{depth}:{ad}")
        records.append("\t".join([chrom, str(pos), ".", ref, ",".join(alts), "50",
                                  "LowQual" if n % 23 == 0 else "PASS", ".", "GT:GQ:DP:AD", *calls]))
    records.insert(5, "\t".join(["chrUn_KI270302v1", "100", ".", "A", "G", "50", "PASS", ".", "GT",
                                 *["0/1"] * len(samples)]))
    records.insert(9, "\t".join(["chr1", "1000200", ".", "C", ".", "50", "PASS", ".", "GT",
                                 *["0/0"] * len(samples)]))
    return write_vcf(path, samples, records)


def counts_from_chunks(chunks: list[object]) -> list[SiteCount]:
    """The same counts, derived from a reader's record chunks (the store's own arithmetic)."""
    import numpy as np

    from genomed.ingest.chunks import RecordChunk

    results = []
    for chunk in chunks:
        if not isinstance(chunk, RecordChunk):
            continue
        n = len(chunk)
        carried = chunk.gt_alt_count > 0
        ac = np.bincount(chunk.gt_record[carried], weights=chunk.gt_alt_count[carried], minlength=n)
        hom = np.bincount(chunk.gt_record[chunk.gt_alt_count == 2], minlength=n)
        hemi = np.bincount(chunk.gt_record[(chunk.gt_alt_count == 1) & (chunk.gt_ploidy == 1)], minlength=n)
        for i in range(n):
            results.append(SiteCount(chunk.chrom[i], int(chunk.pos[i]), chunk.ref[i], chunk.alt[i], int(ac[i]),
                                     int(chunk.an[i]), int(hom[i]), int(hemi[i])))
    return results


# ----------------------------------------------------------------------------- a simulated cohort

SIMULATED_REGIONS = (("chr2", 50_000_000, 50_300_000), ("chr7", 117_480_000, 117_670_000),
                     ("chrX", 30_000_000, 30_200_000), ("chrX", 1_000_000, 1_050_000),    # the latter in PAR1
                     ("chrY", 2_790_000, 2_890_000))                                         # outside the PARs


def simulated_cohort(root: Path) -> Path:
    """A small simulated cohort (genomed.simulate), made once per test session under ``root``.

    40 samples of both sexes over two autosomal regions, two chrX regions (one in PAR1) and one chrY, with
    missing calls, messy (unnormalised) records, two gVCFs and two trios with de novo mutations.
    """
    out = root / "simulated-cohort"
    if (out / "manifest.json").exists():
        return out
    from genomed.genome.reference import Region
    from genomed.simulate import simulate_cohort

    simulate_cohort(out, 40, regions=[Region(c, s, e) for c, s, e in SIMULATED_REGIONS], seed=4, gvcf_samples=2,
                    trios=2, messy=True, min_de_novo=2, missing_rate=0.02)
    return out


def simulated_sexes(directory: Path) -> dict[str, str]:
    rows = (directory / "samples.tsv").read_text().splitlines()[1:]
    return {row.split("\t")[0]: row.split("\t")[1] for row in rows}
