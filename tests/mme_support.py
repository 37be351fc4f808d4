"""Shared pieces of the matchmaking tests: a node's app served by uvicorn on loopback, peers and tokens."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from typing import Literal

from fastapi import FastAPI
from sqlalchemy import select

from genomed.catalog import consents, patients, prescriptions
from genomed.catalog.models import Analysis, Candidate, Prescription, User
from genomed.catalog.users import add_user
from genomed.context import NodeContext
from genomed.data import data_file
from genomed.interpret.service import PIPELINE
from genomed.share.matching.benchmark import BENCHMARK_FILE
from genomed.share.node import SharingNode
from genomed.share.server import create_app
from genomed.share.serving import serving
from genomed.share.settings import BeaconSettings, Peer, SharingSettings
from test_catalog import ID_TESTS, staff

MME_V1 = "application/vnd.ga4gh.matchmaker.v1.0+json"
# Tokens of the test federation (each party's secret for one direction): long random-looking strings.
TOKEN_FROM_PEER = "peer-to-us-0f4c1e9b7a2d4e6f8a0b1c2d3e4f5a6b"
TOKEN_TO_PEER = "us-to-peer-9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"
BENCHMARK = data_file(BENCHMARK_FILE)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def mme_headers(token: str = TOKEN_FROM_PEER, media: str = MME_V1, accept: str | None = MME_V1) -> dict[str, str]:
    headers = {"X-Auth-Token": token, "Content-Type": media}
    if accept is not None:
        headers["Accept"] = accept
    return headers


def sharing_settings(peer_url: str = "http://127.0.0.1:9", peer_name: str = "Sweden") -> SharingSettings:
    """Settings with one matchmaking peer: it sends ``TOKEN_FROM_PEER``, we send it ``TOKEN_TO_PEER``."""
    return SharingSettings(
        beacon=BeaconSettings(organisation="PFMG test", contact_url="mailto:mme@pfmg.example.org"),
        peers=(Peer(name=peer_name, country="SE", url=peer_url, mme_token_out=TOKEN_TO_PEER,
                    mme_token_in_sha256=sha256(TOKEN_FROM_PEER)),))


def add_steward(ctx: NodeContext, name: str = "steward") -> None:
    add_user(ctx, "admin", name, ["data_steward"], display_name="Dr Data Steward")


@contextlib.contextmanager
def serve(app: FastAPI, port: int = 0, lifespan: Literal["on", "off"] = "off") -> Iterator[str]:
    """``app`` under uvicorn on a loopback port until the block ends; yields its base URL.

    ``lifespan`` is off by default: the matching tests need none of the other routers' start-up work
    (and matching sets itself up on first use); ``"on"`` runs it as ``genomed serve`` does.
    """
    with serving(app, port, lifespan=lifespan) as url:
        yield url


@contextlib.contextmanager
def serve_node(ctx: NodeContext, settings: SharingSettings) -> Iterator[tuple[str, SharingNode]]:
    """The node's whole sharing application (as ``genomed serve`` runs it) on loopback."""
    node = SharingNode.open(ctx, settings)
    with serve(create_app(node)) as url:
        yield url, node


def interpreted_case(ctx: NodeContext, *, scopes: list[str]) -> tuple[str, str]:
    """A consented child's case with an interpretation whose top candidate is an EFTUD2 stop-gain.

    The interpretation rows are written directly (running the interpreter is another module's test):
    what publishing reads is the stored candidates, exactly as ``interpret_case`` stores them.
    """
    staff(ctx)
    pseudonym = patients.include_patient(ctx, "presc", national_id="2 15 03 69 123 456 78", birth_date="2015-03-14",
                                         sex="female").pseudonym
    consents.give_consent(ctx, "presc", pseudonym=pseudonym, scopes=scopes, form_version="v4")
    case = prescriptions.prescribe(ctx, "presc", pseudonym=pseudonym, indication_code="RD-ID",
                                   hpo_terms=["HP:0000347", "HP:0008551", "HP:0000453", "HP:0001249"],
                                   prior_tests=ID_TESTS)
    with ctx.transaction() as session:
        bix = session.scalar(select(User).where(User.username == "bix"))
        assert bix is not None
        row = session.scalar(select(Prescription).where(Prescription.reference == case.reference))
        assert row is not None
        row.excluded_hpo_terms = ["HP:0001250"]
        analysis = Analysis(prescription_id=row.id, kind="interpretation", pipeline=PIPELINE, pipeline_version="t",
                            genome_build="GRCh38", parameters={}, provenance={}, status="succeeded",
                            started_by=bix.id)
        session.add(analysis)
        session.flush()
        stop = {"variant": "chr17-44851763-G-A", "chrom": "chr17", "pos": 44851763, "ref": "G", "alt": "A",
                "zygosity": "heterozygous", "consequence": "stop_gained"}
        for rank, (gene, variants) in enumerate([("EFTUD2", [stop]), ("SCN1A", []), ("SNRPB", []), ("GPX4", [])], 1):
            session.add(Candidate(analysis_id=analysis.id, rank=rank, gene=gene, combined_score=1.0 / rank,
                                  phenotype_score=0.5, variant_score=0.5, mode="AD", acmg_class=None,
                                  details={"variants": variants}))
    add_steward(ctx, "matchmaker")
    return case.reference, pseudonym
