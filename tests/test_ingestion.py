"""Ingestion end to end: a file in the vault becomes a store batch, analyses and QC in the catalog.

The store's counts are checked against the pure-Python oracle on the file itself, and every kind
of bad input must leave the store, the catalog and the staging folder exactly as they were.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from sqlalchemy import func, select

from genomed.catalog import consents, files, patients, prescriptions, samples
from genomed.catalog.models import Analysis, QCResult
from genomed.context import NodeContext
from genomed.errors import ConsentError, DuplicateError, MalformedVCFError, UnknownSampleError
from genomed.store.ingestion import ingest_files
from oracle import by_variant, count_alleles, random_cohort
from test_catalog import ID_HPO, ID_TESTS, staff


def include_cohort(ctx: NodeContext, labels: list[str]) -> dict[str, str]:
    """One consented patient, case and sample per label; returns label -> pseudonym."""
    staff(ctx)
    pseudonyms = {}
    for n, label in enumerate(labels):
        sex = "male" if label.startswith("M") else "female"
        pseudonym = patients.include_patient(ctx, "presc", national_id=f"7700000{n:03d}",
                                             birth_date=f"2014-02-{n + 1:02d}", sex=sex).pseudonym
        consents.give_consent(ctx, "presc", pseudonym=pseudonym, scopes=["diagnosis", "research"], form_version="v4")
        case = prescriptions.prescribe(ctx, "presc", pseudonym=pseudonym, indication_code="RD-ID", hpo_terms=ID_HPO,
                                       prior_tests=ID_TESTS)
        samples.add_sample(ctx, "presc", case_reference=case.reference, kind="germline", label=label)
        pseudonyms[label] = pseudonym
    return pseudonyms


def store_state(ctx: NodeContext) -> tuple[str, list[str]]:
    manifest = ctx.config.store_dir / "manifest.json"
    return (manifest.read_text() if manifest.exists() else "",
            sorted(str(p.relative_to(ctx.config.store_dir)) for p in ctx.config.store_dir.rglob("*") if p.is_file()))


@pytest.fixture
def cohort_vcf(tmp_path: Path) -> Path:
    return random_cohort(tmp_path / "cohort.vcf.gz", males=4, females=4, sites=300, seed=11)


LABELS = [f"M{i}" for i in range(4)] + [f"F{i}" for i in range(4)]


def test_an_ingested_vcf_agrees_with_the_oracle(node: NodeContext, cohort_vcf: Path) -> None:
    include_cohort(node, LABELS)
    stored = files.store_file(node, "bix", sample_label="M0", path=cohort_vcf)
    outcome = ingest_files(node, "bix", vault_ids=[stored.vault_id])
    assert outcome.source == "vcf" and sorted(outcome.samples) == sorted(LABELS)
    truth = by_variant(count_alleles(cohort_vcf))
    for (chrom, pos, ref, alt), (ac, an, hom, hemi) in truth.items():
        got = node.store.variant(chrom, pos, ref, alt)
        assert (got.ac, got.an, got.n_hom_alt, got.n_hemi_alt) == (ac, an, hom, hemi), (chrom, pos, ref, alt)
    with node.transaction() as session:
        assert session.scalar(select(func.count(QCResult.id))) == len(LABELS)
        assert session.scalar(select(func.count(Analysis.id)).where(Analysis.kind == "ingest")) == len(LABELS)
        provenance = session.scalars(select(Analysis.provenance)).first()
        assert provenance is not None and provenance["batch"] == outcome.batch_id
    assert all(p.exists() for p in outcome.qc_reports) and any(p.suffix == ".html" for p in outcome.qc_reports)
    assert not list(node.config.staging_dir.glob("ingest-*"))  # the plaintext is gone
    # the same file again is refused before any work, and changes nothing
    before = store_state(node)
    with pytest.raises(DuplicateError, match="already ingested"):
        ingest_files(node, "bix", vault_ids=[stored.vault_id])
    assert store_state(node) == before


def test_a_sample_without_diagnosis_consent_is_not_ingested(node: NodeContext, cohort_vcf: Path) -> None:
    pseudonyms = include_cohort(node, LABELS)
    stored = files.store_file(node, "bix", sample_label="M0", path=cohort_vcf)
    consents.withdraw_consent(node, "steward", pseudonym=pseudonyms["F2"], scopes=["diagnosis"], reason="letter")
    before = store_state(node)
    with pytest.raises(ConsentError, match="ingest sample F2"):
        ingest_files(node, "bix", vault_ids=[stored.vault_id])
    assert store_state(node) == before


def test_an_unknown_sample_column_is_refused(node: NodeContext, cohort_vcf: Path) -> None:
    include_cohort(node, LABELS[:-1])  # F3 is not in the catalog
    stored = files.store_file(node, "bix", sample_label="M0", path=cohort_vcf)
    before = store_state(node)
    with pytest.raises(UnknownSampleError, match="F3"):
        ingest_files(node, "bix", vault_ids=[stored.vault_id])
    assert store_state(node) == before


def test_a_truncated_file_leaves_the_store_unchanged(node: NodeContext, cohort_vcf: Path, tmp_path: Path) -> None:
    include_cohort(node, LABELS)
    good = files.store_file(node, "bix", sample_label="M0", path=cohort_vcf)
    ingest_files(node, "bix", vault_ids=[good.vault_id])
    other = random_cohort(tmp_path / "other.vcf.gz", males=4, females=4, sites=3000, seed=12)
    data = other.read_bytes()
    truncated = tmp_path / "truncated.vcf.gz"
    truncated.write_bytes(data[: len(data) // 2])
    stored = files.store_file(node, "bix", sample_label="M1", path=truncated)
    before = store_state(node)
    with pytest.raises(MalformedVCFError):
        ingest_files(node, "bix", vault_ids=[stored.vault_id])
    assert store_state(node) == before
    assert not list(node.config.staging_dir.iterdir())


def test_a_malformed_record_is_reported_with_its_line(node: NodeContext, cohort_vcf: Path, tmp_path: Path) -> None:
    include_cohort(node, LABELS)
    lines = gzip.decompress(cohort_vcf.read_bytes()).decode().splitlines()
    first_record = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    fields = lines[first_record + 5].split("\t")
    fields[1] = "12x45"
    lines[first_record + 5] = "\t".join(fields)
    broken = tmp_path / "broken.vcf"
    broken.write_text("\n".join(lines) + "\n")
    stored = files.store_file(node, "bix", sample_label="M0", path=broken)
    before = store_state(node)
    with pytest.raises(MalformedVCFError, match=f"line {first_record + 6}"):
        ingest_files(node, "bix", vault_ids=[stored.vault_id])
    assert store_state(node) == before
