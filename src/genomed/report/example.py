"""A complete, realistic report content: for the demo, the documentation and the golden-file tests.

The case is a published one (phenopacket-store ``PMID_15028761_Patient``, BSD-3; Kamiya et al. 2004,
PMID:15028761): a de novo SCN2A nonsense variant, NM_001040142.2:c.304C>T p.(Arg102Ter), in a woman
with intractable epilepsy and severe intellectual disability, with the observed and excluded HPO
terms and the GRCh38 position as curated there. Node, people, samples, QC figures and dates are
invented. Everything is fixed so that renderings of it are byte-for-byte reproducible.
"""

from __future__ import annotations

from datetime import UTC, datetime

from genomed.report.content import (
    AcmgClass,
    Conclusion,
    Indication,
    Laboratory,
    Method,
    Outcome,
    QCMetric,
    QCStatus,
    ReportContent,
    ReportedVariant,
    ReportStatus,
    Sample,
    SampleQC,
    SecondaryFindings,
    Sex,
    Term,
    Zygosity,
)

SCN2A_VARIANT = ReportedVariant(
    gene_symbol="SCN2A", gene_id="HGNC:10588", transcript="NM_001040142.2",
    hgvs_c="c.304C>T", hgvs_p="p.(Arg102Ter)",
    chrom="chr2", pos=165297053, ref="C", alt="T",
    zygosity=Zygosity.HETEROZYGOUS, inheritance="de novo (absent from both parents; parentage confirmed)",
    acmg_class=AcmgClass.PATHOGENIC, acmg_criteria=("PVS1", "PS2", "PM2_Supporting"),
    evidence_summary="Nonsense variant predicted to cause loss of function in a gene where haploinsufficiency "
                     "causes epileptic encephalopathy; confirmed de novo; absent from gnomAD.",
    disease=Term("OMIM:613721", "Developmental and epileptic encephalopathy 11"),
    sample_id="S-0001",
)


def example_content(*, signed: bool = True) -> ReportContent:
    """The example report, signed (version 2, superseding version 1) or as its draft."""
    drafted_at = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
    return ReportContent(
        lab=Laboratory(name="Laboratoire de génomique médicale — Centre A", country="FR", node="genomed-fr-1"),
        case_reference="CASE-2025-0042",
        patient_pseudonym="PSN-7F3K-Q9ZD",
        sex=Sex.FEMALE,
        indication=Indication(code="R59", title="Early onset or syndromic epilepsy"),
        prescriber="Dr Claire Martin, paediatric neurology",
        samples=(
            Sample("S-0001", "blood EDTA, genomic DNA", "proband"),
            Sample("S-0002", "blood EDTA, genomic DNA", "mother"),
            Sample("S-0003", "blood EDTA, genomic DNA", "father"),
        ),
        method=Method(
            test_type="Trio whole-genome sequencing (PCR-free, 2×150 bp)",
            genome_build="GRCh38",
            pipeline_version="genomed 0.1.0",
            filters=("PASS calls with GQ ≥ 20 and DP ≥ 10", "gnomAD popmax AF < 0.1%",
                     "MANE Select and Plus Clinical transcripts", "R59 epilepsy panel (PanelApp v4.2) first"),
        ),
        qc=(
            SampleQC("S-0001", QCStatus.PASS, (QCMetric("mean coverage", 38.4, "x"),
                                               QCMetric("bases ≥ 20x", 96.1, "%"),
                                               QCMetric("Ti/Tv", 2.07), QCMetric("sex check", "consistent"))),
            SampleQC("S-0002", QCStatus.PASS, (QCMetric("mean coverage", 35.9, "x"),
                                               QCMetric("bases ≥ 20x", 95.4, "%"),
                                               QCMetric("Ti/Tv", 2.06), QCMetric("sex check", "consistent"))),
            SampleQC("S-0003", QCStatus.WARN, (QCMetric("mean coverage", 27.2, "x"),
                                               QCMetric("bases ≥ 20x", 88.7, "%"),
                                               QCMetric("Ti/Tv", 2.05), QCMetric("sex check", "consistent")),
                     comment="coverage below the 30x target; de novo calls at the reported site checked by hand"),
        ),
        observed_phenotypes=(
            Term("HP:0001250", "Seizure"),
            Term("HP:0010864", "Severe intellectual disability"),
            Term("HP:0011344", "Severe global developmental delay"),
            Term("HP:0002283", "Global brain atrophy"),
        ),
        excluded_phenotypes=(
            Term("HP:0031826", "Abnormal reflex"),
            Term("HP:0003470", "Paralysis"),
            Term("HP:0003808", "Abnormal muscle tone"),
        ),
        variants=(SCN2A_VARIANT,),
        secondary_findings=SecondaryFindings(sought=False),
        conclusion=Conclusion(
            outcome=Outcome.SOLVED,
            text="A de novo heterozygous pathogenic nonsense variant in SCN2A explains the patient's epileptic "
                 "encephalopathy with severe intellectual disability. The recurrence risk for the parents is low "
                 "(below 1%, gonadal mosaicism). Genetic counselling is recommended.",
        ),
        limitations=("Coverage of the father's sample (S-0003) was below target; the de novo status of the "
                     "reported variant was confirmed by inspection of the reads of all three samples.",),
        provenance={"pipeline": "genomed 0.1.0", "hpo": "2025-11-24", "omim": "2025-03-01", "hgnc": "2025-03-04",
                    "clinvar": "2025-03-02", "gnomad": "4.1", "mane": "1.4", "panelapp": "R59 v4.2"},
        version=2,
        supersedes=1,
        status=ReportStatus.SIGNED if signed else ReportStatus.DRAFT,
        drafted_by="Dr Alice Durand (clinical scientist)",
        drafted_at=drafted_at,
        signed_by="Dr Bernard Leroy (clinical geneticist)" if signed else None,
        signed_at=datetime(2025, 3, 15, 16, 5, tzinfo=UTC) if signed else None,
    )
