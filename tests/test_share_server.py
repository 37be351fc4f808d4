"""The node application as a whole: what routing itself refuses still answers in Beacon's shape."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from beacon_support import assert_valid
from genomed.node import init_node
from genomed.share.node import SharingNode
from genomed.share.server import create_app


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    ctx = init_node(Path(tmp_path_factory.mktemp("server")) / "node", node_name="Lyon", country="FR")
    with TestClient(create_app(SharingNode.open(ctx))) as test_client:
        yield test_client
    ctx.close()


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/no/such/endpoint", 404),
    ("GET", "/g_variants/extra/levels/deep", 404),
    ("DELETE", "/info", 405),
    ("PUT", "/individuals", 405),
])
def test_unrouted_requests_get_a_beacon_error_response(client: TestClient, method: str, path: str,
                                                       status: int) -> None:
    response = client.request(method, path)
    assert response.status_code == status
    body = response.json()
    assert body["error"]["errorCode"] == status
    assert_valid(body, "framework/json/responses/beaconErrorResponse.json")


def test_match_keeps_its_own_error_shape(client: TestClient) -> None:
    response = client.get("/match")
    assert response.status_code == 405
    assert "error" not in response.json()


def test_genomed_serve_starts_a_node_with_the_home_given_after_the_command(tmp_path: Path) -> None:
    """``genomed serve --home DIR --port N``, as an operator writes it, serves the node until stopped."""
    import subprocess
    import sys
    import time

    import httpx

    from genomed.share.serving import free_port

    home = tmp_path / "node"
    init_node(home, node_name="Uppsala", country="SE").close()
    port = free_port()
    genomed = Path(sys.executable).parent / "genomed"
    process = subprocess.Popen([str(genomed), "serve", "--home", str(home), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/info", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else b""
                assert time.monotonic() < deadline, "genomed serve did not answer within 60 s"
                time.sleep(0.2)
        assert response.status_code == 200
        assert_valid(response.json(), "framework/json/responses/beaconInfoResponse.json")
    finally:
        process.terminate()
        process.wait(timeout=20)
