"""Helpers for the Beacon tests: the official schemas, passports, and a small consented cohort.

* :func:`assert_valid` checks a document against a schema of the official Beacon v2 specification
  in the shared data (``specs/beacon-v2``). The schemas refer to each other by relative paths and
  by their ``raw.githubusercontent.com`` addresses; both resolve to the local files through one
  ``referencing`` registry. The genomic variation schema also refers to GA4GH VRS 1.3, which is
  not in the shared data: a small stand-in (:data:`VRS_STAND_IN`) checks the parts we emit
  (a SequenceLocation with a sequence id and a numeric interval) and keeps VRS alleles apart from
  the legacy form, so that ``oneOf`` there still means what it says.
* :class:`Broker` signs GA4GH passports and ControlledAccessGrants visas with an Ed25519 key.
* :func:`build_cohort` includes a dozen patients with chosen sharing consents and stores a hand-made
  genotype matrix for them, so that each variant's carriers per consent scope are known exactly.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jwt
import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from genomed.catalog import consents, patients, prescriptions, samples
from genomed.context import NodeContext
from genomed.data import data_dir
from genomed.share.settings import TrustedBroker
from genomed.store.writer import BatchWriter
from test_catalog import ID_HPO, ID_TESTS, staff
from test_store import DenseCohort, as_chunk, batch_samples

RAW = "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/"
VRS = "https://w3id.org/ga4gh/schema/vrs/1.3/vrs.json"
CINECA = "CINECA_synthetic_cohort_EUROPE_UK1"
VRS_STAND_IN: dict[str, Any] = {"definitions": {
    "MolecularVariation": {"type": "object", "required": ["type"],
                           "properties": {"type": {"enum": ["Allele", "Haplotype", "VariationSet"]}}},
    "SystemicVariation": {"type": "object", "required": ["type"],
                          "properties": {"type": {"enum": ["CopyNumber", "CopyNumberCount", "CopyNumberChange"]}}},
    "Location": {"type": "object", "required": ["type", "sequence_id", "interval"], "properties": {
        "type": {"const": "SequenceLocation"},
        "sequence_id": {"type": "string", "pattern": r"^\w[^:]*:.+$"},
        "interval": {"type": "object", "required": ["type", "start", "end"], "properties": {
            "type": {"const": "SequenceInterval"},
            "start": {"type": "object", "required": ["type", "value"],
                      "properties": {"type": {"const": "Number"}, "value": {"type": "number", "minimum": 0}}},
            "end": {"type": "object", "required": ["type", "value"],
                    "properties": {"type": {"const": "Number"}, "value": {"type": "number", "minimum": 0}}}}}}},
}}
SCHEMA_OF_ENTRY = {"analyses": "analyses", "biosamples": "biosamples", "cohorts": "cohorts", "datasets": "datasets",
                   "g_variants": "genomicVariations", "individuals": "individuals", "runs": "runs"}


def spec_dir() -> Path:
    return data_dir() / "specs" / "beacon-v2"


@cache
def registry() -> Registry:
    """Every schema of the specification, under its file URI and its GitHub address."""
    root = spec_dir()
    resources: list[tuple[str, Resource[Any]]] = []
    for path in root.rglob("*.json"):
        if "examples" in path.parts:
            continue
        resource = Resource.from_contents(json.loads(path.read_text()), default_specification=DRAFT202012)
        resources.append((path.resolve().as_uri(), resource))
        resources.append((RAW + path.relative_to(root).as_posix(), resource))
    resources.append((VRS, Resource.from_contents(VRS_STAND_IN, default_specification=DRAFT202012)))
    # Five model schemas refer to ``../common/info.json``, which the model directory does not ship
    # (a packaging slip upstream): it is the framework's Info object, which says only "an object".
    info = Resource.from_contents(json.loads((root / "framework/json/common/info.json").read_text()),
                                  default_specification=DRAFT202012)
    relative = "models/json/beacon-v2-default-model/common/info.json"
    resources += [((root / relative).resolve().as_uri(), info), (RAW + relative, info)]
    return Registry().with_resources(resources)


@cache
def validator(relative: str) -> Draft202012Validator:
    """A validator for one schema of the specification, e.g. ``framework/json/responses/beaconCountResponse.json``."""
    return Draft202012Validator({"$ref": (spec_dir() / relative).resolve().as_uri()}, registry=registry())


def assert_valid(document: Any, relative: str) -> None:
    errors = sorted(validator(relative).iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, f"{relative}: " + "; ".join(f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors[:5])


def response_schema(body: dict[str, Any]) -> str:
    """The framework response schema a Beacon answer claims to follow, from its shape."""
    base = "framework/json/responses/"
    if "error" in body:
        return base + "beaconErrorResponse.json"
    response = body.get("response", {})
    if "resultSets" in response:
        return base + "beaconResultsetsResponse.json"
    if "collections" in response:
        return base + "beaconCollectionsResponse.json"
    if "numTotalResults" in body.get("responseSummary", {}):
        return base + "beaconCountResponse.json"
    return base + "beaconBooleanResponse.json"


def assert_beacon_answer(body: dict[str, Any], entry_path: str | None = None) -> None:
    """The answer validates against its response schema, and each record against its entry type's schema."""
    assert_valid(body, response_schema(body))
    if entry_path is None:
        return
    model = f"models/json/beacon-v2-default-model/{SCHEMA_OF_ENTRY[entry_path]}/defaultSchema.json"
    response = body.get("response", {})
    for result_set in response.get("resultSets", []):
        for record in result_set["results"]:
            assert_valid(record, model)
    for record in response.get("collections", []):
        assert_valid(record, model)


@dataclass
class Broker:
    """A passport broker trusted by the node under test; it signs passports and visas."""

    issuer: str = "https://broker.test"
    country: str = ""
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    def trusted(self) -> TrustedBroker:
        pem = self.key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
        return TrustedBroker(issuer=self.issuer, public_key=pem, country=self.country)

    def _sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.key, algorithm="EdDSA")

    def passport(self, subject: str, *, datasets: tuple[str, ...] = (), node_url: str = "http://testserver",
                 country: str | None = None) -> str:
        now = int(time.time())
        visas = [self._sign({"iss": self.issuer, "sub": subject, "iat": now, "exp": now + 3600,
                             "jti": uuid.uuid4().hex,
                             "ga4gh_visa_v1": {"type": "ControlledAccessGrants", "asserted": now, "by": "dac",
                                               "source": self.issuer, "value": f"{node_url}/datasets/{d}"}})
                 for d in datasets]
        claims: dict[str, Any] = {"iss": self.issuer, "sub": subject, "iat": now, "exp": now + 3600,
                                  "ga4gh_passport_v1": visas}
        if country is not None:
            claims["country"] = country
        return self._sign(claims)

    def header(self, subject: str, **options: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.passport(subject, **options)}"}


# -- a small cohort with known carriers per consent scope ----------------------------------------------------

BOTH = ["diagnosis", "national_sharing", "international_sharing"]
NATIONAL = ["diagnosis", "national_sharing"]
CARE = ["diagnosis"]
# Donors 0-7 share internationally, 8-9 nationally only, 10-11 not at all.
DONOR_SCOPES = [BOTH] * 8 + [NATIONAL] * 2 + [CARE] * 2
# (chrom, pos, ref, alt, carriers by donor index) — 1-based VCF positions, heterozygous carriers.
SITES: list[tuple[str, int, str, str, tuple[int, ...]]] = [
    ("chr1", 1000, "A", "G", (0, 1, 2, 3, 4, 5)),          # 6 international carriers: visible
    ("chr1", 2000, "C", "T", (0, 1, 2)),                   # 3 carriers: below min_count 5
    ("chr1", 3000, "G", "A", (0, 1, 2, 3, 4, 8, 9)),       # 5 international + 2 national-only
    ("chr1", 4000, "CA", "C", (1, 2, 3, 4, 5, 6)),         # a deletion
    ("chr1", 5000, "T", "TA", (2, 3, 4, 5, 6, 7)),         # an insertion
    ("chr1", 6000, "G", "C", (10, 11, 0, 1)),              # carried mostly by donors who share nothing
    ("chr2", 100_000, "T", "G", (0, 1, 2, 3, 4, 5, 6, 7)),
    ("chr2", 100_050, "A", "T", (3, 4, 5, 6, 7)),
    ("chr17", 43_045_712, "G", "A", (0, 1, 2, 3, 4, 5)),   # in BRCA1 (MANE span chr17:43044294-43125364)
]


@dataclass
class Cohort:
    sample_ids: list[int]
    pseudonyms: list[str]
    labels: list[str]


def build_cohort(ctx: NodeContext) -> Cohort:
    """Include the donors with their consents, register their samples and store :data:`SITES` for them."""
    staff(ctx)
    sample_ids, pseudonyms, labels = [], [], []
    for k, scopes in enumerate(DONOR_SCOPES):
        pseudonym = patients.include_patient(ctx, "presc", national_id=f"2{k:08d}", birth_date=f"2015-02-{k + 1:02d}",
                                             sex="female").pseudonym
        consents.give_consent(ctx, "presc", pseudonym=pseudonym, scopes=scopes, form_version="v4")
        case = prescriptions.prescribe(ctx, "presc", pseudonym=pseudonym, indication_code="RD-ID",
                                       hpo_terms=ID_HPO, prior_tests=ID_TESTS)
        sample = samples.add_sample(ctx, "presc", case_reference=case.reference, kind="germline")
        sample_ids.append(sample.id)
        pseudonyms.append(pseudonym)
        labels.append(sample.label)
    n = len(DONOR_SCOPES)
    alt_count = np.zeros((len(SITES), n), dtype=np.int8)
    for i, (*_, carriers) in enumerate(SITES):
        alt_count[i, list(carriers)] = 1
    cohort = DenseCohort(chrom=[s[0] for s in SITES], pos=np.array([s[1] for s in SITES]),
                         ref=[s[2] for s in SITES], alt=[s[3] for s in SITES], alt_count=alt_count,
                         ploidy=np.full((len(SITES), n), 2, dtype=np.int8), sample_ids=sample_ids,
                         x_ploidy=[2] * n, y_ploidy=[0] * n)
    writer = BatchWriter(ctx.config.store_dir, source="vcf", genome_build="GRCh38", sample_ids=sample_ids,
                         input_sha256=["7" * 64])
    writer.add_records(as_chunk(cohort, np.arange(len(SITES))))
    writer.finish(batch_samples(cohort)).commit()
    return Cohort(sample_ids, pseudonyms, labels)
