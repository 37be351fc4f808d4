"""End to end over HTTP: a researcher's access request turns Beacon answers into records, and revoking
it turns them back into counts on the very next query.

The node runs its whole sharing application under uvicorn on loopback; the researcher and the
steward act through the ``genomed access`` commands (each opens the node anew, as separate
processes would), and the researcher queries ``/g_variants`` with the passport the node printed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from beacon_support import Cohort, assert_beacon_answer, build_cohort
from genomed.cli import main
from genomed.context import NodeContext
from genomed.node import init_node
from genomed.share.settings import BeaconSettings, GuardSettings, SharingSettings
from mme_peer import free_port
from mme_support import serve_node

DATASET = "org.genomed.fr"
# chr1:3000 G>A: 5 carriers share internationally, 2 more only nationally (beacon_support.SITES).
QUERY = "referenceName=1&start=2999&referenceBases=G&alternateBases=A&requestedGranularity=record"


@pytest.fixture
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[NodeContext, Cohort]]:
    ctx = init_node(tmp_path / "node", node_name="HTTP node", country="FR")
    monkeypatch.setenv("GENOMED_HOME", str(ctx.config.home))
    try:
        yield ctx, build_cohort(ctx)
    finally:
        ctx.close()


def genomed(capsys: pytest.CaptureFixture[str], user: str, *args: str) -> str:
    code = main(["--user", user, "access", *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def variants(url: str, passport: str) -> dict[str, Any]:
    response = httpx.get(f"{url}/g_variants?{QUERY}", headers={"Authorization": f"Bearer {passport}"}, timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert_beacon_answer(body, "g_variants")
    return body


def test_records_after_approval_and_counts_right_after_revocation(node: tuple[NodeContext, Cohort],
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    ctx, cohort = node
    port = free_port()
    settings = SharingSettings(beacon=BeaconSettings(id=DATASET, public_url=f"http://127.0.0.1:{port}"),
                               # a steep ramp: 7 carriers at min_count 4 are answered "yes" but for 1 time in 10^18
                               guard=GuardSettings(min_count=4, membership_odds=1e6, budget_registered=1000))
    settings.save(ctx.config.home)
    with serve_node(ctx, settings) as (url, _):
        out = genomed(capsys, "res", "request", "--dataset", DATASET, "--purpose", "Intellectual disability genes",
                      "--country", "FR")
        request_id = out.split()[2]
        registered = genomed(capsys, "res", "passport").strip()
        before = variants(url, registered)
        assert before["meta"]["returnedGranularity"] == "count"
        assert before["responseSummary"] == {"exists": True, "numTotalResults": 1}
        assert "response" not in before

        genomed(capsys, "steward", "approve", request_id, "--days", "30")
        passport = genomed(capsys, "res", "passport").strip()
        granted = variants(url, passport)
        assert granted["meta"]["returnedGranularity"] == "record"
        (record,) = granted["response"]["resultSets"][0]["results"]
        # A French researcher: the donors who consented to national sharing only are included.
        assert {c["individualId"] for c in record["caseLevelData"]} == set(cohort.pseudonyms[:5]
                                                                           + cohort.pseudonyms[8:10])

        genomed(capsys, "steward", "revoke", request_id, "--reason", "end of the project")
        after = variants(url, passport)  # the same passport, the very next query
        assert after["meta"]["returnedGranularity"] == "count"
        assert "response" not in after
        assert after["responseSummary"] == {"exists": True, "numTotalResults": 1}
