"""Consent governs every cohort answer from the moment it changes, without rewriting the store."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genomed.access.purpose import Purpose
from genomed.catalog import consents, patients, prescriptions, samples
from genomed.context import NodeContext
from genomed.store.consented import ConsentedCohort
from genomed.store.writer import BatchWriter
from test_catalog import ID_HPO, ID_TESTS, staff
from test_store import as_chunk, batch_samples, random_cohort


def test_withdrawal_removes_a_sample_from_counts_at_once(node: NodeContext) -> None:
    staff(node)
    sample_ids = []
    for k in range(6):
        pseudonym = patients.include_patient(node, "presc", national_id=f"10000000{k}",
                                             birth_date=f"2016-01-0{k + 1}", sex="female").pseudonym
        consents.give_consent(node, "presc", pseudonym=pseudonym, scopes=["diagnosis", "research"], form_version="v4")
        case = prescriptions.prescribe(node, "presc", pseudonym=pseudonym, indication_code="RD-ID", hpo_terms=ID_HPO,
                                       prior_tests=ID_TESTS)
        sample_ids.append(samples.add_sample(node, "presc", case_reference=case.reference, kind="germline").id)
    cohort = random_cohort(np.random.default_rng(7), n_samples=6, n_sites=30, first_id=0)
    cohort.sample_ids = sample_ids
    writer = BatchWriter(node.config.store_dir, source="vcf", genome_build="GRCh38", sample_ids=sample_ids,
                         input_sha256=["9" * 64])
    writer.add_records(as_chunk(cohort, np.arange(30)))
    writer.finish(batch_samples(cohort)).commit()
    parquet_before = sorted(p.stat().st_mtime_ns for p in Path(node.config.store_dir).rglob("*.parquet"))

    care = ConsentedCohort(node, Purpose.CARE, recheck_seconds=3600)
    research = ConsentedCohort(node, Purpose.RESEARCH, recheck_seconds=3600)
    carrier_site = next(i for i in range(30) if cohort.alt_count[i, 0] > 0)
    query = (cohort.chrom[carrier_site], int(cohort.pos[carrier_site]), cohort.ref[carrier_site],
             cohort.alt[carrier_site])
    everyone = set(sample_ids)
    assert (care.variant(*query).ac, care.variant(*query).an) == cohort.oracle(carrier_site, everyone)[:2]
    assert research.variant(*query).ac == care.variant(*query).ac

    with node.transaction() as session:
        from genomed.catalog.models import Sample

        first = session.get(Sample, sample_ids[0])
        assert first is not None
        pseudonym = first.patient.pseudonym
    consents.withdraw_consent(node, "steward", pseudonym=pseudonym, scopes=["research"], reason="letter")
    without_first = everyone - {sample_ids[0]}
    # research answers drop the sample at once (the cache was told); care answers still count it
    assert (research.variant(*query).ac, research.variant(*query).an) == cohort.oracle(carrier_site, without_first)[:2]
    assert sample_ids[0] not in [c.sample for c in research.carriers(*query)]
    assert sample_ids[0] in [c.sample for c in care.carriers(*query)]
    assert care.variant(*query).ac == cohort.oracle(carrier_site, everyone)[0]
    assert sorted(p.stat().st_mtime_ns for p in Path(node.config.store_dir).rglob("*.parquet")) == parquet_before
