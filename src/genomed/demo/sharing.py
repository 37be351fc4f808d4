"""The demo's sharing chapter: the node answers as a Beacon, under the privacy guard, to a researcher
whose access a data steward grants and then revokes; a solved case is offered to matchmaking.

Everything goes over real HTTP to the node's own application (as ``genomed serve`` runs it), so the
demo shows what a partner node or a researcher would see, not what a library call returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx

from genomed.catalog.users import add_user
from genomed.context import NodeContext
from genomed.data import data_dir, data_file
from genomed.share.access_requests import approve_access, issue_passport, request_access, revoke_access
from genomed.share.beacon.documents import load_documents
from genomed.share.beacon.granularity import node_dataset_id
from genomed.share.matching.publish import publish_case
from genomed.share.node import SharingNode
from genomed.share.server import create_app
from genomed.share.serving import free_port, serving
from genomed.share.settings import load_sharing
from genomed.store.service import VariantSpec

CINECA = "beacon/CINECA_synthetic_cohort_EUROPE_UK1"
CINECA_INDIVIDUALS = f"{CINECA}/individuals.json"
RESEARCHER = "res.lindqvist"


def _describe(body: dict[str, Any]) -> str:
    summary = body.get("responseSummary", {})
    granularity = body.get("meta", {}).get("returnedGranularity", "?")
    words = f"exists {summary.get('exists')}"
    if "numTotalResults" in summary:
        words += f", count {summary['numTotalResults']}"
    carriers = [c.get("individualId", "?") for rs in body.get("response", {}).get("resultSets", [])
                for record in rs.get("results", []) for c in record.get("caseLevelData", [])]
    if carriers:
        words += f", carriers {', '.join(carriers)}"
    return f"{words} (granularity {granularity})"


def share_demo(ctx: NodeContext, say: Callable[[str], None], *, admin: str, steward: str, case_reference: str,
               variant: VariantSpec) -> None:
    """Load Beacon documents, offer ``case_reference`` to matching, ask for ``variant`` as public and researcher."""
    port = free_port()
    settings = load_sharing(ctx.config.home)
    # min_count 10: the guard's draw answers "yes" about a variant carried by one donor with probability
    # 2^-10 (1/32 with the default 5), so the public's answer about the proband's variant is "no" in practice.
    settings = replace(settings, beacon=replace(settings.beacon, id="org.genomed.demo.lyon", name="genomed demo Lyon",
                                                public_url=f"http://127.0.0.1:{port}"),
                       guard=replace(settings.guard, min_count=10))
    settings.save(ctx.config.home)
    add_user(ctx, admin, RESEARCHER, ["researcher"], "Dr Sara Lindqvist, researcher (Karolinska)")
    data_file(CINECA_INDIVIDUALS)  # a clear error naming the file if the data directory lacks the cohort
    loaded = load_documents(ctx, steward, data_dir() / CINECA)
    counts = ", ".join(f"{n:,} {entry}" for entry, n in sorted(loaded.counts.items()))
    say(f"Beacon documents of {', '.join(loaded.datasets)} loaded: {counts}")
    published = publish_case(ctx, steward, settings, case_reference=case_reference)
    genes = ", ".join(sorted({g.gene.id for g in published.genomicFeatures})) or "no gene"
    say(f"case {case_reference} offered to Matchmaker Exchange as {published.id} ({genes})")

    query: dict[str, str | int] = {"referenceName": variant.chrom.removeprefix("chr"), "start": variant.pos - 1,
             "referenceBases": variant.ref, "alternateBases": variant.alt, "requestedGranularity": "record"}
    with serving(create_app(SharingNode.open(ctx, settings)), port) as url, httpx.Client(base_url=url) as client:
        public = client.get("/g_variants", params=query).json()
        say(f"Beacon {url}/g_variants {variant.label} as the public: {_describe(public)}")
        female = {"filters": "NCIT:C16576", "requestedGranularity": "count"}
        females = client.get("/individuals", params=female).json()
        say(f"Beacon /individuals?filters=NCIT:C16576 (female) as the public: {_describe(females)}")

        dataset = node_dataset_id(settings)
        asked = request_access(ctx, RESEARCHER, dataset, "Genes of neurodevelopmental disorders (ERC project)", "SE",
                               settings=settings)
        visa = approve_access(ctx, steward, asked.id, 30, settings=settings)
        passport = issue_passport(ctx, RESEARCHER, settings=settings)
        bearer = {"Authorization": f"Bearer {passport}"}
        granted = client.get("/g_variants", params=query, headers=bearer).json()
        say(f"access request {asked.id} approved until {visa.expires_at:%Y-%m-%d} (visa {visa.visa_id[:8]}…); "
            f"as the researcher: {_describe(granted)}")
        revoke_access(ctx, steward, asked.id, "demo: project ended")
        after = client.get("/g_variants", params=query, headers=bearer).json()
        say(f"after revocation, the same passport: {_describe(after)}")
