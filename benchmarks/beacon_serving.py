"""Beacon v2 serving: allele queries per second and p99 latency over HTTP, with every answer audited.

A node is built once (cached in ``.bench-cache/beacon-node``) with a simulated cohort of at least
1,000 samples ingested into its variant store; ``genomed serve`` runs it in its own process; a
bounded load generator in a third process sends sequence queries (GET ``/g_variants`` with
``referenceName``, 0-based ``start``, ``referenceBases``, ``alternateBases``) for variants that
exist, over :data:`CONNECTIONS` keep-alive connections on loopback, for :data:`SECONDS` seconds
after a warm-up: once as fast as the node answers, once paced. Each answer is budget-charged
and audited by the node before it is sent (its audit entry committed to the database); the
benchmark checks afterwards that the audit trail holds one entry per answer.

Figures:

* ``beacon_qps`` — allele queries answered per second at saturation: each connection sends its
  next query as soon as it has its answer (goal >= 300);
* ``beacon_p99_ms`` — the 99th-percentile latency when queries are due at :data:`PACED_RATE` per
  second (a third above the throughput goal), measured from when each was due, so that a server
  falling behind is charged for the queue (goal <= 50 ms; the saturated run's p99 is printed too);
* ``beacon_vs_minimal_fastapi`` — ``beacon_qps`` over the rate the same load generator gets from
  a minimal FastAPI endpoint (a constant JSON object, no node behind it) under the same uvicorn
  settings on the same machine: the share of the framework's ceiling the Beacon keeps.

The load generator speaks HTTP/1.1 over asyncio streams itself rather than through an HTTP client
library: on a 2-core machine it shares the CPU with the server, and a full client (httpx) costs
about as much per request as the server does, which would measure the client.

Run: ``.venv/bin/python benchmarks/beacon_serving.py`` (or through ``run_all.py --only beacon_serving``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench-cache"
HOME = CACHE / "beacon-node"
SAMPLES = 1000
GENES = 40
CONNECTIONS = 16
SECONDS = 10.0
WARMUP_SECONDS = 2.0
QUERIES = 2000
PACED_RATE = 400.0  # requests due per second for the latency figure: a third above the 300/s goal

sys.path.insert(0, str(Path(__file__).resolve().parent))


def figure(value: float, unit: str, goal: str, baseline: str) -> dict[str, Any]:
    return {"value": round(value, 4), "unit": unit, "goal": goal, "baseline": baseline}


# -- the node ----------------------------------------------------------------------------------------------

def _cohort() -> Path:
    """A simulated cohort of >= SAMPLES samples: the variant_store benchmark's if it is cached, else ours."""
    from variant_store import simulated

    shared = CACHE / "cohort-2000-200"
    if (shared / "manifest.json").exists():
        return shared
    return simulated(f"cohort-{SAMPLES}-{GENES}", SAMPLES, GENES)


def build_node() -> Path:
    """The cached node: its store holds the simulated cohort (every sample counted: none withdrew)."""
    if (HOME / "ready.json").exists():
        return HOME
    from genomed.node import init_node
    from genomed.store.ingestion import open_stream, stream_into_batch
    from genomed.store.writer import BatchWriter

    vcf = _cohort() / "cohort.vcf.gz"
    shutil.rmtree(HOME, ignore_errors=True)
    started = time.perf_counter()
    ctx = init_node(HOME, node_name="Beacon benchmark", country="FR")
    try:
        stream = open_stream(vcf, "GRCh38")
        samples = len(stream.samples)
        writer = BatchWriter(ctx.config.store_dir, source="vcf", genome_build="GRCh38",
                             sample_ids=list(range(1_000_000, 1_000_000 + samples)), input_sha256=["b" * 64])
        _, batch = stream_into_batch(writer, [stream])
        stream.close()
        writer.finish(batch).commit()
    finally:
        ctx.close()
    (HOME / "ready.json").write_text(json.dumps({"vcf": str(vcf), "samples": samples}))
    print(f"   node with {samples} samples built in {time.perf_counter() - started:.0f} s", flush=True)
    return HOME


def share_settings(home: Path) -> None:
    """``sharing.toml``: one load generator is one identity, so its budget must outlast the run (every
    answer is still charged); everything else keeps its default."""
    (home / "sharing.toml").write_text("[guard]\nbudget_public = 1000000000\nbudget_registered = 1000000000\n")


def queries(vcf: Path, n: int = QUERIES) -> list[str]:
    """Allele queries (0-based start) for ``n`` variants present in the cohort."""
    from variant_store import sample_variants

    chosen = sample_variants(vcf, n, seed=11)
    return ["/g_variants?" + urlencode({"referenceName": chrom, "start": pos - 1, "referenceBases": ref,
                                        "alternateBases": alt}) for chrom, pos, ref, alt in chosen]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until_up(port: int, path: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not come up")


# -- the load generator (a process of its own) ---------------------------------------------------------------

async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> int:
    """One keep-alive GET; the response status (the body is read and dropped)."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    status_line = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def _load(port: int, paths: list[str], connections: int, seconds: float, warmup: float,
                rate: float | None) -> dict[str, Any]:
    """Closed loop (``rate`` None: each connection sends as soon as its answer came) or paced.

    Paced, requests are due at ``rate`` per second whatever the server does, and a request's latency
    runs from when it was due, not from when a free connection sent it: a server that falls behind
    is charged for the wait (no "coordinated omission").
    """
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    rng = random.Random(2026)
    start = time.perf_counter()
    record_after, stop_at = start + warmup, start + warmup + seconds
    due: asyncio.Queue[float] = asyncio.Queue()

    async def schedule() -> None:
        if rate is None:
            return
        n = 0
        while (when := start + n / rate) < stop_at:
            await asyncio.sleep(max(0.0, when - time.perf_counter()))
            due.put_nowait(when)
            n += 1

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                if rate is None:
                    sent = time.perf_counter()
                else:
                    try:
                        sent = await asyncio.wait_for(due.get(), timeout=max(0.0, stop_at - time.perf_counter()) + 0.5)
                    except TimeoutError:
                        return
                if sent >= stop_at:
                    return
                status = await _exchange(reader, writer, rng.choice(paths))
                if sent >= record_after:
                    latencies.append(time.perf_counter() - sent)
                    statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(schedule(), *(connection() for _ in range(connections)))
    latencies.sort()
    return {"requests": len(latencies), "seconds": seconds, "qps": len(latencies) / seconds,
            "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
            "statuses": statuses}


def run_load(port: int, paths_file: Path, connections: int = CONNECTIONS, seconds: float = SECONDS,
             rate: float | None = None) -> dict[str, Any]:
    """Run the load generator in a child process (so that it does not share this one's interpreter)."""
    output = subprocess.run([sys.executable, __file__, "--load", str(port), str(paths_file), str(connections),
                             str(seconds), str(rate or 0)], check=True, capture_output=True, text=True,
                            timeout=600).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


# -- the minimal FastAPI baseline ----------------------------------------------------------------------------

def serve_minimal(port: int) -> None:
    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    app = FastAPI()

    @app.get("/g_variants")
    async def constant() -> JSONResponse:
        return JSONResponse({"meta": {"beaconId": "minimal", "apiVersion": "v2.0.0"},
                             "responseSummary": {"exists": True}})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _serve(command: list[str], port: int, ready_path: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_up(port, ready_path)
    except RuntimeError:
        process.kill()
        raise
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def audited_answers(home: Path) -> int:
    from sqlalchemy import func, select

    from genomed.audit.models import AuditEntry
    from genomed.node import open_node

    with open_node(home) as ctx, ctx.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)
                                  .where(AuditEntry.action == "beacon.query")) or 0)


def run(connections: int = CONNECTIONS, seconds: float = SECONDS,
        rate: float = PACED_RATE) -> dict[str, dict[str, Any]]:
    home = build_node()
    share_settings(home)
    ready = json.loads((home / "ready.json").read_text())
    paths_file = CACHE / "beacon-queries.json"
    paths_file.write_text(json.dumps(queries(Path(ready["vcf"]))))

    port = free_port()
    minimal = _serve([sys.executable, __file__, "--minimal-server", str(port)], port, "/g_variants")
    try:
        baseline = run_load(port, paths_file, connections, seconds)
    finally:
        _stop(minimal)

    before = audited_answers(home)
    port = free_port()
    server = _serve([sys.executable, "-c", "from genomed.cli import entry_point; entry_point()", "--home", str(home),
                     "serve", "--port", str(port)], port, "/info")
    try:
        cpu_before = cpu_seconds(server.pid)
        saturated = run_load(port, paths_file, connections, seconds)
        server_cpu = cpu_seconds(server.pid) - cpu_before
        paced = run_load(port, paths_file, connections, seconds, rate)
    finally:
        _stop(server)
    audited = audited_answers(home) - before
    answered = sum(saturated["statuses"].values()) + sum(paced["statuses"].values())
    cpu_per_answer = 1000 * server_cpu / max(1, sum(saturated["statuses"].values()))
    found = json.loads(paths_file.read_text())[0]
    print(f"   {ready['samples']} samples, {connections} connections, {seconds:.0f} s after {WARMUP_SECONDS:.0f} s "
          f"warm-up, e.g. {found}\n"
          f"   saturated: {saturated['qps']:.0f} q/s, p50 {saturated['p50_ms']:.1f} ms, p99 {saturated['p99_ms']:.1f} "
          f"ms, server CPU {cpu_per_answer:.2f} ms per answer; statuses {saturated['statuses']}\n"
          f"   paced at {rate:.0f} q/s: {paced['qps']:.0f} q/s, p50 {paced['p50_ms']:.1f} ms, "
          f"p99 {paced['p99_ms']:.1f} ms; statuses {paced['statuses']}\n"
          f"   minimal FastAPI: {baseline['qps']:.0f} q/s, p99 {baseline['p99_ms']:.1f} ms; "
          f"audit entries {audited} (>= {answered} answers measured, warm-up included)", flush=True)
    for run_ in (saturated, paced):
        if set(run_["statuses"]) != {"200"}:
            raise RuntimeError(f"the beacon answered with statuses {run_['statuses']}")
    if audited < answered:
        raise RuntimeError(f"{answered} answers but only {audited} audit entries")
    note = (f"{ready['samples']} samples, {connections} keep-alive connections, loopback; every answer charged "
            f"and audited ({audited} entries)")
    return {
        "beacon_qps": figure(saturated["qps"], "queries/s", ">= 300",
                             f"saturated closed loop: p50 {saturated['p50_ms']:.1f} ms, p99 {saturated['p99_ms']:.1f} "
                             f"ms, server CPU {cpu_per_answer:.2f} ms per answer; {note}"),
        "beacon_p99_ms": figure(paced["p99_ms"], "ms", "<= 50",
                                f"requests due at {rate:.0f}/s (served {paced['qps']:.0f}/s), latency from when due; "
                                f"p50 {paced['p50_ms']:.1f} ms; {note}"),
        "beacon_vs_minimal_fastapi": figure(saturated["qps"] / baseline["qps"], "ratio", "(share of the ceiling)",
                                            f"minimal FastAPI endpoint, same uvicorn and load: "
                                            f"{baseline['qps']:.0f} queries/s, p99 {baseline['p99_ms']:.1f} ms"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--load", nargs=5, metavar=("PORT", "PATHS", "CONNECTIONS", "SECONDS", "RATE"))
    parser.add_argument("--minimal-server", type=int, metavar="PORT")
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument("--rate", type=float, default=PACED_RATE, help="Paced load for the latency figure.")
    args = parser.parse_args()
    if args.load:
        port, paths, connections, seconds, rate = args.load
        result = asyncio.run(_load(int(port), json.loads(Path(paths).read_text()), int(connections),
                                   float(seconds), WARMUP_SECONDS, float(rate) or None))
        print(json.dumps(result))
        return
    if args.minimal_server:
        serve_minimal(args.minimal_server)
        return
    os.environ.setdefault("PYTHONHASHSEED", "0")
    for name, entry in run(args.connections, args.seconds, args.rate).items():
        print(f"{name:<28} {entry['value']:>10.4g} {entry['unit']:<10} goal {entry['goal']:<22} ({entry['baseline']})")


if __name__ == "__main__":
    main()
