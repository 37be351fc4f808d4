"""Consequence annotation: agreement of our HGVS c. with published descriptions, and speed.

Figures (``run()``, printed when run as a script):

* ``hgvs_c_agreement`` — over the causal SNVs and small indels of phenopacket-store whose published
  transcript is the MANE Select (accession compared without version), the fraction where the c. we
  compute from the published *genomic coordinates* equals the published ``hgvs.c`` (goal ≥ 0.95). A
  phenopacket gives the change's coordinates twice: the VCF record (left-aligned) and ``hgvs.g``
  (3'-shifted on the genome). There is no GRCh38 FASTA here, so the annotator runs on the bases those
  two placements imply (:class:`RepeatContext`): for an indel in a repeat, the repeat lies between
  them, which is exactly what HGVS's 3' rule needs on a transcript of either strand. Published strings
  are compared after removing whitespace and the deleted/duplicated bases some authors still append
  (``c.82dupG`` = ``c.82dup``), both of which HGVS treats as the same description.
* ``hgvs_c_agreement_vcf_record_only`` — the same cases from the VCF record alone: 3' shifting and
  dup detection then see only the bases the record states, so an indel in a repeat longer than the
  record is placed at its left end. The gap between the two figures is the missing genome, not our rules.
* ``hgvs_c_agreement_clinvar`` — ClinVar's g. → c. pairs (``clinvar/clinvar-hgvs-500.tsv``) whose c. is
  on the MANE Select transcript: our projection of the g. onto that transcript.
* ``annotation_variants_per_second`` — :meth:`Annotator.annotate_many` over 1,000,000 random
  positions of GRCh38 (95% SNVs, 5% short deletions), MANE Select, no reference.
* ``annotation_vs_bcftools_csq`` — wall time of ours over that of ``bcftools csq`` (goal ≤ 1) on the
  same ~200,000 chr21 variants, the same Ensembl GFF3 and the same whole-chromosome synthetic FASTA
  (see :func:`csq_inputs`). Both sides include loading the gene models and exclude parsing the VCF:
  ours is ``load_gff3`` + ``Annotator(...)`` + ``annotate_many`` on already-parsed variants; theirs
  is ``bcftools csq -l`` (writing uncompressed BCF to /dev/null) minus ``bcftools view`` of the same
  file to /dev/null. The end-to-end ratio (our VCF reading with cyvcf2 included, csq whole) and the
  annotate-only ratio are under ``details``. csq uses one core and so does the figure; the same run
  with ``workers=2`` (forked workers, :meth:`Annotator.annotate_many`) is ``ratio_two_cores``, and
  the ratio of CPU seconds (less sensitive to other work on a shared machine) ``ratio_cpu``.
* ``consequence_concordance_bcftools_csq`` — over the (variant, transcript) pairs that csq annotates,
  the fraction where our most severe SO term equals csq's (its names mapped to SO, :data:`CSQ_TO_SO`);
  the confusion of the disagreements is under ``details``, with ``hgvs_p_agreement`` where csq gives an
  amino-acid change (``123R>123W``) of a kind we can write as HGVS p. (substitutions, frameshifts).

The categories of disagreement are printed and returned under ``details`` of each figure.
"""

from __future__ import annotations

import collections
import gc
import gzip
import itertools
import json
import re
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from genomed.annotate.alleles import trim
from genomed.annotate.annotator import Annotator, genomic_to_c
from genomed.annotate.consequence import RANK
from genomed.annotate.gene_models import load_gff3
from genomed.annotate.mane import Transcript
from genomed.annotate.model import Variant, VariantAnnotation
from genomed.data import data_file
from genomed.errors import GenomedError, ReferenceSequenceError
from genomed.genome.reference import ReferenceGenome

PHENOPACKETS = "phenopackets/phenopacket-store-train.jsonl.gz"
CLINVAR = "clinvar/clinvar-hgvs-500.tsv"
_BASES_AFTER = re.compile(r"(del|dup)[ACGTN]+$")
_G = re.compile(r"^g\.(?P<start>\d+)(?:_(?P<end>\d+))?(?P<rest>.*)$")
_NC = re.compile(r"^NC_0000(?P<n>\d\d)\.\d+$")


def figure(value: float, unit: str, goal: str, baseline: str, **details: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"value": round(value, 4), "unit": unit, "goal": goal, "baseline": baseline}
    if details:
        entry["details"] = details
    return entry


def normalise_published(text: str) -> str:
    """A published c. description in the form we write: no whitespace, no bases after del/dup.

    >>> normalise_published("c.1057 C>T"), normalise_published("c.82dupG"), normalise_published("c.5_6delinsAT")
    ('c.1057C>T', 'c.82dup', 'c.5_6delinsAT')
    """
    text = re.sub(r"\s+", "", text)
    return _BASES_AFTER.sub(r"\1", text) if "delins" not in text and "ins" not in text else text


@dataclass(frozen=True)
class Case:
    variant: Variant
    accession: str  # published transcript accession with version
    hgvs_c: str  # published description after the colon
    hgvs_g: str | None


def phenopacket_cases(path: Path | None = None) -> list[Case]:
    """Causal variants with a VCF record and a published hgvs.c, in file order (duplicates kept: each is a case)."""
    cases = []
    with gzip.open(path or data_file(PHENOPACKETS), "rt", encoding="utf-8") as handle:
        for line in handle:
            packet = json.loads(line)
            for interpretation in packet.get("interpretations", []):
                for gi in interpretation.get("diagnosis", {}).get("genomicInterpretations", []):
                    descriptor = gi.get("variantInterpretation", {}).get("variationDescriptor", {})
                    record = descriptor.get("vcfRecord")
                    expressions = {e["syntax"]: e["value"] for e in descriptor.get("expressions", [])}
                    if not record or "hgvs.c" not in expressions or ":" not in expressions["hgvs.c"]:
                        continue
                    accession, description = expressions["hgvs.c"].split(":", 1)
                    hgvs_g = expressions.get("hgvs.g", "").split(":", 1)[-1] or None
                    cases.append(Case(Variant(record["chrom"], int(record["pos"]), record["ref"], record["alt"]),
                                      accession, description, hgvs_g))
    return cases


class RepeatContext:
    """Reference bases implied by a VCF record and the published, 3'-shifted genomic HGVS of the same change.

    VCF records are left-aligned and HGVS g. is right-aligned: between the two, the genome must
    repeat the inserted or deleted unit, so those bases are known without a FASTA.
    """

    build = "GRCh38"

    def __init__(self, variant: Variant, hgvs_g: str | None) -> None:
        self.chrom = variant.chrom
        self.known: dict[int, str] = {variant.pos - 1 + i: base for i, base in enumerate(variant.ref.upper())}
        edit = trim(variant)
        match = _G.match(hgvs_g or "")
        if match is None or (edit.ref and edit.alt):
            return
        unit = edit.ref or edit.alt
        n = len(unit)
        first = int(match["start"])
        last = int(match["end"] or first)
        rest = match["rest"]
        if edit.ref and rest.startswith("del"):
            right = first - 1  # 0-based start of the right-most deletion
            span = range(edit.start, right + n)
        elif edit.alt and rest.startswith("dup"):
            right = last  # insertion point after the duplicated bases
            span = range(min(edit.start, right - n), right)
        elif edit.alt and rest.startswith("ins"):
            right = first  # between first and last (1-based) = before 0-based `first`
            span = range(edit.start, right)
        else:
            return
        if len(span) > 10_000 or right < edit.start:
            return
        for position in span:
            self.known[position] = unit[(position - edit.start) % n]

    def has(self, chrom: str, start: int, end: int) -> bool:
        return chrom == self.chrom and all(p in self.known for p in range(start, end))

    def fetch(self, chrom: str, start: int, end: int) -> str:
        if not self.has(chrom, start, end):
            raise ReferenceSequenceError(f"{chrom}:{start}-{end} is not implied by the record")
        return "".join(self.known[p] for p in range(start, end))


def _category(case: Case, mine: str | None) -> str:
    published = normalise_published(case.hgvs_c)
    if mine is None:
        return "not annotated (symbolic allele)"
    if len(case.variant.ref) == 1 and len(case.variant.alt) == 1:
        return "substitution (published ref base or syntax differs)"
    if "inv" in published:
        return "published as inversion"
    if "dup" in published and "ins" in mine:
        return "dup needs bases beyond the VCF record"
    if re.sub(r"[\d+\-*_]", "", published) == re.sub(r"[\d+\-*_]", "", mine):
        return "indel placed elsewhere in its repeat (3' shift)"
    return "other"


def phenopacket_agreement(annotator: Annotator, cases: list[Case], *, repeat_context: bool = False,
                          ) -> dict[str, Any]:
    """Agreement of our c. with the published c. on MANE Select cases (see the module docstring)."""
    by_accession = {t.refseq_id.split(".")[0]: t for t in annotator.transcripts if t.refseq_id}
    agree = compared = version_differs = not_mane = 0
    categories: collections.Counter[str] = collections.Counter()
    examples: dict[str, list[str]] = collections.defaultdict(list)
    for case in cases:
        transcript = by_accession.get(case.accession.split(".")[0])
        if transcript is None:
            not_mane += 1
            continue
        compared += 1
        version_differs += transcript.refseq_id != case.accession
        mine = _our_c(annotator, case, transcript, repeat_context)
        if mine is not None and mine == normalise_published(case.hgvs_c):
            agree += 1
            continue
        category = _category(case, mine)
        categories[category] += 1
        if len(examples[category]) < 3:
            examples[category].append(f"{case.variant.name} published {case.hgvs_c} ours {mine}")
    return {"agreement": agree / compared if compared else 0.0, "compared": compared, "agree": agree,
            "version_differs": version_differs, "not_mane_select": not_mane,
            "disagreements": dict(categories.most_common()), "examples": dict(examples)}


def _our_c(annotator: Annotator, case: Case, transcript: Transcript, repeat_context: bool) -> str | None:
    try:
        if repeat_context:
            context = RepeatContext(case.variant, case.hgvs_g)
            annotation = Annotator([transcript], context).annotate(case.variant)
        else:
            annotation = annotator.annotate(case.variant)
    except GenomedError:
        return None
    for effect in annotation.effects:
        if effect.transcript_id == transcript.refseq_id and effect.hgvs_c:
            return effect.hgvs_c.split(":", 1)[1]
    return None


def parse_g(text: str) -> tuple[str, str, int, int, str, str]:
    """``NC_000001.11:g.123A>G`` as (chrom, kind, start0, end0, ref, alt) for :func:`genomic_to_c`."""
    accession, _, description = text.partition(":")
    nc = _NC.match(accession)
    match = _G.match(description)
    if nc is None or match is None:
        raise ValueError(f"not a GRCh38 chromosome g. description: {text}")
    number = int(nc["n"])
    chrom = {23: "chrX", 24: "chrY"}.get(number, f"chr{number}")
    first = int(match["start"])
    last = int(match["end"] or first)
    rest = match["rest"]
    if ">" in rest:
        ref, alt = rest.split(">")
        return chrom, "sub", first - 1, first, ref, alt
    if rest.startswith("delins"):
        return chrom, "delins", first - 1, last, "", rest[6:]
    if rest.startswith("del"):
        return chrom, "del", first - 1, last, "", ""
    if rest.startswith("dup"):
        return chrom, "dup", first - 1, last, "", ""
    if rest.startswith("ins"):
        return chrom, "ins", last - 1, last - 1, "", rest[3:]
    raise ValueError(f"unsupported g. change: {text}")


def clinvar_agreement(transcripts: list[Transcript]) -> dict[str, Any]:
    by_accession = {t.refseq_id.split(".")[0]: t for t in transcripts if t.refseq_id}
    agree = compared = version_differs = not_mane = 0
    misses: list[str] = []
    for line in data_file(CLINVAR).read_text().splitlines():
        g_text, c_text = line.split("\t")[:2]
        accession, _, published = c_text.partition(":")
        transcript = by_accession.get(accession.split(".")[0])
        if transcript is None:
            not_mane += 1
            continue
        compared += 1
        version_differs += transcript.refseq_id != accession
        _chrom, kind, start, end, ref, alt = parse_g(g_text)
        mine = genomic_to_c(transcript, kind, start, end, ref, alt).split(":", 1)[1]
        if mine == normalise_published(published):
            agree += 1
        elif len(misses) < 10:
            misses.append(f"{g_text} published {c_text} ours {mine}")
    return {"agreement": agree / compared if compared else 0.0, "compared": compared, "agree": agree,
            "version_differs": version_differs, "not_mane_select": not_mane, "examples": misses}


def random_variants(n: int, seed: int = 7) -> list[Variant]:
    """``n`` random GRCh38 primary-chromosome variants, chosen in proportion to chromosome length."""
    sizes = {}
    for line in data_file("gene-models/hg38.chrom.sizes").read_text().splitlines():
        name, length = line.split()[:2]
        if re.fullmatch(r"chr([0-9]+|X|Y)", name):
            sizes[name] = int(length)
    rng = np.random.default_rng(seed)
    names = list(sizes)
    lengths = np.array([sizes[c] for c in names], dtype=np.float64)
    chroms = rng.choice(len(names), size=n, p=lengths / lengths.sum())
    positions = (rng.random(n) * lengths[chroms]).astype(np.int64) + 1
    deletion = rng.random(n) < 0.05
    out = []
    for c, p, d in zip(chroms.tolist(), positions.tolist(), deletion.tolist(), strict=True):
        out.append(Variant(names[c], p, "NNN", "N") if d else Variant(names[c], p, "N", "A"))
    return out


def throughput(annotator: Annotator, n: int = 1_000_000) -> dict[str, Any]:
    variants = random_variants(n)
    started, cpu = time.perf_counter(), time.process_time()
    annotations = annotator.annotate_many(variants)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    genic = sum(1 for a in annotations if a.effects)
    return {"per_second": n / elapsed, "seconds": elapsed, "cpu_seconds": cpu, "n": n, "near_genes": genic}


# -- head-to-head with bcftools csq ------------------------------------------------------------------

GFF3 = "gene-models/ensembl-chr21-subset.GRCh38.gff3.gz"
CHR21_LENGTH = 46_709_983  # GRCh38; the FASTA record must be the whole chromosome for bcftools csq
CSQ_CACHE = Path(__file__).resolve().parent.parent / ".bench-cache" / "annotation-csq"
_CSQ_INPUTS_VERSION = 2  # bump when the way the inputs are made changes (invalidates the cache)

# bcftools csq's consequence names (csq.c) as the SO terms we write. ``inframe_altering`` is csq's
# name for an in-frame change that is neither a pure insertion nor a pure deletion, VEP's
# protein_altering_variant; ``non_coding`` is any change within a non-coding transcript, exon or intron
# (csq reports it, and ``intron``, once per gene, and only for genes with no transcript-level answer).
CSQ_TO_SO: dict[str, str] = {
    "missense": "missense_variant", "synonymous": "synonymous_variant", "stop_gained": "stop_gained",
    "stop_lost": "stop_lost", "stop_retained": "stop_retained_variant", "start_lost": "start_lost",
    "start_retained": "start_retained_variant", "frameshift": "frameshift_variant",
    "inframe_deletion": "inframe_deletion", "inframe_insertion": "inframe_insertion",
    "inframe_altering": "protein_altering_variant", "splice_donor": "splice_donor_variant",
    "splice_acceptor": "splice_acceptor_variant", "splice_region": "splice_region_variant",
    "5_prime_utr": "5_prime_UTR_variant", "3_prime_utr": "3_prime_UTR_variant", "intron": "intron_variant",
    "non_coding": "non_coding_transcript_variant", "coding_sequence": "coding_sequence_variant",
    "feature_elongation": "feature_elongation", "intergenic": "intergenic_variant",
}
# Severity of every term either side can give: ours (VEP's order), with feature_elongation where VEP ranks it.
_SEVERITY = {**RANK, "feature_elongation": RANK["intergenic_variant"] - 0.5}
_CSQ_AA = re.compile(r"^(?P<pos>\d+)(?P<ref>[A-Z*]+)(?:>(?P<apos>\d+)(?P<alt>[A-Z*]*))?$")


@dataclass(frozen=True)
class CsqInputs:
    """The files both tools read, and the variants as we hold them (chromosome named as in the GFF3)."""

    fasta: Path
    gff3: Path
    vcf: Path
    variants: list[Variant]
    conflicts: int  # positions where two gene models demanded different bases (build_reference)


def gff3_seqids(path: Path) -> set[str]:
    """The sequence names a GFF3 uses: the FASTA and VCF must use the same, bcftools csq matches them as is."""
    seqids = set()
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line and not line.startswith("#"):
                seqids.add(line.split("\t", 1)[0])
    return seqids


def _write_vcf(path: Path, chrom: str, length: int, variants: list[Variant]) -> Path:
    """A sites-only VCF, bgzipped and tabix-indexed (pysam's htslib: no bgzip binary needed)."""
    import pysam

    plain = path.with_suffix("")  # x.vcf.gz -> x.vcf
    with open(plain, "w", encoding="ascii") as out:
        out.write(f"##fileformat=VCFv4.2\n##contig=<ID={chrom},length={length}>\n"
                  "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        out.writelines(f"{v.chrom}\t{v.pos}\t.\t{v.ref}\t{v.alt}\t.\t.\t.\n" for v in variants)
    pysam.tabix_compress(str(plain), str(path), force=True)
    pysam.tabix_index(str(path), preset="vcf", force=True)
    plain.unlink()
    return path


def csq_variants(sequence: str, chrom: str, transcripts: list[Transcript], n: int, seed: int = 11,
                 region: tuple[int, int] | None = None) -> list[Variant]:
    """About ``n`` variants on one chromosome whose REF agrees with ``sequence`` (its bases, 0-based).

    Positions: 30% in coding exons, 10% within 10 nt of an exon-intron boundary (splice sites and
    regions), 10% in any exon (UTRs, non-coding transcripts), 50% anywhere the gene models span
    (or anywhere in ``region``, 0-based half-open, which also limits the other draws to its genes).
    Kinds: 80% SNVs, 10% deletions and 10% insertions of 1-6 bases (a third of them in frame).
    One variant per position, sorted, written with the VCF anchor base.
    """
    rng = np.random.default_rng(seed)
    if region is not None:
        transcripts = [t for t in transcripts if t.start < region[1] and t.end > region[0]]
    cds = np.array([part for t in transcripts if t.coding for part in t.cds_exons()], dtype=np.int64)
    exons = np.array([part for t in transcripts for part in t.exons], dtype=np.int64)
    boundaries = np.array([b for t in transcripts for s, e in t.introns() for b in (s, e)], dtype=np.int64)
    lo, hi = region or (min(t.start for t in transcripts), max(t.end for t in transcripts))
    lo, hi = max(lo, 1), min(hi, len(sequence) - 10)

    def within(parts: npt.NDArray[np.int64], count: int) -> npt.NDArray[np.int64]:
        lengths = (parts[:, 1] - parts[:, 0]).astype(np.float64)
        chosen = parts[rng.choice(len(parts), size=count, p=lengths / lengths.sum())]
        return chosen[:, 0] + (rng.random(count) * (chosen[:, 1] - chosen[:, 0])).astype(np.int64)

    wanted, n = n, int(n * 1.2)  # draw more: positions drawn twice and overlapping deletions are dropped
    counts = [int(n * f) for f in (0.3, 0.1, 0.1)]
    positions = np.concatenate([
        within(cds, counts[0]),
        rng.choice(boundaries, size=counts[1]) + rng.integers(-10, 10, size=counts[1]),
        within(exons, counts[2]),
        rng.integers(lo, hi, size=n - sum(counts)),
    ])
    positions = np.unique(positions[(positions >= lo) & (positions < hi)])
    kinds = rng.random(len(positions))
    sizes = rng.choice([1, 1, 1, 2, 2, 3, 3, 4, 5, 6], size=len(positions))
    out = []
    for p, kind, size in zip(positions.tolist(), kinds.tolist(), sizes.tolist(), strict=True):
        base = sequence[p]
        if kind < 0.8:  # SNV at 0-based p
            alt = "ACGT"[("ACGT".index(base) + 1 + int(rng.integers(3))) % 4]
            out.append(Variant(chrom, p + 1, base, alt))
        elif kind < 0.9:  # deletion of the `size` bases after the anchor at p
            out.append(Variant(chrom, p + 1, sequence[p:p + 1 + size], base))
        else:
            inserted = "".join("ACGT"[i] for i in rng.integers(4, size=size))
            out.append(Variant(chrom, p + 1, base, base + inserted))
    # A deletion reaching the next variant would make two records overlap; keep the first.
    kept: list[Variant] = []
    for v in out:
        if not kept or v.pos > kept[-1].end:
            kept.append(v)
    if len(kept) > wanted:
        chosen = np.sort(rng.choice(len(kept), size=wanted, replace=False))
        kept = [kept[i] for i in chosen.tolist()]
    return kept


def csq_inputs(directory: Path = CSQ_CACHE, n: int = 200_000, *, seed: int = 21,
               region: tuple[int, int] | None = None) -> CsqInputs:
    """The synthetic chr21, the GFF3 and ~``n`` variants for the csq head-to-head, cached in ``directory``.

    The reference honours every Ensembl chr21 transcript (start codon, stop at the CDS end, GT-AG
    introns; :func:`genomed.simulate.sequence.build_reference`) and is written as one whole-chromosome
    record named as the GFF3 names the chromosome (``21``), which is what bcftools csq requires.
    ``region`` (0-based half-open) confines the variants to one stretch of the chromosome.
    """
    from genomed.genome.reference import Region
    from genomed.simulate.sequence import build_reference

    gff3 = data_file(GFF3)
    seqids = gff3_seqids(gff3)
    if len(seqids) != 1:
        raise GenomedError(f"{gff3}: expected one chromosome, found {sorted(seqids)}")
    (chrom,) = seqids
    transcripts = load_gff3(gff3)
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"v{_CSQ_INPUTS_VERSION}-seed{seed}"
    where = f"-{region[0]}-{region[1]}" if region else ""
    fasta, vcf = directory / f"chr21-{stem}.fa", directory / f"variants-{stem}-n{n}{where}.vcf.gz"
    if not (fasta.is_file() and Path(f"{fasta}.fai").is_file()):
        reference, problems = build_reference([Region("chr21", 0, CHR21_LENGTH)], transcripts,
                                              np.random.default_rng(seed))
        _write_whole_fasta(fasta, chrom, reference.fetch("chr21", 0, CHR21_LENGTH))
        (directory / f"chr21-{stem}.conflicts.txt").write_text("\n".join(problems) + "\n")
    conflicts = sum(1 for line in (directory / f"chr21-{stem}.conflicts.txt").read_text().splitlines() if line)
    if not (vcf.is_file() and Path(f"{vcf}.tbi").is_file()):
        import pysam

        with pysam.FastaFile(str(fasta)) as handle:
            sequence = handle.fetch(chrom).upper()
        _write_vcf(vcf, chrom, CHR21_LENGTH, csq_variants(sequence, chrom, transcripts, n, seed=seed, region=region))
    return CsqInputs(fasta, gff3, vcf, read_vcf(vcf), conflicts)


def _write_whole_fasta(path: Path, name: str, sequence: str, line_width: int = 60) -> None:
    import pysam

    with open(path, "w", encoding="ascii") as out:
        out.write(f">{name}\n")
        out.writelines(sequence[i:i + line_width] + "\n" for i in range(0, len(sequence), line_width))
    pysam.faidx(str(path))


def read_vcf(path: Path) -> list[Variant]:
    """Every biallelic record of a VCF as a :class:`Variant` (cyvcf2: htslib parsing, like bcftools)."""
    import cyvcf2

    reader = cyvcf2.VCF(str(path))
    try:
        return [Variant(r.CHROM, r.POS, r.REF, r.ALT[0]) for r in reader]
    finally:
        reader.close()


def _bcftools() -> str:
    found = shutil.which("bcftools")
    if found is None:
        raise GenomedError("bcftools is not installed (make bench-deps installs it)")
    return found


def bcftools_csq(inputs: CsqInputs, output: Path, *, output_type: str = "v") -> float:
    """Run ``bcftools csq -l`` (one record at a time, as we annotate) and return its wall time in seconds."""
    command = [_bcftools(), "csq", "-l", "-f", str(inputs.fasta), "-g", str(inputs.gff3), f"-O{output_type}",
               "-o", str(output), str(inputs.vcf)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise GenomedError(f"bcftools csq failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return elapsed


def bcftools_view_seconds(vcf: Path) -> float:
    """Wall time of ``bcftools view`` reading the VCF and writing uncompressed BCF: csq's parsing and I/O share."""
    started = time.perf_counter()
    subprocess.run([_bcftools(), "view", "-Ou", "-o", "/dev/null", str(vcf)],
                   check=True, capture_output=True)
    return time.perf_counter() - started


def parse_bcsq(path: Path) -> dict[tuple[int, str, str], dict[str, list[tuple[str, str]]]]:
    """csq's answers from its VCF output: (pos, ref, alt) -> transcript -> [(consequence, amino-acid change)].

    One BCSQ entry is ``consequence|gene|transcript|biotype|strand|aa_change|dna_change``; a
    transcript can have several entries (``splice_region`` apart from ``missense``), and a
    consequence can be compound (``stop_gained&frameshift``).
    """
    found: dict[tuple[int, str, str], dict[str, list[tuple[str, str]]]] = {}
    with open(path, encoding="ascii") as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            columns = line.rstrip("\n").split("\t", 8)
            info = columns[7]
            start = info.find("BCSQ=")
            if start < 0:
                continue
            per_transcript: dict[str, list[tuple[str, str]]] = {}
            for entry in info[start + 5:].split(";", 1)[0].split(","):
                fields = entry.split("|")
                if len(fields) < 3 or fields[0].startswith("@"):
                    continue  # "@pos": a compound consequence recorded at another position
                key = fields[2] or f"gene:{fields[1]}"  # intron, non_coding: reported per gene
                per_transcript.setdefault(key, []).append((fields[0], fields[5] if len(fields) > 5 else ""))
            found[(int(columns[1]), columns[3], columns[4])] = per_transcript
    return found


def csq_most_severe(entries: list[tuple[str, str]]) -> str:
    """The most severe SO term among csq's entries for one transcript (unknown names are kept as ``csq:name``)."""
    terms = [CSQ_TO_SO.get(name.lstrip("*"), f"csq:{name}") for consequence, _ in entries
             for name in consequence.split("&")]
    return min(terms, key=lambda term: _SEVERITY.get(term, len(_SEVERITY)))


_ONE_TO_THREE = dict(zip("ACDEFGHIKLMNPQRSTVWY*", ["Ala", "Cys", "Asp", "Glu", "Phe", "Gly", "His", "Ile", "Lys",
                                                   "Leu", "Met", "Asn", "Pro", "Gln", "Arg", "Ser", "Thr", "Val",
                                                   "Trp", "Tyr", "Ter"], strict=True))


def csq_hgvs_p(consequence: str, change: str) -> str | None:
    """The HGVS p. (predicted, in parentheses) that csq's amino-acid change states, for the kinds that
    need no protein context: synonymous, missense, stop gained and frameshift; None otherwise.

    >>> csq_hgvs_p("missense", "14L>14R"), csq_hgvs_p("synonymous", "150A"), csq_hgvs_p("stop_gained", "7Q>7*")
    ('p.(Leu14Arg)', 'p.(Ala150=)', 'p.(Gln7Ter)')
    >>> csq_hgvs_p("frameshift", "15VSVIK*>15VDPL*")
    'p.(Ser16AspfsTer4)'
    """
    match = _CSQ_AA.match(change)
    if match is None:
        return None
    position, ref, alt = int(match["pos"]), match["ref"], match["alt"]
    names = set(consequence.lstrip("*").split("&"))
    if names == {"synonymous"} and len(ref) == 1 and alt is None:
        return f"p.({_ONE_TO_THREE[ref]}{position}=)"
    if alt is None:
        return None
    if names == {"missense"} and len(ref) == len(alt) == 1:
        return f"p.({_ONE_TO_THREE[ref]}{position}{_ONE_TO_THREE[alt]})"
    if names == {"stop_gained"} and len(ref) == 1 and alt == "*":
        return f"p.({_ONE_TO_THREE[ref]}{position}Ter)"
    if "frameshift" in names:
        i = next((k for k, (a, b) in enumerate(zip(ref, alt, strict=False)) if a != b), None)
        if i is None or ref[i] == "*":
            return None
        if alt[i] == "*":
            return f"p.({_ONE_TO_THREE[ref[i]]}{position + i}Ter)"
        ter = f"Ter{alt.index('*', i) - i + 1}" if "*" in alt[i:] else "Ter?"
        return f"p.({_ONE_TO_THREE[ref[i]]}{position + i}{_ONE_TO_THREE[alt[i]]}fs{ter})"
    return None


def transcript_classes(transcripts: list[Transcript], reference: ReferenceGenome) -> dict[str, str]:
    """Each transcript (id without version) as one of :data:`CLASSES`, to tell model and reference issues apart.

    csq translates every CDS it is given, using the GFF3 phase for incomplete ones; we translate
    only complete CDSs whose length is a multiple of three (else ``coding_sequence_variant``, as VEP
    does without a protein). Where two overlapping models demand different bases, the synthetic
    reference cannot honour both (:func:`genomed.simulate.sequence.check_gene_models` lists them):
    a premature stop in the reference CDS, or a splice site other than GT-AG.
    """
    from genomed.simulate.sequence import check_gene_models

    contradicted = {problem.split()[1].split(".")[0] for problem in check_gene_models(reference, transcripts)}
    classes = {}
    for t in transcripts:
        key = t.ensembl_id.split(".")[0]
        if not t.coding:
            classes[key] = "non-coding"
        elif not t.cds_complete or t.cds_length % 3:
            classes[key] = "incomplete CDS"
        elif key in contradicted:
            classes[key] = "reference contradicts model"
        else:
            classes[key] = "complete, consistent"
    return classes


CLASSES = ("complete, consistent", "non-coding", "incomplete CDS", "reference contradicts model")
_FLANKING = frozenset({"upstream_gene_variant", "downstream_gene_variant"})
_NON_CODING = frozenset({"non_coding_transcript_exon_variant", "non_coding_transcript_variant"})


_AMINO_ACIDS = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"  # codons in TCAG order
_CODONS = {"".join(codon): aa for codon, aa in zip(itertools.product("TCAG", repeat=3), _AMINO_ACIDS, strict=True)}
_PAIRS = str.maketrans("ACGT", "TGCA")


class TranslationOracle:
    """HGVS p. of a change inside one coding exon, by translating the whole reference and changed CDS.

    Plain strings and its own codon table: slow and obviously correct, the referee where our p.
    and csq's amino-acid change disagree. Only the kinds :func:`csq_hgvs_p` writes are given.
    """

    def __init__(self, reference: ReferenceGenome, transcripts: list[Transcript]) -> None:
        self.reference = reference
        self.transcripts = {t.ensembl_id.split(".")[0]: t for t in transcripts}

    @staticmethod
    def _translate(cds: str) -> str:
        protein = "".join(_CODONS.get(cds[i:i + 3], "X") for i in range(0, len(cds) - 2, 3))
        return protein[:protein.index("*") + 1] if "*" in protein else protein

    def __call__(self, variant: Variant, transcript_id: str) -> str | None:
        t = self.transcripts.get(transcript_id)
        if t is None or not t.cds_complete or t.cds_length % 3:
            return None
        start, end = variant.pos - 1, variant.pos - 1 + len(variant.ref)
        offset = 0
        where = None
        for s, e in t.cds_exons():
            if s <= start and end <= e and (len(variant.alt) <= len(variant.ref) or end < e):
                where = offset + start - s
            offset += e - s
        if where is None:
            return None
        cds = "".join(self.reference.fetch(t.chrom, s, e) for s, e in t.cds_exons())
        changed = cds[:where] + variant.alt + cds[where + len(variant.ref):]
        if t.strand == "-":
            cds, changed = cds.translate(_PAIRS)[::-1], changed.translate(_PAIRS)[::-1]
            where = len(cds) - where - len(variant.ref)
        ref, alt = self._translate(cds), self._translate(changed)
        net = len(variant.alt) - len(variant.ref)
        i = next((k for k, (a, b) in enumerate(zip(ref, alt, strict=False)) if a != b), None)
        if i is None:
            if net or len(ref) != len(alt):
                return None
            codon = where // 3
            return f"p.({_ONE_TO_THREE[ref[codon]]}{codon + 1}=)" if codon < len(ref) - 1 else None
        if ref[i] == "*":
            return None
        if alt[i] == "*":
            return f"p.({_ONE_TO_THREE[ref[i]]}{i + 1}Ter)"
        if net == 0 and len(variant.ref) == 1:
            return f"p.({_ONE_TO_THREE[ref[i]]}{i + 1}{_ONE_TO_THREE[alt[i]]})"
        if net % 3 and "*" in alt[i:]:  # no stop in the CDS: it may lie in the 3' UTR, which this does not read
            return f"p.({_ONE_TO_THREE[ref[i]]}{i + 1}{_ONE_TO_THREE[alt[i]]}fsTer{alt.index('*', i) - i + 1})"
        return None


def csq_concordance(annotations: list[VariantAnnotation],
                    csq: dict[tuple[int, str, str], dict[str, list[tuple[str, str]]]],
                    classes: dict[str, str], oracle: TranslationOracle | None = None) -> dict[str, Any]:
    """Agreement of our most severe term per (variant, transcript) with csq's, and of HGVS p.

    Where our HGVS p. and csq's differ on a complete, consistent transcript, ``oracle`` (when
    given) decides which of the two the translated sequences support.

    ``concordance`` leaves out the transcripts whose model the synthetic reference cannot honour
    (class "reference contradicts model": a premature stop or non-GT-AG intron forced by an
    overlapping model), a defect of the input rather than of either tool; ``concordance_all_pairs``
    keeps them.

    csq names a transcript for coding consequences but reports ``intron`` and ``non_coding`` once
    per gene (empty transcript field), and only for a gene none of whose transcripts has a
    transcript-level answer; such a gene-level answer agrees when one of our effects on a transcript
    of that gene has the same most severe term (for ``non_coding``: any effect on a non-coding
    transcript, exon or intron). Our effects that csq does not report by design (other transcripts
    of a gene it answered once; splice terms on non-coding transcripts) are counted under
    ``transcripts_only_ours``. csq says nothing up- or downstream of genes: our flanking effects are
    not compared.
    """
    pairs = agree = variants_compared = variants_all_agree = gene_pairs = gene_agree = 0
    confusion: collections.Counter[tuple[str, str, str]] = collections.Counter()
    examples: dict[str, list[str]] = collections.defaultdict(list)
    only_csq: collections.Counter[str] = collections.Counter()
    only_ours: collections.Counter[str] = collections.Counter()
    p_compared = p_agree = 0
    p_by_class: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    p_examples: dict[str, list[str]] = collections.defaultdict(list)
    by_class: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    by_term: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    kind_misses: dict[str, collections.Counter[str]] = {"consequence": collections.Counter(),
                                                        "hgvs_p": collections.Counter()}
    referee: collections.Counter[str] = collections.Counter()
    for annotation in annotations:
        v = annotation.variant
        variant_kind = "SNV" if len(v.ref) == len(v.alt) else ("deletion" if len(v.ref) > len(v.alt) else "insertion")
        theirs = csq.get((v.pos, v.ref, v.alt), {})
        ours = {e.transcript_id.split(".")[0]: e for e in annotation.effects if e.most_severe not in _FLANKING}
        named = {key for key in theirs if not key.startswith("gene:")}
        all_agree = True
        for transcript, entries in theirs.items():
            their_term = csq_most_severe(entries)
            if transcript.startswith("gene:"):
                gene = transcript[5:]
                candidates = [e for tid, e in ours.items() if e.gene_symbol == gene and tid not in named]
                gene_pairs += 1
                if any(e.most_severe == their_term or (their_term == "non_coding_transcript_variant" and set(
                        e.consequences) & _NON_CODING) for e in candidates):
                    gene_agree += 1
                else:
                    all_agree = False
                    key = f"gene-level csq {their_term} / ours {candidates[0].most_severe if candidates else 'none'}"
                    confusion[("gene-level", their_term, candidates[0].most_severe if candidates else "none")] += 1
                    if len(examples[key]) < 3:
                        examples[key].append(f"{v.name} {gene} ours "
                                             + "; ".join(f"{e.transcript_id} {e.most_severe}" for e in candidates))
                continue
            mine = ours.get(transcript)
            if mine is None:
                only_csq[their_term] += 1
                all_agree = False
                continue
            kind = classes.get(transcript, "unknown")
            pairs += 1
            by_class[kind][1] += 1
            by_term[their_term][1] += 1
            if mine.most_severe == their_term:
                agree += 1
                by_class[kind][0] += 1
                by_term[their_term][0] += 1
            else:
                all_agree = False
                confusion[(kind, their_term, mine.most_severe)] += 1
                if kind == CLASSES[0]:
                    kind_misses["consequence"][variant_kind] += 1
                key = f"{kind}: csq {their_term} / ours {mine.most_severe}"
                if len(examples[key]) < 3:
                    examples[key].append(f"{v.name} {transcript} csq {'+'.join(c for c, _ in entries)} "
                                         f"ours {','.join(mine.consequences)} {mine.hgvs_c} {mine.hgvs_p}")
            for consequence, change in entries:
                expected = csq_hgvs_p(consequence, change)
                if expected is None:
                    continue
                p_compared += 1
                p_by_class[kind][1] += 1
                ours_p = mine.hgvs_p.split(":", 1)[-1] if mine.hgvs_p else None
                if ours_p == expected:
                    p_agree += 1
                    p_by_class[kind][0] += 1
                elif kind == CLASSES[0]:
                    kind_misses["hgvs_p"][variant_kind] += 1
                    truth = oracle(v, transcript) if oracle is not None else None
                    verdict = f"{variant_kind}: " + ("ours right" if truth == ours_p else "csq right"
                                                     if truth == expected else "undecided")
                    referee[verdict] += 1
                    if len(p_examples[verdict]) < 4:
                        p_examples[verdict].append(f"{v.name} {transcript} csq {consequence} {change[:40]} = "
                                                   f"{expected}, ours {ours_p}, translation {truth}")
        for transcript, effect in ours.items():
            gene_level = f"gene:{effect.gene_symbol}" in theirs
            if transcript not in theirs and not gene_level:
                only_ours[effect.most_severe] += 1
        if theirs:
            variants_compared += 1
            variants_all_agree += all_agree
    top = {f"{kind}: csq {a} / ours {b}": count for (kind, a, b), count in confusion.most_common(20)}
    clean = by_class.get(CLASSES[0], [0, 0])
    artefact = by_class.get(CLASSES[3], [0, 0])
    honoured = pairs - artefact[1]
    return {
        "concordance": (agree - artefact[0]) / honoured if honoured else 0.0, "pairs": honoured,
        "agree": agree - artefact[0], "concordance_all_pairs": agree / pairs if pairs else 0.0, "all_pairs": pairs,
        "concordance_complete_consistent": clean[0] / clean[1] if clean[1] else 0.0,
        "complete_consistent_disagreements_by_variant_kind": dict(kind_misses["consequence"]),
        "per_transcript_class": {k: f"{a}/{b} = {a / b:.4f}" for k, (a, b) in by_class.items()},
        "gene_level_concordance": gene_agree / gene_pairs if gene_pairs else 0.0, "gene_level_pairs": gene_pairs,
        "variants_compared": variants_compared,
        "variant_concordance": variants_all_agree / variants_compared if variants_compared else 0.0,
        "transcripts_only_csq": dict(only_csq.most_common()), "transcripts_only_ours": dict(only_ours.most_common()),
        "per_csq_term": {term: f"{a}/{b}" for term, (a, b) in sorted(by_term.items(), key=lambda kv: -kv[1][1])},
        "confusion": top, "examples": {k: examples[k] for k in top if k in examples},
        "hgvs_p_agreement": p_agree / p_compared if p_compared else 0.0, "hgvs_p_compared": p_compared,
        "hgvs_p_per_transcript_class": {k: f"{a}/{b} = {a / b:.4f}" for k, (a, b) in p_by_class.items()},
        "hgvs_p_complete_consistent_disagreements_by_variant_kind": dict(kind_misses["hgvs_p"]),
        "hgvs_p_disagreements_refereed": dict(referee.most_common()),
        "hgvs_p_examples": dict(p_examples),
    }


def csq_head_to_head(n: int = 200_000, directory: Path = CSQ_CACHE, *, repeats: int = 3,
                     region: tuple[int, int] | None = None) -> dict[str, Any]:
    """Speed and agreement of ours against bcftools csq on the same inputs (see the module docstring).

    Each side takes the best of ``repeats`` runs (a few seconds each; the machine is shared and
    other work slows single runs unevenly): csq and ``bcftools view``, ours on one core and on two.
    """
    from genomed.genome.reference import open_reference

    inputs = csq_inputs(directory, n, region=region)
    csq_vcf = directory / f"{inputs.vcf.name.removesuffix('.vcf.gz')}.csq.vcf"
    bcftools_csq(inputs, csq_vcf)  # the answers; also warms the page cache for the timed runs
    csq_runs = [_with_child_cpu(bcftools_csq, inputs, Path("/dev/null"), output_type="u") for _ in range(repeats)]
    view_runs = [_with_child_cpu(bcftools_view_seconds, inputs.vcf) for _ in range(repeats)]
    csq_seconds, view_seconds = min(w for w, _ in csq_runs), min(w for w, _ in view_runs)
    csq_cpu = max(min(c for _, c in csq_runs) - min(c for _, c in view_runs), 1e-6)
    started = time.perf_counter()
    variants = read_vcf(inputs.vcf)
    read_seconds = time.perf_counter() - started
    annotator, annotations, load_seconds, annotate_seconds, ours_cpu = min(
        (_ours(inputs, variants) for _ in range(repeats)), key=lambda run: run[2] + run[3])
    ours = load_seconds + annotate_seconds
    theirs = max(csq_seconds - view_seconds, 1e-6)
    # csq uses one core, and so does the headline figure; two cores (forked workers) are reported beside it.
    two_cores = min(sum(_ours(inputs, variants, workers=2)[2:4]) for _ in range(repeats))
    reference = open_reference(inputs.fasta, "GRCh38")
    classes = transcript_classes(annotator.transcripts, reference)
    agreement = csq_concordance(annotations, parse_bcsq(csq_vcf), classes,
                                TranslationOracle(reference, annotator.transcripts))
    near = sum(1 for a in annotations if a.effects)
    return {
        "ratio": ours / theirs, "n": len(variants), "near_genes": near,
        "effects": sum(len(a.effects) for a in annotations), "ours_seconds": ours,
        "ours_load_seconds": load_seconds, "ours_annotate_seconds": annotate_seconds,
        "ours_read_vcf_seconds": read_seconds, "csq_seconds": csq_seconds, "view_seconds": view_seconds,
        "ours_variants_per_second": len(variants) / ours, "csq_variants_per_second": len(variants) / theirs,
        "ratio_end_to_end": (ours + read_seconds) / csq_seconds, "ratio_annotate_only": annotate_seconds / theirs,
        "ours_two_cores_seconds": two_cores, "ratio_two_cores": two_cores / theirs,
        "ours_cpu_seconds": ours_cpu, "csq_cpu_seconds": csq_cpu, "ratio_cpu": ours_cpu / csq_cpu,
        "bcftools": _bcftools_version(), "reference_conflicts": inputs.conflicts,
        "transcript_classes": dict(collections.Counter(classes.values())), **agreement,
    }


def _with_child_cpu(run: Any, *args: Any, **kwargs: Any) -> tuple[float, float]:
    """The wall seconds ``run`` returns, and the CPU seconds (user + system) the processes it waited for used."""

    def children() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    before = children()
    wall = float(run(*args, **kwargs))
    return wall, children() - before


def _ours(inputs: CsqInputs, variants: list[Variant], *, workers: int = 1,
          ) -> tuple[Annotator, list[VariantAnnotation], float, float, float]:
    """One timed run of ours: the annotator, its annotations, seconds loading gene models, seconds annotating,
    and the CPU seconds of both (this process only).

    The objects earlier runs left (a million effects) are frozen out of the garbage collector's
    sight first: in a process of its own, as a node runs it, this run would not walk them.
    """
    from genomed.genome.reference import open_reference

    gc.collect()
    gc.freeze()
    try:
        started, cpu = time.perf_counter(), time.process_time()
        annotator = Annotator(load_gff3(inputs.gff3), open_reference(inputs.fasta, "GRCh38"))
        loaded = time.perf_counter()
        annotations = annotator.annotate_many(variants, workers=workers)
        return (annotator, annotations, loaded - started, time.perf_counter() - loaded,
                time.process_time() - cpu)
    finally:
        gc.unfreeze()


def _bcftools_version() -> str:
    done = subprocess.run([_bcftools(), "--version"], capture_output=True, text=True, check=True)
    return done.stdout.splitlines()[0]


def run() -> dict[str, dict[str, Any]]:
    started = time.perf_counter()
    annotator = Annotator.from_mane()
    load_seconds = time.perf_counter() - started
    cases = phenopacket_cases()
    plain = phenopacket_agreement(annotator, cases)
    context = phenopacket_agreement(annotator, cases, repeat_context=True)
    clinvar = clinvar_agreement(annotator.transcripts)
    speed = throughput(annotator)
    csq = csq_head_to_head() if shutil.which("bcftools") else None
    results = {
        "hgvs_c_agreement": figure(
            context["agreement"], "fraction", ">= 0.95",
            "published phenopacket-store hgvs.c (MANE Select accession, any version), ours from the published "
            "genomic coordinates (VCF record + hgvs.g); no reference genome",
            compared=context["compared"], version_differs=context["version_differs"],
            not_mane_select=context["not_mane_select"], disagreements=context["disagreements"],
            examples=context["examples"]),
        "hgvs_c_agreement_vcf_record_only": figure(
            plain["agreement"], "fraction", ">= 0.95",
            "as hgvs_c_agreement, from the VCF record alone (indels in repeats cannot be 3'-shifted without a genome)",
            compared=plain["compared"], disagreements=plain["disagreements"], examples=plain["examples"]),
        "hgvs_c_agreement_clinvar": figure(
            clinvar["agreement"], "fraction", ">= 0.95", "ClinVar g. -> c. pairs on MANE Select transcripts",
            compared=clinvar["compared"], version_differs=clinvar["version_differs"],
            not_mane_select=clinvar["not_mane_select"], examples=clinvar["examples"]),
        "annotation_variants_per_second": figure(
            speed["per_second"], "variants/s", ">= 50000",
            "none on this input (MANE, no reference); see annotation_vs_bcftools_csq for bcftools csq",
            n=speed["n"], seconds=round(speed["seconds"], 2), cpu_seconds=round(speed["cpu_seconds"], 2),
            per_cpu_second=round(speed["n"] / speed["cpu_seconds"]), near_genes=speed["near_genes"],
            mane_load_seconds=round(load_seconds, 2)),
    }
    if csq is None:
        print("bcftools not installed (make bench-deps): no bcftools csq comparison", file=sys.stderr)
        return results
    timing = ("n", "near_genes", "effects", "ours_seconds", "ours_load_seconds", "ours_annotate_seconds",
              "ours_read_vcf_seconds", "csq_seconds", "view_seconds", "ours_variants_per_second",
              "csq_variants_per_second", "ratio_end_to_end", "ratio_annotate_only", "ours_two_cores_seconds",
              "ratio_two_cores", "ours_cpu_seconds", "csq_cpu_seconds", "ratio_cpu", "bcftools")
    results["annotation_vs_bcftools_csq"] = figure(
        csq["ratio"], "ratio", "<= 1",
        f"{csq['bcftools']} csq -l, same FASTA/GFF3/VCF; both load gene models, neither parse counted "
        "(ours load_gff3 + Annotator + annotate_many; csq minus bcftools view)",
        **{k: round(v, 3) if isinstance(v, float) else v for k, v in csq.items() if k in timing})
    results["consequence_concordance_bcftools_csq"] = figure(
        csq["concordance"], "fraction", ">= 0.95",
        f"{csq['bcftools']} csq most severe term per (variant, transcript), csq names mapped to SO; transcripts "
        "the synthetic reference contradicts left out (concordance_all_pairs keeps them)",
        **{k: round(v, 4) if isinstance(v, float) else v for k, v in csq.items()
           if k not in timing and k not in ("ratio", "concordance")})
    return results


def main() -> int:
    results = run()
    for name, entry in results.items():
        print(f"{name:<36} {entry['value']:>12.4g} {entry['unit']:<10} goal {entry['goal']}")
        for key, value in entry.get("details", {}).items():
            print(f"    {key}: {json.dumps(value) if isinstance(value, dict | list) else value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
