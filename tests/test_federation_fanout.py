"""The fan-out reports each kind of peer failure, each within its own deadline, and reads Beacon answers."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from genomed.share.federation.fanout import FederationClient, NodeAnswer, Status, read_beacon_answer
from genomed.share.federation.merge import merged_response
from genomed.share.federation.signing import HEADER_NODE, HEADER_SIGNATURE, RequestSigner
from genomed.share.settings import Peer


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def serve_raw(reply: bytes | None) -> tuple[asyncio.Server, int, list[bytes]]:
    """A real TCP server answering every request with ``reply`` (``None``: never answering)."""
    received: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        received.append(head + await reader.readexactly(length))
        if reply is None:
            await asyncio.sleep(30)
        else:
            writer.write(reply)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, int(server.sockets[0].getsockname()[1]), received


def http(status: str, body: bytes) -> bytes:
    return (f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            f"connection: close\r\n\r\n").encode() + body


BEACON = (b'{"meta": {"beaconId": "org.genomed.dk", "returnedGranularity": "count"}, '
          b'"responseSummary": {"exists": true, "numTotalResults": 9}, '
          b'"response": {"resultSets": [{"id": "dk-wgs", "setType": "dataset", "exists": true, "resultsCount": 9, '
          b'"results": []}]}}')


async def _fan_out() -> tuple[list[NodeAnswer], float, list[bytes]]:
    silent, silent_port, _ = await serve_raw(None)
    garbage, garbage_port, _ = await serve_raw(http("200 OK", b"<html>not a beacon</html>"))
    refusing, refusing_port, _ = await serve_raw(http("429 Too Many Requests", b"{}"))
    beacon, beacon_port, received = await serve_raw(http("200 OK", BEACON))
    peers = [Peer("Sweden", "SE", f"http://127.0.0.1:{silent_port}"),
             Peer("Denmark", "DK", f"http://127.0.0.1:{beacon_port}/beacon/"),
             Peer("UK", "GB", f"http://127.0.0.1:{closed_port()}"),
             Peer("Norway", "NO", f"http://127.0.0.1:{garbage_port}"),
             Peer("Finland", "FI", f"http://127.0.0.1:{refusing_port}")]
    client = FederationClient(RequestSigner(Ed25519PrivateKey.generate()), peers)
    started = time.perf_counter()
    try:
        answers = await client.ask_all("/g_variants", {"meta": {"apiVersion": "v2.0.0"}}, timeout=0.5)
    finally:
        await client.aclose()
        for server in (silent, garbage, refusing, beacon):
            server.close()
    return answers, time.perf_counter() - started, received


def test_each_peer_failure_is_named_and_costs_at_most_the_deadline() -> None:
    answers, elapsed, received = asyncio.run(_fan_out())
    by_node = {a.node: a for a in answers}
    assert [a.node for a in answers] == ["Sweden", "Denmark", "UK", "Norway", "Finland"]
    assert by_node["Sweden"].status is Status.TIMEOUT and by_node["Sweden"].latency_ms >= 500
    assert by_node["UK"].status is Status.UNREACHABLE and "ConnectError" in by_node["UK"].detail
    assert by_node["Norway"].status is Status.BAD_RESPONSE
    assert (by_node["Finland"].status, by_node["Finland"].detail) == (Status.BAD_RESPONSE, "HTTP 429")
    denmark = by_node["Denmark"]
    assert (denmark.status, denmark.exists, denmark.count, denmark.granularity, denmark.beacon_id) == (
        Status.OK, True, 9, "count", "org.genomed.dk")
    assert elapsed < 2.0  # the dead and silent peers cost one deadline, concurrently
    # the request went to the peer's path prefix, signed
    head = received[0].split(b"\r\n\r\n")[0].decode().lower()
    assert head.startswith("post /beacon/g_variants http/1.1")
    assert HEADER_SIGNATURE.lower() in head and HEADER_NODE.lower() in head

    merged = merged_response(answers, beacon_id="org.genomed.fr", request_summary={}, timeout=0.5, elapsed_ms=1.0)
    assert merged["responseSummary"] == {"exists": True, "numTotalResults": 9}
    assert [s["id"] for s in merged["response"]["resultSets"]] == ["Denmark"]
    assert merged["response"]["resultSets"][0]["info"]["datasets"] == [
        {"id": "dk-wgs", "exists": True, "resultsCount": 9}]
    assert [(u["node"], u["status"]) for u in merged["info"]["unreachable"]] == [
        ("Sweden", "timeout"), ("UK", "unreachable"), ("Norway", "bad_response"), ("Finland", "bad_response")]


@pytest.mark.parametrize("document", [
    [], {"meta": {}}, {"meta": {"returnedGranularity": "count"}, "responseSummary": {"exists": "yes"}},
    {"meta": {"returnedGranularity": "all"}, "responseSummary": {"exists": True}},
])
def test_what_is_not_a_beacon_answer_is_refused(document: object) -> None:
    with pytest.raises(ValueError):
        read_beacon_answer(document)


def test_a_boolean_answer_never_shows_a_count() -> None:
    answer = read_beacon_answer({"meta": {"returnedGranularity": "boolean"},
                                 "responseSummary": {"exists": True, "numTotalResults": 3},
                                 "response": {"resultSets": [{"id": "a", "exists": True, "resultsCount": 3}]}})
    assert answer.count is None and answer.datasets[0].count is None
    negative = read_beacon_answer({"meta": {"returnedGranularity": "count"},
                                   "responseSummary": {"exists": True, "numTotalResults": -1}})
    assert negative.count is None
