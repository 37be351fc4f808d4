"""gnomAD sites loader on the real v2.1 / v3.1 / v4.0 fixture rows, and the cohort as a population resource.

Expected numbers are the files' own INFO values; an independent oracle (htslib via pysam's
VariantFile, typed by the header) checks every row of every fixture.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pysam
import pytest

from genomed.access.purpose import Purpose
from genomed.annotate.model import PopulationFrequency, Variant
from genomed.annotate.population import CohortFrequencies, FrequencySource, GnomadSites
from genomed.catalog import consents, patients, prescriptions, samples
from genomed.context import NodeContext
from genomed.errors import InputError, TruncatedFileError, WrongBuildError
from genomed.store.writer import BatchWriter

FIXTURES = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "population" / "gnomad-fixtures"
V21 = FIXTURES / "gnomad-exomes-grch38-v2.1.vcf"
V31 = FIXTURES / "gnomad-genomes-grch38-v3.1.vcf"
V40_EXOMES = FIXTURES / "gnomad-exomes-grch38-v4.0.vcf"
V40_GENOMES = FIXTURES / "gnomad-genomes-grch38-v4.0.vcf"


def test_v2_1_exomes_row() -> None:
    sites = GnomadSites(V21)
    record = sites.record(Variant("chr1", 138653, "C", "G"))
    assert record is not None
    assert (record.ac, record.an, record.homozygotes, record.hemizygotes) == (4, 54870, 0, 0)
    assert (record.popmax_af, record.popmax_group, record.faf95) == (6.57246e-04, "sas", 2.4e-05)
    assert record.faf95_max == 2.2377e-04  # v2.1 has no popmax FAF: the highest faf95_<group> (sas)
    assert record.passed
    assert sites.lookup(Variant("chr1", 138653, "C", "G")) == PopulationFrequency(
        "gnomAD exomes v2.1", ac=4, an=54870, homozygotes=0, hemizygotes=0, popmax_af=6.57246e-04)
    filtered = sites.record(Variant("chr1", 138667, "G", "C"))
    assert filtered is not None and filtered.filters == ("RF",) and not filtered.passed


def test_v3_1_and_v4_0_rows() -> None:
    v31 = GnomadSites(V31)
    g_to_c = v31.record(Variant("chr1", 15973, "G", "C"))
    assert g_to_c is not None
    assert (g_to_c.ac, g_to_c.an, g_to_c.popmax_af, g_to_c.popmax_group, g_to_c.faf95_max) == (
        2, 110406, 0.000207771, "amr", 3.622e-05)
    g_to_a = v31.record(Variant("chr1", 15973, "G", "A"))
    assert g_to_a is not None and (g_to_a.ac, g_to_a.an, g_to_a.popmax_group) == (2, 110404, "afr")

    v40 = GnomadSites(V40_GENOMES)
    record = v40.record(Variant("chr1", 10057, "A", "C"))
    assert record is not None
    assert (record.ac, record.an, record.homozygotes, record.popmax_af, record.popmax_group) == (
        3, 113536, 0, 3.77986e-05, "nfe")
    assert (record.faf95, record.faf95_max, record.filters) == (7.02e-06, 6.27e-06, ("AS_VQSR",))
    assert record.hemizygotes == 0  # autosomal: AC_XY=1 is not a hemizygote count here
    insertion = v40.record(Variant("chr1", 10061, "T", "TAACCCTAACCCTAACCCTAACCCTAACCCTAACCCTAACCCTAACCC"))
    assert insertion is not None and (insertion.ac, insertion.an) == (0, 108768)

    exomes = GnomadSites(V40_EXOMES)
    deletion = exomes.record(Variant("chr1", 12060, "CTGGAG", "C"))
    assert deletion is not None and (deletion.an, deletion.popmax_af, deletion.filters) == (4, None, ("AC0", "AS_VQSR"))
    assert exomes.source == "gnomAD exomes v4.0"


@pytest.mark.parametrize("path", [V21, V31, V40_EXOMES, V40_GENOMES], ids=lambda p: p.name)
def test_every_row_agrees_with_htslib(path: Path) -> None:
    ours = {r.variant: r for r in GnomadSites(path)}
    with pysam.VariantFile(str(path)) as oracle:
        rows = list(oracle)
    assert len(ours) == sum(len(row.alts or ()) for row in rows)
    for row in rows:
        for index, alt in enumerate(row.alts or ()):
            got = ours[Variant(row.chrom, row.pos, row.ref, alt)]
            assert (got.ac, got.an, got.homozygotes) == (row.info["AC"][index], row.info["AN"],
                                                        row.info["nhomalt"][index])
            key = "AF_grpmax" if "AF_grpmax" in row.header.info else "AF_popmax"
            popmax = row.info.get(key)
            expected = popmax[index] if popmax is not None else None
            if expected is None:
                assert got.popmax_af is None
            else:
                assert got.popmax_af == pytest.approx(expected, rel=1e-6)
            assert got.filters == tuple(f for f in row.filter if f != "PASS")


@pytest.mark.parametrize("min_shift", [0, 10], ids=["tbi", "csi"])
def test_tabix_lookups_match_the_in_memory_read(tmp_path: Path, min_shift: int) -> None:
    copy = tmp_path / "gnomad.genomes.v3.1.sites.chr1.vcf"
    shutil.copy(V31, copy)
    bgzipped = GnomadSites.index_file(copy, min_shift=min_shift)
    assert Path(f"{bgzipped}{'.csi' if min_shift else '.tbi'}").is_file()
    indexed = GnomadSites(bgzipped)
    plain = GnomadSites(V31)
    assert indexed.indexed and not plain.indexed
    assert indexed.release.version == "3.1" and indexed.release.version_from == "file name"
    variants = [r.variant for r in plain]
    for variant in variants:
        assert indexed.record(variant) == plain.record(variant)
    assert indexed.record(Variant("chr1", 15973, "G", "T")) is None
    assert indexed.record(Variant("chr2", 15973, "G", "C")) is None   # a contig the file does not have
    assert set(indexed.load_region("chr1", 15972, 15974)) == {
        Variant("chr1", 15973, "G", "A"), Variant("chr1", 15973, "G", "C"), Variant("chr1", 15974, "C", "G")}
    assert indexed.load_region("chr1", 15972, 15974) == plain.load_region("chr1", 15972, 15974)
    wanted = [variants[0], variants[3], Variant("chr1", 15977, "G", "T")]
    assert set(indexed.load_variants(wanted)) == {variants[0], variants[3]}
    assert indexed.load_variants(wanted) == plain.load_variants(wanted)
    indexed.close()


def _merged_multiallelic(tmp_path: Path) -> Path:
    """The two real v3.1 rows at chr1:15973 (G>A, G>C) written as one multi-allelic record.

    Number=A fields keep each allele's own values; AN (Number=1) must be one value for the record,
    so the merged record carries the first row's AN.
    """
    lines = V31.read_text().splitlines()
    header = [line for line in lines if line.startswith("#")]
    rows = [line.split("\t") for line in lines if line.startswith("chr1\t15973\t")]
    infos = [dict(item.partition("=")[::2] for item in row[7].split(";")) for row in rows]
    numbers = {}
    for line in header:
        if line.startswith("##INFO=<ID="):
            numbers[line.split("ID=")[1].split(",")[0]] = line.split("Number=")[1].split(",")[0]
    merged = []
    for key, value in infos[0].items():
        if numbers.get(key) == "A" and key in infos[1]:
            merged.append(f"{key}={value},{infos[1][key]}")
        elif value == "" and numbers.get(key) == "0":
            merged.append(key)
        else:
            merged.append(f"{key}={value}" if value != "" else key)
    record = [*rows[0][:4], f"{rows[0][4]},{rows[1][4]}", rows[0][5], rows[0][6], ";".join(merged)]
    target = tmp_path / "multiallelic.vcf"
    target.write_text("\n".join([*header, "\t".join(record)]) + "\n")
    return target


def test_multiallelic_records_are_split(tmp_path: Path) -> None:
    records = {r.variant: r for r in GnomadSites(_merged_multiallelic(tmp_path), version="3.1")}
    assert set(records) == {Variant("chr1", 15973, "G", "A"), Variant("chr1", 15973, "G", "C")}
    g_to_a, g_to_c = records[Variant("chr1", 15973, "G", "A")], records[Variant("chr1", 15973, "G", "C")]
    assert (g_to_a.ac, g_to_a.popmax_af, g_to_a.popmax_group, g_to_a.faf95_max) == (2, 5.39549e-05, "afr", 8.94e-06)
    assert (g_to_c.ac, g_to_c.popmax_af, g_to_c.popmax_group, g_to_c.faf95_max) == (2, 0.000207771, "amr", 3.622e-05)
    assert g_to_a.an == g_to_c.an == 110404


def _relocated(tmp_path: Path, source: Path, chrom: str, pos: int) -> Path:
    """Real rows moved to another chromosome and position, to exercise the chrX ploidy rule on real INFO."""
    lines = source.read_text().splitlines()
    out = [line for line in lines if line.startswith("#")]
    for line in lines:
        if not line.startswith("#"):
            fields = line.split("\t")
            fields[0], fields[1] = chrom, str(pos + int(fields[1]) % 1000)
            out.append("\t".join(fields))
    target = tmp_path / f"{chrom}-{pos}-{source.name}"
    target.write_text("\n".join(out) + "\n")
    return target


def test_hemizygotes_are_the_xy_allele_count_outside_the_pseudoautosomal_regions(tmp_path: Path) -> None:
    # v3.1 chr1:15973 G>C has AC_XY=2; v4.0 genomes chr1:10057 A>C has AC_XY=1; v2.1 chr1:138653 has AC_male=4
    for source, pos, ref, alt, hemi in [(V31, 15973, "G", "C", 2), (V40_GENOMES, 10057, "A", "C", 1),
                                        (V21, 138653, "C", "G", 4)]:
        outside = GnomadSites(_relocated(tmp_path, source, "chrX", 50_000_000), version="x")
        record = outside.record(Variant("chrX", 50_000_000 + pos % 1000, ref, alt))
        assert record is not None and record.hemizygotes == hemi, source.name
        inside_par = GnomadSites(_relocated(tmp_path, source, "chrX", 1_000_000), version="x")
        record = inside_par.record(Variant("chrX", 1_000_000 + pos % 1000, ref, alt))
        assert record is not None and record.hemizygotes == 0, source.name


def test_versions_come_from_the_name_then_the_info_fields(tmp_path: Path) -> None:
    renamed = tmp_path / "sites.vcf"
    shutil.copy(V40_EXOMES, renamed)
    inferred = GnomadSites(renamed)
    assert (inferred.release.version, inferred.release.version_from, inferred.source) == ("4", "inferred", "gnomAD v4")
    labelled = GnomadSites(renamed, dataset="exomes", version="4.1")
    assert labelled.source == "gnomAD exomes v4.1" and labelled.release.version_from == "caller"
    assert labelled.release.name == "gnomAD exomes" and len(labelled.release.sha256) == 64


def test_pass_only_leaves_out_filtered_sites() -> None:
    sites = GnomadSites(V31, pass_only=True)
    assert {r.variant.pos for r in sites} == {15973}
    assert sites.lookup(Variant("chr1", 15971, "G", "C")) is None


# ----------------------------------------------------------------------------------------- bad input

def test_a_vcf_that_is_not_gnomad_is_refused() -> None:
    thousand_genomes = FIXTURES.parent / "1000G-chr22-subset.GRCh38.vcf.gz"
    with pytest.raises(InputError, match=r"1000G-chr22-subset.GRCh38.vcf.gz: not a gnomAD sites VCF: INFO nhomalt"):
        GnomadSites(thousand_genomes)
    clinvar = FIXTURES.parents[1] / "clinvar" / "clinvar-subset.GRCh38.jsonl"
    with pytest.raises(InputError, match=r"clinvar-subset.GRCh38.jsonl line 1: not a VCF"):
        GnomadSites(clinvar)


def test_truncated_files_are_refused(tmp_path: Path) -> None:
    whole = gzip.compress(V21.read_bytes())
    cut = tmp_path / "gnomad.exomes.r2.1.vcf.gz"
    cut.write_bytes(whole[: len(whole) // 3])
    with pytest.raises(TruncatedFileError, match=r"gnomad.exomes.r2.1.vcf.gz: the compressed file ends"):
        GnomadSites(cut)
    copy = tmp_path / "gnomad.genomes.v3.1.vcf"
    shutil.copy(V31, copy)
    bgzipped = GnomadSites.index_file(copy)
    data = bgzipped.read_bytes()
    bgzipped.write_bytes(data[:-28])  # the end-of-file block lost
    with pytest.raises(TruncatedFileError, match=r"gnomad.genomes.v3.1.vcf.gz: the bgzip file ends"):
        GnomadSites(bgzipped)


def test_a_record_missing_columns_or_counts_is_refused_with_its_line(tmp_path: Path) -> None:
    lines = V40_GENOMES.read_text().splitlines()
    header = sum(line.startswith("#") for line in lines)
    short = tmp_path / "short.vcf"
    short.write_text("\n".join([*lines[:header + 1], "\t".join(lines[header + 1].split("\t")[:7])]) + "\n")
    with pytest.raises(InputError, match=rf"short.vcf line {header + 2}: 7 columns"):
        list(GnomadSites(short, version="4.0"))
    fields = lines[header].split("\t")
    fields[7] = ";".join(item for item in fields[7].split(";") if not item.startswith("AN="))
    no_an = tmp_path / "no-an.vcf"
    no_an.write_text("\n".join([*lines[:header], "\t".join(fields)]) + "\n")
    with pytest.raises(InputError, match=rf"no-an.vcf line {header + 1}: INFO has no AN"):
        GnomadSites(no_an, version="4.0").lookup(Variant("chr1", 10031, "T", "C"))


def test_a_file_on_the_other_build_is_refused() -> None:
    with pytest.raises(WrongBuildError, match=r"a gnomAD file on GRCh38 .* this node is GRCh37"):
        GnomadSites(V31, build="GRCh37")


# ----------------------------------------------------------------------------------------- the cohort

def test_the_cohort_answers_as_a_population_resource(sqlite_node: NodeContext) -> None:
    from test_catalog import ID_HPO, ID_TESTS, staff
    from test_store import as_chunk, batch_samples, random_cohort

    node = sqlite_node
    staff(node)
    sample_ids = []
    for k in range(6):
        pseudonym = patients.include_patient(node, "presc", national_id=f"20000000{k}",
                                             birth_date=f"2015-02-0{k + 1}", sex="female").pseudonym
        consents.give_consent(node, "presc", pseudonym=pseudonym, scopes=["diagnosis"], form_version="v4")
        case = prescriptions.prescribe(node, "presc", pseudonym=pseudonym, indication_code="RD-ID", hpo_terms=ID_HPO,
                                       prior_tests=ID_TESTS)
        sample_ids.append(samples.add_sample(node, "presc", case_reference=case.reference, kind="germline").id)
    cohort = random_cohort(np.random.default_rng(11), n_samples=6, n_sites=40, first_id=0)
    cohort.sample_ids = sample_ids
    writer = BatchWriter(node.config.store_dir, source="vcf", genome_build="GRCh38", sample_ids=sample_ids,
                         input_sha256=["7" * 64])
    writer.add_records(as_chunk(cohort, np.arange(len(cohort.pos))))
    writer.finish(batch_samples(cohort)).commit()

    frequencies = CohortFrequencies(node, "bio", Purpose.CARE)
    assert isinstance(frequencies, FrequencySource)
    everyone = set(sample_ids)
    checked = 0
    for i in range(len(cohort.pos)):
        variant = Variant(cohort.chrom[i], int(cohort.pos[i]), cohort.ref[i], cohort.alt[i])
        ac, an, hom, hemi = cohort.oracle(i, everyone)
        got = frequencies.lookup(variant)
        if an == 0:
            assert got is None
            continue
        assert got == PopulationFrequency("genomed cohort Test node", ac=ac, an=an, homozygotes=hom,
                                          hemizygotes=hemi, popmax_af=None), variant
        checked += 1
    assert checked > 20
    assert frequencies.lookup(Variant("chr1", 5, "A", "G")) is None
    release = frequencies.release
    assert release.name == "genomed cohort Test node" and release.version.startswith("store v")
    assert len(release.sha256) == 64
    from genomed.audit.models import AuditEntry

    with node.transaction() as session:
        queries = session.query(AuditEntry).filter(AuditEntry.action == "variant.query").count()
    assert queries == len(cohort.pos) + 1
