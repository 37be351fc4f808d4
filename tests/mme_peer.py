"""A real PatientMatcher node (PyPI ``patientMatcher``, an MME server used in production) on loopback.

Used by the interoperability tests and ``benchmarks/case_matching.py``. PatientMatcher runs in a
subprocess of its own (its Flask app installs logging handlers and we point two of its module
constants elsewhere: none of that must leak into the test process), configured as its operators
configure it:

* ``PMATCHER_CONFIG``: a config file naming its database, ``MAX_RESULTS`` and the score weights;
* its MongoDB is ``mongomock`` (the in-memory MongoDB its own test-suite uses: ``pymongo``'s
  ``MongoClient`` is replaced by ``mongomock.MongoClient`` before the app is created);
* a *client* (who may call its API, with a token) and a *node* (an external MME server it queries:
  ours, with the token we issued it and our ``/match`` URL), inserted with its own ``add_node``;
* its patients: the 50 MME benchmark patients, loaded with its own ``load_demo_patients``.

PatientMatcher converts gene symbols to Ensembl ids and lifts variants between builds by calling
the Ensembl REST API. The network is closed here, so its Ensembl base URL (a module constant, it
has no setting) points at a loopback gene-lookup service answering the three calls it makes from
the MANE release our node uses (symbol ↔ Ensembl gene ↔ Entrez). Liftover is answered with no
mapping (no chain file is shipped), so PatientMatcher compares variants on their own build only,
as we do. Nothing else of PatientMatcher is replaced: matching, scoring, persistence, HTTP and
its external-match client are its own code.

Run as a script it serves until killed and prints ``READY <port>`` once it accepts requests.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

MME_V1 = "application/vnd.ga4gh.matchmaker.v1.0+json"
PM_CLIENT_ID = "genomed-tests"
PM_NODE_ID = "genomed-node"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------ the gene lookups PatientMatcher asks Ensembl for

class _GeneLookup(BaseHTTPRequestHandler):
    resolver: object = None  # a genomed GeneResolver, set before serving

    def log_message(self, format: str, *args: object) -> None:
        return

    def _send(self, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        from genomed.share.matching.genes import GeneResolver

        resolver = self.resolver
        assert isinstance(resolver, GeneResolver)
        path = unquote(urlparse(self.path).path)
        if (found := re.search(r"/xrefs/symbol/homo_sapiens/([^/?]+)$", path)) is not None:
            record = resolver.by_symbol.get(found.group(1).upper())
            self._send([{"id": record.ensembl, "type": "gene"}] if record is not None else [])
        elif (found := re.search(r"/xrefs/id/(ENSG\d+)", path)) is not None:
            record = resolver.by_ensembl.get(found.group(1).upper())
            self._send([{"display_id": record.symbol, "dbname": "HGNC"}] if record is not None else [])
        elif (found := re.search(r"/xrefs/name/human/(\d+)$", path)) is not None:
            record = resolver.by_entrez.get(found.group(1))
            self._send([{"display_id": record.symbol}] if record is not None else [])
        elif (found := re.search(r"/lookup/id/(ENSG\d+)$", path)) is not None:
            record = resolver.by_ensembl.get(found.group(1).upper())
            self._send({"display_name": record.symbol} if record is not None else {})
        elif "/map/human/" in path:
            self._send({"mappings": []})  # no chain file here: no liftover
        else:
            self.send_error(404)


def _serve_gene_lookup() -> str:
    from genomed.share.matching.genes import GeneResolver

    _GeneLookup.resolver = GeneResolver.from_mane()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GeneLookup)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


# ----------------------------------------------------------------------------------------- the PatientMatcher node

def _serve(args: argparse.Namespace) -> None:
    import mongomock
    import patientMatcher.server
    import patientMatcher.utils.ensembl_rest_client as ensembl
    from patientMatcher.utils.add import add_node, load_demo_patients
    from werkzeug.serving import make_server

    lookup = _serve_gene_lookup()
    ensembl.RESTAPI_37 = ensembl.RESTAPI_38 = lookup
    workdir = Path(tempfile.mkdtemp(prefix="pmatcher-"))
    config = workdir / "pmatcher_config.py"
    config.write_text(f'DB_URI = "mongodb://127.0.0.1:27017/pmatcher"\nDB_NAME = "pmatcher"\nTESTING = True\n'
                      f"DEBUG = False\nMAX_RESULTS = {args.max_results}\nSCORE_THRESHOLD = 0\n"
                      "MAX_GT_SCORE = 0.75\nMAX_PHENO_SCORE = 0.25\n")
    os.environ["PMATCHER_CONFIG"] = str(config)
    patientMatcher.server.MongoClient = mongomock.MongoClient  # type: ignore[attr-defined]
    app = patientMatcher.server.create_app()
    if app is None:
        raise SystemExit("PatientMatcher did not start (missing HPO resources?)")
    now = dt.datetime.now(dt.UTC)
    add_node(app.db, {"_id": PM_CLIENT_ID, "created": now, "auth_token": args.client_token,
                      "base_url": args.our_url or "http://127.0.0.1"}, is_client=True)
    if args.our_url:
        add_node(app.db, {"_id": PM_NODE_ID, "label": "genomed node under test", "created": now,
                          "auth_token": args.node_token, "matching_url": args.our_url.rstrip("/") + "/match",
                          "accepted_content": MME_V1, "contact": "datasteward@example.org"}, is_client=False)
    if args.patients:
        loaded = load_demo_patients(args.patients, app.db, convert_to_ensembl=True)
        if not loaded:
            raise SystemExit(f"PatientMatcher loaded no patient from {args.patients}")
    server = make_server("127.0.0.1", args.port, app, threaded=False)
    print(f"READY {server.server_port}", flush=True)
    server.serve_forever()


@dataclass
class PatientMatcherPeer:
    url: str
    client_token: str
    """The X-Auth-Token of PatientMatcher's client: what our node (and the tests) send to its API."""
    process: subprocess.Popen[str]


@contextlib.contextmanager
def patientmatcher_peer(*, client_token: str, node_token: str = "", our_url: str = "", patients: Path | None = None,
                        port: int = 0, max_results: int = 5, timeout: float = 60.0) -> Iterator[PatientMatcherPeer]:
    """PatientMatcher serving on loopback until the block ends (see the module docstring)."""
    command = [sys.executable, __file__, "--client-token", client_token, "--node-token", node_token,
               "--our-url", our_url, "--port", str(port), "--max-results", str(max_results)]
    if patients is not None:
        command += ["--patients", str(patients)]
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + timeout
        line = ""
        assert process.stdout is not None
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if line.startswith("READY") or (not line and process.poll() is not None):
                break
        if not line.startswith("READY"):
            process.kill()
            _, err = process.communicate(timeout=10)
            raise RuntimeError(f"PatientMatcher did not start: {err[-2000:]}")
        yield PatientMatcherPeer(f"http://127.0.0.1:{int(line.split()[1])}", client_token, process)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client-token", required=True)
    parser.add_argument("--node-token", default="")
    parser.add_argument("--our-url", default="")
    parser.add_argument("--patients", default="")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-results", type=int, default=5)
    args = parser.parse_args()
    # PatientMatcher writes its log to stderr; keep ours quiet so the parent reads READY on stdout.
    _serve(args)


if __name__ == "__main__":
    main()
