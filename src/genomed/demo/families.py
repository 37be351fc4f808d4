"""Demo families built from published cases: a real phenotype and a real causal variant in a simulated trio.

A demonstration of the rare-disease pathway is only convincing if the answer was not made up for it.
Each demo family is one solved case of phenopacket-store (chosen by its fixed id): the child's HPO
terms, observed and excluded, are the published ones, and the published causal variant(s) are put
into a simulated trio with the genotypes the mode of inheritance implies. Everything else in the
three genomes (thousands of variants over the causal gene and ~150 other MANE genes) comes from the
population-genetic simulation, and the synthetic reference is patched only where the published
variant needs its reference bases and codon, so the annotator finds the published consequence
itself. Nothing tells the interpretation which gene is the answer.

Knowledge is the node's shipped reference data: the ClinVar subset, the gnomAD v4.0 exome rows and
the PanelApp sample panels. The ClinVar subset has ten records, so it cannot say for any of the demo
genes whether loss of function causes disease (PVS1 needs that); the demo adds, clearly labelled,
the causal variants that *other* published cases of phenopacket-store report in the same genes, as
the full ClinVar release would. The demo case's own variant is left out, so its classification
rests on the case's evidence and not on a record of itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from genomed.annotate.clinvar import ClinVar
from genomed.annotate.mane import Transcript, load_mane
from genomed.annotate.population import GnomadSites
from genomed.data import data_file
from genomed.errors import InputError, StateError
from genomed.interpret.evaluation.published import CausalVariant, PublishedCase, load_cases
from genomed.interpret.evaluation.spike import patches_for
from genomed.interpret.panels import PanelLibrary, load_panelapp
from genomed.simulate import SimulationManifest, simulate_cohort
from genomed.simulate.placement import (
    Pattern,
    Placement,
    patch_fasta,
    place_variants,
    seed_for_child_sexes,
    trio_genotypes,
)

CASES_FILE = "phenopackets/phenopacket-store-train.jsonl.gz"
CLINVAR_FILE = "clinvar/clinvar-subset.GRCh38.jsonl"
GNOMAD_FILE = "population/gnomad-fixtures/gnomad-exomes-grch38-v4.0.vcf"
PANELS_FILE = "panels/panelapp-panels-sample.jsonl"
OTHER_GENES = 150
GENE_SEED = 2026
SIMULATION_SEED = 2026
_SINGLE_SUBMITTER = "AGGREGATE_GERMLINE_REVIEW_STATUS_CRITERIA_PROVIDED_SINGLE_SUBMITTER"


@dataclass(frozen=True)
class DemoCase:
    """One published case the demo carries, and how the demo's clinic prescribes for it."""

    case_id: str
    inheritance: str           # what the demo shows: "de novo dominant", "autosomal recessive", "X-linked"
    indication: str            # code in the demo indications catalogue
    prior_tests: tuple[str, ...]
    birth_date: str            # synthetic
    patterns: tuple[Pattern, ...]  # how each causal variant (in published order) is carried by the trio


DEMO_CASES: tuple[DemoCase, ...] = (
    # White-Sutton syndrome (POGZ), a girl with a heterozygous stop-gain: placed de novo.
    DemoCase("PMID_35052493_individual_W01", "de novo dominant", "RD-ID",
             ("Chromosomal microarray", "FMR1 repeat analysis"), "2016-04-11", (Pattern.DE_NOVO,)),
    # Jaberi-Elahi syndrome (GTPBP2), a girl with two stop-gains: one from each parent (compound heterozygous).
    DemoCase("PMID_30790272_Family_1_Patient_1", "autosomal recessive", "RD-ID",
             ("Chromosomal microarray", "FMR1 repeat analysis"), "2014-09-02", (Pattern.PATERNAL, Pattern.MATERNAL)),
    # Aarskog-Scott syndrome (FGD1), a boy with a stop-gain: hemizygous, from his carrier mother.
    DemoCase("PMID_26029706_Patient_1", "X-linked", "RD-MCA", ("Chromosomal microarray",), "2019-01-23",
             (Pattern.HEMIZYGOUS,)),
)


@dataclass(frozen=True)
class PlacedVariant:
    """A published causal variant as the demo placed it in the trio."""

    causal: CausalVariant
    pattern: Pattern
    genotypes: tuple[str, str, str]  # child, father, mother


@dataclass(frozen=True)
class DemoFamily:
    """One demo family ready for the clinic: the published case, its trio and the trio's VCF."""

    demo: DemoCase
    case: PublishedCase
    family_id: str
    child: str
    father: str
    mother: str
    child_sex: str
    vcf: Path
    placed: tuple[PlacedVariant, ...]

    @property
    def gene(self) -> str:
        """The published causal gene."""
        return self.placed[0].causal.gene


@dataclass(frozen=True)
class DemoFamilies:
    """Every demo family of one simulation, on one patched reference, with the knowledge files to use."""

    families: tuple[DemoFamily, ...]
    reference: Path
    clinvar: Path
    clinvar_added: int
    manifest: SimulationManifest


def published_cases(wanted: Sequence[str]) -> dict[str, PublishedCase]:
    """The named cases of the phenopacket-store file, by id; a missing one is an error, not a skip."""
    cases, _ = load_cases(data_file(CASES_FILE))
    found = {c.case_id: c for c in cases if c.case_id in set(wanted)}
    missing = [w for w in wanted if w not in found]
    if missing:
        raise InputError(f"not evaluable cases of {CASES_FILE}: {', '.join(missing)}")
    return found


def _mane_select() -> dict[str, Transcript]:
    return {t.gene_symbol: t for t in load_mane() if t.mane_status == "MANE Select"}


def simulated_genes(causal: Sequence[str], others: int = OTHER_GENES, seed: int = GENE_SEED) -> list[str]:
    """The causal genes, then ``others`` MANE Select genes drawn at random (no chrY/chrM), sorted."""
    pool = sorted({g for g, t in _mane_select().items() if t.chrom not in ("chrY", "chrM")} - set(causal))
    drawn = np.random.default_rng(seed).choice(len(pool), others, replace=False)
    return list(causal) + sorted(pool[i] for i in drawn.tolist())


def _clinvar_name(variant: CausalVariant) -> str | None:
    """A ClinVar-style variation name, ``NM_…(GENE):c.… (p.…)``, from a published variant's HGVS."""
    if not variant.hgvs_c or ":" not in variant.hgvs_c:
        return None
    transcript, change = variant.hgvs_c.split(":", 1)
    name = f"{transcript}({variant.gene}):{change}"
    if variant.hgvs_p:
        protein = variant.hgvs_p.split(":")[-1].replace("(", "").replace(")", "")
        name += f" ({protein})"
    return name


def write_clinvar(target: Path, genes: Sequence[str], leave_out: Sequence[PublishedCase]) -> int:
    """The ClinVar subset plus, per demo gene, the causal variants other published cases report there.

    Each added record says where it comes from (accession ``phenopacket-store:<case id>``), carries
    one star (a single submitter: the publication) and the published disease. The demo cases' own
    variants are left out. Returns how many records were added.
    """
    cases, _ = load_cases(data_file(CASES_FILE))
    excluded_ids = {c.case_id for c in leave_out}
    excluded_variants = {v.variant for c in leave_out for v in c.causal}
    wanted = set(genes)
    lines = data_file(CLINVAR_FILE).read_text(encoding="utf-8").splitlines()
    seen = set()
    for case in cases:
        if case.case_id in excluded_ids:
            continue
        for causal in case.causal:
            name = _clinvar_name(causal)
            if causal.gene not in wanted or causal.variant in excluded_variants or causal.variant in seen \
                    or name is None:
                continue
            seen.add(causal.variant)
            v = causal.variant
            lines.append(json.dumps({
                "accession": {"accession": f"phenopacket-store:{case.case_id}", "version": 1}, "name": name,
                "classifications": {"germlineClassification": {
                    "reviewStatus": _SINGLE_SUBMITTER, "description": "Pathogenic",
                    "conditions": [{"traits": [{"names": [{"value": case.disease_label or "not provided",
                                                           "type": "Preferred"}]}]}]}},
                "sequenceLocation": {"assembly": "GRCh38", "chr": v.chrom.removeprefix("chr"), "positionVcf": v.pos,
                                     "referenceAlleleVcf": v.ref, "alternateAlleleVcf": v.alt}}))
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(seen)


def _check(demo: DemoCase, case: PublishedCase) -> None:
    if len(demo.patterns) != len(case.causal):
        raise StateError(f"{demo.case_id}: {len(case.causal)} causal variants published, "
                         f"{len(demo.patterns)} placements planned")
    if any(p is Pattern.HEMIZYGOUS for p in demo.patterns) and case.sex != "male":
        raise StateError(f"{demo.case_id}: a hemizygous placement needs a boy; the case is {case.sex}")


def prepare_families(out: Path, count: int = len(DEMO_CASES), *, others: int = OTHER_GENES) -> DemoFamilies:
    """Simulate the trios of the first ``count`` demo cases and place each published variant in its family.

    One simulation holds all the trios (the same ~150 background genes sequenced in every family, as
    one laboratory's exome would), on one synthetic reference patched for every placed variant.
    """
    if not 1 <= count <= len(DEMO_CASES):
        raise InputError(f"the demo has 1 to {len(DEMO_CASES)} families, not {count}")
    chosen = DEMO_CASES[:count]
    cases = published_cases([d.case_id for d in chosen])
    mane = _mane_select()
    causal_genes = list(dict.fromkeys(v.gene for d in chosen for v in cases[d.case_id].causal))
    absent = [g for g in causal_genes if g not in mane]
    if absent:
        raise StateError(f"causal genes without a MANE Select transcript: {', '.join(absent)}")
    sexes = []
    for demo in chosen:
        _check(demo, cases[demo.case_id])
        sexes.append(cases[demo.case_id].sex if cases[demo.case_id].sex in ("male", "female") else "female")
    seed = seed_for_child_sexes(sexes, SIMULATION_SEED)
    out.mkdir(parents=True, exist_ok=True)
    manifest = simulate_cohort(out / "simulation", 0, genes=simulated_genes(causal_genes, others), trios=count,
                               mode="exons", seed=seed, min_de_novo=1)
    patches: dict[tuple[str, int], str] = {}
    for demo in chosen:
        for causal in cases[demo.case_id].causal:
            patches.update(patches_for(causal.variant, causal.hgvs_p, [mane[causal.gene]]))
    reference = patch_fasta(manifest.path("reference"), out / "reference.fa", patches)
    families = []
    for demo, trio in zip(chosen, manifest.trios, strict=True):
        case = cases[demo.case_id]
        if trio["child_sex"] != (case.sex if case.sex in ("male", "female") else "female"):
            raise StateError(f"simulated child of {trio['family_id']} is {trio['child_sex']}, "
                             f"the published case {case.sex}")
        placed = tuple(PlacedVariant(c, p, trio_genotypes(p, trio["child_sex"]))
                       for c, p in zip(case.causal, demo.patterns, strict=True))
        vcf = place_variants(manifest.path(f"trio:{trio['family_id']}"), out / f"{trio['family_id']}.vcf.gz",
                             [Placement(p.causal.variant, p.genotypes) for p in placed], cleared=patches)
        families.append(DemoFamily(demo, case, trio["family_id"], trio["child"], trio["father"], trio["mother"],
                                   trio["child_sex"], vcf, placed))
    clinvar = out / "clinvar-demo.jsonl"
    added = write_clinvar(clinvar, causal_genes, [cases[d.case_id] for d in chosen])
    return DemoFamilies(tuple(families), reference, clinvar, added, manifest)


def knowledge(families: DemoFamilies) -> dict[str, Any]:
    """The knowledge sources for :func:`genomed.interpret.service.interpret_case` (keyword arguments)."""
    return {"clinvar": ClinVar.load(families.clinvar,
                                    version=f"subset + {families.clinvar_added} phenopacket-store stand-ins"),
            "gnomad": GnomadSites(data_file(GNOMAD_FILE)),
            "panel_library": PanelLibrary([*load_panelapp(data_file(PANELS_FILE))])}
