"""Consequence annotation: agreement of our HGVS c. with published descriptions, and speed.

Figures (``run()``, printed when run as a script):

* ``hgvs_c_agreement`` — over the causal SNVs and small indels of phenopacket-store (GRCh38 VCF
  record + published ``hgvs.c``) whose published transcript is the MANE Select (accession compared
  without version), the fraction where the c. we compute from the VCF record equals the published
  one (goal ≥ 0.95). There is no GRCh38 FASTA here, so the annotator runs *without a reference*:
  3' shifting and dup detection see only the bases the VCF record states. Published strings are
  compared after removing whitespace and the deleted/duplicated bases some authors still append
  (``c.82dupG`` = ``c.82dup``), both of which HGVS treats as the same description.
* ``hgvs_c_agreement_repeat_context`` — the same cases with the repeat the published genomic HGVS
  (``hgvs.g``, itself 3'-shifted on the genome) spans added to the VCF bases: it shows how much of
  the gap above is the missing genome rather than our rules.
* ``hgvs_c_agreement_clinvar`` — ClinVar's g. → c. pairs (``clinvar/clinvar-hgvs-500.tsv``) whose c. is
  on the MANE Select transcript: our projection of the g. onto that transcript.
* ``annotation_variants_per_second`` — :meth:`Annotator.annotate_many` over 1,000,000 random
  positions of GRCh38 (95% SNVs, 5% short deletions), MANE Select, no reference.

The categories of disagreement are printed and returned under ``details`` of each figure.
"""

from __future__ import annotations

import collections
import gzip
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from genomed.annotate.alleles import trim
from genomed.annotate.annotator import Annotator, genomic_to_c
from genomed.annotate.mane import Transcript
from genomed.annotate.model import Variant
from genomed.data import data_file
from genomed.errors import GenomedError, ReferenceSequenceError

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


def run() -> dict[str, dict[str, Any]]:
    started = time.perf_counter()
    annotator = Annotator.from_mane()
    load_seconds = time.perf_counter() - started
    cases = phenopacket_cases()
    plain = phenopacket_agreement(annotator, cases)
    context = phenopacket_agreement(annotator, cases, repeat_context=True)
    clinvar = clinvar_agreement(annotator.transcripts)
    speed = throughput(annotator)
    results = {
        "hgvs_c_agreement": figure(
            plain["agreement"], "fraction", ">= 0.95",
            "published phenopacket-store hgvs.c (MANE Select accession, any version); no reference genome",
            compared=plain["compared"], version_differs=plain["version_differs"],
            not_mane_select=plain["not_mane_select"], disagreements=plain["disagreements"],
            examples=plain["examples"]),
        "hgvs_c_agreement_repeat_context": figure(
            context["agreement"], "fraction", ">= 0.95",
            "as hgvs_c_agreement, with the repeat between the VCF record and the published hgvs.g known",
            compared=context["compared"], disagreements=context["disagreements"], examples=context["examples"]),
        "hgvs_c_agreement_clinvar": figure(
            clinvar["agreement"], "fraction", ">= 0.95", "ClinVar g. -> c. pairs on MANE Select transcripts",
            compared=clinvar["compared"], version_differs=clinvar["version_differs"],
            not_mane_select=clinvar["not_mane_select"], examples=clinvar["examples"]),
        "annotation_variants_per_second": figure(
            speed["per_second"], "variants/s", ">= 50000",
            "no comparison tool installed (VEP/SnpEff need their own caches)",
            n=speed["n"], seconds=round(speed["seconds"], 2), cpu_seconds=round(speed["cpu_seconds"], 2),
            per_cpu_second=round(speed["n"] / speed["cpu_seconds"]), near_genes=speed["near_genes"],
            mane_load_seconds=round(load_seconds, 2)),
    }
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
