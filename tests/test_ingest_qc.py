"""Per-sample QC from the ingest stream: sex check, Mendelian errors, Ti/Tv of a truth set, thresholds,
and the JSON/HTML report."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from genomed.ingest.chunks import BatchSample, RecordChunk
from genomed.ingest.qc import QCAccumulator, QCResult, QCThresholds
from genomed.ingest.qc_report import qc_report_html, write_qc_report
from genomed.ingest.reader import read_vcf
from oracle import X_NONPAR, random_cohort, simulated_cohort, simulated_sexes, write_vcf

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
NA12878_CHR21 = DATA / "truth-sets" / "PG_NA12878_hg38-chr21.vcf.gz"


def run_qc(path: Path, **kwargs: object) -> QCResult:
    stream = read_vcf(path, expected_build="GRCh38")
    qc = QCAccumulator(stream.samples, stream.build, **kwargs)  # type: ignore[arg-type]
    for chunk in stream:
        qc.add(chunk)
    return qc.result(stream.samples)


# ----------------------------------------------------------------------------- sex

def test_sex_inferred_from_chrx_heterozygosity_and_chry(tmp_path: Path) -> None:
    path = random_cohort(tmp_path / "cohort.vcf.gz", males=4, females=4, sites=600, missing=0.0)
    catalog = {"M0": "male", "M1": "male", "M2": "female", "M3": "unknown",
               "F0": "female", "F1": "female", "F2": "male", "F3": "female"}
    result = run_qc(path, catalog_sex=catalog)
    inferred = {s.sample: s.metrics["inferred_sex"] for s in result.samples}
    assert inferred == {**{f"M{i}": "male" for i in range(4)}, **{f"F{i}": "female" for i in range(4)}}
    sex = {s.sample: next(c for c in s.checks if c.metric == "sex") for s in result.samples}
    assert sex["M0"].status == "pass" and sex["M3"].status == "pass"
    assert sex["M2"].status == "fail" and "catalog says female" in sex["M2"].reason
    assert sex["F2"].status == "fail" and result.sample("F2").status == "fail"
    assert result.status == "fail"
    males = [s for s in result.samples if s.sample.startswith("M")]
    assert all(s.metrics["chrx_het_rate"] == 0 and s.metrics["chry_nonref"] > 0 for s in males)
    assert all(s.metrics["x_ploidy"] == 1 for s in males)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulated_cohort(tmp_path_factory.getbasetemp())


def test_sex_of_simulated_males_and_females(simulated: Path) -> None:
    sexes = simulated_sexes(simulated)
    result = run_qc(simulated / "cohort.vcf.gz", catalog_sex=sexes)
    inferred = {s.sample: s.metrics["inferred_sex"] for s in result.samples}
    assert sum(inferred[name] == sex for name, sex in sexes.items()) >= 0.95 * len(sexes)
    assert not [name for name, sex in sexes.items() if inferred[name] not in (sex, "unknown")]   # never swapped
    assert all(next(c for c in s.checks if c.metric == "sex").status != "fail" for s in result.samples)
    swapped = {name: ("female" if sex == "male" else "male") for name, sex in sexes.items()}
    failed = run_qc(simulated / "cohort.vcf.gz", catalog_sex=swapped)
    assert sum(next(c for c in s.checks if c.metric == "sex").status == "fail" for s in failed.samples) >= 38


def test_simulated_trios_have_only_their_de_novo_mendelian_errors(simulated: Path) -> None:
    truth = json.loads((simulated / "trios" / "de_novo_truth.json").read_text())
    for family in truth["families"]:
        result = run_qc(simulated / family["vcf"], trios=[(family["child"], family["father"], family["mother"])])
        (trio,) = result.trios
        autosomal = [d for d in family["de_novo"] if d["chrom"] not in ("chrX", "chrY")]
        assert trio.errors == trio.de_novo == len(autosomal) >= 1, family["family_id"]
        assert trio.informative_sites > 100 and trio.status == "pass"


def test_sex_unknown_without_chrx_data(tmp_path: Path) -> None:
    records = [f"chr1\t{1000 + n}\t.\tA\tG\t50\tPASS\t.\tGT\t0/1\t1/1" for n in range(50)]
    result = run_qc(write_vcf(tmp_path / "autosomes.vcf.gz", ["a", "b"], records))
    check = next(c for c in result.samples[0].checks if c.metric == "sex")
    assert (check.value, check.status) == ("unknown", "n/a")


# ----------------------------------------------------------------------------- trios

def family_vcf(path: Path, *, sites: int = 600, de_novo: int = 3, seed: int = 11) -> tuple[Path, int]:
    """Father, mother, child (Mendelian transmission) and an unrelated sample; ``de_novo`` child-only
    variants; a few no-calls. Returns the path and the number of informative sites, counted here."""
    rng = random.Random(seed)
    records, informative = [], 0
    de_novo_at = set(rng.sample(range(sites), de_novo))
    for n in range(sites):
        freq = rng.choice([0.01, 0.05, 0.2, 0.5])
        father = [int(rng.random() < freq), int(rng.random() < freq)]
        mother = [int(rng.random() < freq), int(rng.random() < freq)]
        other = [int(rng.random() < freq), int(rng.random() < freq)]
        child = [rng.choice(father), rng.choice(mother)]
        if n in de_novo_at:
            father, mother, child = [0, 0], [0, 0], [0, 1]
        genotypes = [father, mother, child, other]
        calls = ["/".join(map(str, g)) for g in genotypes]
        if rng.random() < 0.03:
            calls[rng.randrange(3)] = "./."
        elif any(sum(g) for g in genotypes[:3]):
            informative += 1
        records.append(f"chr1\t{2_000_000 + 31 * n}\t.\tA\tG\t50\tPASS\t.\tGT\t" + "\t".join(calls))
    return write_vcf(path, ["dad", "mum", "kid", "stranger"], records), informative


def test_mendelian_errors_of_a_clean_trio_are_its_de_novos(tmp_path: Path) -> None:
    path, informative = family_vcf(tmp_path / "trio.vcf.gz", sites=3000, de_novo=3)
    result = run_qc(path, trios=[("kid", "dad", "mum")])
    (trio,) = result.trios
    assert (trio.errors, trio.de_novo, trio.informative_sites) == (3, 3, informative)
    assert trio.error_rate == pytest.approx(3 / informative)
    assert trio.status == "pass"
    kid = next(c for c in result.sample("kid").checks if c.metric == "mendelian_error_rate")
    assert kid.status == "pass" and "3 Mendelian errors (3 of them apparent de novo)" in kid.reason


def test_mendelian_error_rate_with_a_wrong_father_fails(tmp_path: Path) -> None:
    path, _ = family_vcf(tmp_path / "trio.vcf.gz", de_novo=0)
    result = run_qc(path, trios=[("kid", "stranger", "mum")])
    (trio,) = result.trios
    assert trio.status == "fail" and trio.error_rate is not None and trio.error_rate > 0.05
    assert result.sample("kid").status == "fail"


def test_trio_not_in_the_file_is_not_assessed(tmp_path: Path) -> None:
    path, _ = family_vcf(tmp_path / "trio.vcf.gz")
    (trio,) = run_qc(path, trios=[("kid", "dad", "grandma")]).trios
    assert trio.status == "n/a" and "grandma" in trio.reason


# ----------------------------------------------------------------------------- metrics and thresholds

def test_titv_of_na12878_chr21_truth_set_is_genome_like() -> None:
    if not NA12878_CHR21.exists():
        pytest.skip("shared data absent")
    stream = read_vcf(NA12878_CHR21, expected_build="GRCh38")
    qc = QCAccumulator(stream.samples, stream.build)
    for chunk in stream:
        qc.add(chunk)
    sample = qc.result(stream.samples).sample("NA12878")
    assert 2.0 <= sample.metrics["ti_tv"] <= 2.2
    assert next(c for c in sample.checks if c.metric == "ti_tv").status == "pass"
    assert sample.metrics["by_type"]["snv"] > 50_000 and sample.metrics["by_type"]["deletion"] > 1_000
    assert next(c for c in sample.checks if c.metric == "call_rate").status == "n/a"    # single sample
    qc.thresholds = QCThresholds(assay="exome")          # the same counts, judged as an exome
    exome = qc.result(stream.samples).sample("NA12878")
    assert next(c for c in exome.checks if c.metric == "ti_tv").status == "warn"


def test_call_rate_thresholds(tmp_path: Path) -> None:
    rng = random.Random(3)
    records = []
    for n in range(400):
        calls = ["0/1" if rng.random() < 0.3 else "0/0" for _ in range(3)]
        if rng.random() < 0.10:
            calls[1] = "./."      # sample b: ~90% called
        if rng.random() < 0.03:
            calls[2] = "./."      # sample c: ~97% called
        records.append(f"chr1\t{3_000_000 + 11 * n}\t.\tC\tT\t50\tPASS\t.\tGT\t" + "\t".join(calls))
    result = run_qc(write_vcf(tmp_path / "calls.vcf.gz", ["a", "b", "c"], records))
    status = {s.sample: next(c for c in s.checks if c.metric == "call_rate").status for s in result.samples}
    assert status == {"a": "pass", "b": "fail", "c": "warn"}


def test_depth_and_quality_over_nonreference_genotypes() -> None:
    def arr(values: list[int], dtype: type) -> np.ndarray:  # type: ignore[type-arg]
        return np.array(values, dtype=dtype)

    chunk = RecordChunk(
        chrom=["chr1", "chr1"], pos=arr([100, 200], np.int32), ref=["A", "C"], alt=["G", "CT"],
        key=arr([0, 0], np.int64), an=arr([4, 4], np.int32), filter_pass=np.array([True, True]),
        gt_record=arr([0, 0, 1], np.int32), gt_sample=arr([0, 1, 0], np.int32),
        gt_alt_count=arr([1, 2, -1], np.int8), gt_ploidy=arr([2, 2, 2], np.int8), gt_gq=arr([30, 50, 99], np.int16),
        gt_dp=arr([10, 20, 40], np.int32), gt_ad_ref=arr([5, 0, -1], np.int32), gt_ad_alt=arr([5, 20, -1], np.int32))
    qc = QCAccumulator([BatchSample(0, "a"), BatchSample(1, "b")], "GRCh38")
    qc.add(chunk)
    result = qc.result()
    a, b = result.samples
    assert (a.metrics["mean_dp_nonref"], a.metrics["mean_gq_nonref"]) == (10, 30)   # the no-call is not counted
    assert (b.metrics["mean_dp_nonref"], b.metrics["mean_gq_nonref"]) == (20, 50)
    assert a.metrics["by_type"] == {"snv": 1, "insertion": 0, "deletion": 0, "mnv_complex": 0}
    assert a.metrics["call_rate"] == 0.5 and a.metrics["missing"] == 1
    assert result.histograms["a"]["dp"][10] == 1


# ----------------------------------------------------------------------------- report

def test_json_and_html_report(tmp_path: Path) -> None:
    path, _ = family_vcf(tmp_path / "trio.vcf.gz")
    result = run_qc(path, trios=[("kid", "dad", "mum")], catalog_sex={"kid": "female"})
    data = json.loads(result.to_json())
    assert {s["sample"] for s in data["samples"]} == {"dad", "mum", "kid", "stranger"}
    assert data["trios"][0]["child"] == "kid" and data["thresholds"]["call_rate_fail"] == 0.95
    json_path, html_path = write_qc_report(result, tmp_path / "report", provenance={"input": "trio.vcf.gz"})
    assert json.loads(json_path.read_text())["provenance"] == {"input": "trio.vcf.gz"}
    html = html_path.read_text()
    assert html.count("data:image/png;base64,") >= 3
    assert "<script" not in html and "http://" not in html and "https://" not in html    # self-contained
    assert "kid" in html and "Mendelian" in html


def test_report_of_a_large_cohort_uses_dot_plots(tmp_path: Path) -> None:
    path = random_cohort(tmp_path / "cohort.vcf.gz", males=40, females=40, sites=200)
    html = qc_report_html(run_qc(path))
    assert html.count("data:image/png;base64,") >= 4
    assert f"chrX\t{X_NONPAR}" not in html
