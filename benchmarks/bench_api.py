"""Load test of the REST API on loopback: throughput and latency under concurrency.

    flock /tmp/medkg-cpu.lock python benchmarks/bench_api.py --db /tmp/medkg-curated/graph.lbug
    flock /tmp/medkg-cpu.lock python benchmarks/bench_api.py --neo4j-uri bolt://127.0.0.1:7687

Starts ``medkg serve`` as a separate process (uvicorn, one worker, a fresh random API key) on a
free loopback port against an existing graph (load it first, e.g. ``medkg load-curated --all``
plus ``ddinter --accept-noncommercial``), waits for ``/v1/health`` to say ``ready`` (the server builds the
resolver and the diagnosis index in the background at start-up), times one request each, then sends a bounded number of requests (``--requests``
per endpoint, stopping early at ``--max-seconds``) from ``--concurrency`` concurrent clients:

* ``POST /v1/interactions/check`` with seeded random 10-drug lists drawn from drug names in the graph;
* ``POST /v1/diagnosis/rank`` with seeded random 5-finding HPO lists drawn from annotated phenotypes.

Reports requests/s and client-side p50/p99 latency (including HTTP and JSON), and the count of
non-200 answers. Writes the "api" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import machine, write_section  # noqa: E402
from kg.config import StoreConfig  # noqa: E402
from kg.store import open_store  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pools(cfg: StoreConfig, seed: int) -> tuple[list[str], list[str]]:
    """Drug names that take part in an interaction, and annotated HPO phenotypes."""
    with open_store(cfg, read_only=cfg.kind == "ladybug") as st:
        drugs = [r["name"] for r in st.query(
            "MATCH (d:Drug)-[:INTERACTS_WITH]-(:Drug) WHERE d.name IS NOT NULL RETURN DISTINCT d.name AS name LIMIT 3000")]
        terms = [r["id"] for r in st.query(
            "MATCH (:Disease)-[:HAS_SYMPTOM]->(s:Symptom) WHERE s.id STARTS WITH 'HP:' RETURN DISTINCT s.id AS id LIMIT 5000")]
    if not drugs or not terms:
        raise SystemExit("the graph has no interactions or no HPO annotations: load the curated sources first")
    rng = random.Random(seed)
    rng.shuffle(drugs)
    rng.shuffle(terms)
    return drugs, terms


async def _run(base: str, key: str, path: str, bodies: list[dict[str, Any]], concurrency: int,
               max_seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    deadline = time.perf_counter() + max_seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while not queue.empty() and time.perf_counter() < deadline:
            body = queue.get_nowait()
            t = time.perf_counter()
            r = await client.post(path, json=body)
            latencies.append(time.perf_counter() - t)
            errors += r.status_code != 200

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": key}, timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    lat = sorted(latencies)
    return {
        "requests": len(lat), "errors": errors, "seconds": round(elapsed, 2),
        "rps": round(len(lat) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(1000 * statistics.median(lat), 1),
        "p99_ms": round(1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=None, help="embedded store to serve")
    parser.add_argument("--neo4j-uri", default=None, help="serve a Neo4j store instead")
    parser.add_argument("--requests", type=int, default=500, help="requests per endpoint")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=120.0, help="time cap per endpoint")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    cfg = StoreConfig.resolve(kind="neo4j" if args.neo4j_uri else "ladybug", path=args.db, uri=args.neo4j_uri)
    drugs, terms = _pools(cfg, args.seed)
    rng = random.Random(args.seed)
    inter = [{"drugs": rng.sample(drugs, 10), "include_evidence": True} for _ in range(args.requests)]
    diag = [{"findings": rng.sample(terms, 5), "top_k": 10} for _ in range(args.requests)]

    key = secrets.token_hex(24)
    port = _free_port()
    env = {**os.environ, "MEDKG_API_KEYS": key}
    store_args = ["--neo4j-uri", args.neo4j_uri] if args.neo4j_uri else ["--db", str(cfg.path)]
    server = subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "serve", "--host", "127.0.0.1", "--port", str(port), *store_args],
        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    up_s = ready_s = None
    try:
        # `medkg serve` answers at once and builds the resolver + diagnosis index in the background
        for _ in range(1200):
            try:
                health = httpx.get(f"{base}/v1/health", timeout=1)
                if health.status_code == 200:
                    up_s = up_s or time.perf_counter() - started
                    if health.json().get("ready"):
                        ready_s = time.perf_counter() - started
                        break
            except httpx.HTTPError:
                pass
            if server.poll() is not None:
                raise SystemExit(f"server exited: {server.stderr.read().decode(errors='replace')[-2000:] if server.stderr else ''}")
            time.sleep(0.25)
        if ready_s is None:
            raise SystemExit("the server did not report ready (resolver + diagnosis index) within 5 minutes")
        headers = {"X-API-Key": key}
        t = time.perf_counter()
        httpx.post(f"{base}/v1/interactions/check", json=inter[0], headers=headers, timeout=300).raise_for_status()
        warm_inter = time.perf_counter() - t
        t = time.perf_counter()
        httpx.post(f"{base}/v1/diagnosis/rank", json=diag[0], headers=headers, timeout=300).raise_for_status()
        warm_diag = time.perf_counter() - t
        results = {
            "interactions": asyncio.run(_run(base, key, "/v1/interactions/check", inter, args.concurrency, args.max_seconds)),
            "diagnosis": asyncio.run(_run(base, key, "/v1/diagnosis/rank", diag, args.concurrency, args.max_seconds)),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)

    store_name = f"Neo4j ({args.neo4j_uri})" if args.neo4j_uri else f"embedded LadybugDB ({cfg.path})"
    command = "flock /tmp/medkg-cpu.lock python benchmarks/bench_api.py " + (
        f"--neo4j-uri {args.neo4j_uri}" if args.neo4j_uri else f"--db {cfg.path}")
    rows = "\n".join(
        f"| `{ep}` | {r['requests']} | {args.concurrency} | {r['rps']} | {r['p50_ms']} | {r['p99_ms']} | {r['errors']} |"
        for ep, r in results.items()
    )
    body = "\n".join([
        f"## API load test ({store_name})",
        "",
        f"Command: `{command}` (requests {args.requests} per endpoint, concurrency {args.concurrency}, "
        f"cap {args.max_seconds:.0f} s, seed {args.seed}).",
        f"Machine: {machine()}; server and load generator share it (one uvicorn worker; the embedded store "
        "serialises queries on its single connection).",
        "Requests: interaction check of random 10-drug lists drawn from drugs that have interactions "
        "(names, resolved by the linker), evidence included; diagnosis ranking of random 5-term HPO lists.",
        f"Start-up: health answers after {up_s:.1f} s; background warm-up (linker KB + diagnosis index) ready after "
        f"{ready_s:.1f} s; first requests after that: interactions {warm_inter:.2f} s, diagnosis {warm_diag:.2f} s.",
        "",
        "| endpoint | requests | concurrency | requests/s | p50 ms | p99 ms | non-200 |",
        "|---|---|---|---|---|---|---|",
        rows,
    ])
    print(body)
    if not args.no_write:
        write_section("api-neo4j" if args.neo4j_uri else "api", body)


if __name__ == "__main__":
    main()
