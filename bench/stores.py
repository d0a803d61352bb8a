"""DynamoDB store query latency at 1k, 10k and 50k chunks: where the cheap store stops fitting.

The DynamoDB store loads a workspace's whole partition on a cold search, then scores it in
memory. This prints, per workspace size, p50/p95 of a cold query (first search after
``invalidate``: paginated Query + decode + numpy) and of a warm query (cached partition: one
matrix-vector product + top-k), for vector and keyword (bm25s, index built on first use) search,
plus the partition's memory.

DynamoDB here is moto, in process: every page still goes through botocore's serialisation and
parsing as in Lambda, but there is no network and moto's own per-request work replaces the
service's. Real cold loads add the network (~1 MB per page, roughly 10-30 ms a page inside a
region) and consume read capacity (~0.5 RCU per 4 KB, strongly consistent: 1 RCU). Embeddings
are random 384-d unit vectors, texts ~600 characters of repo prose.

    .venv/bin/python bench/stores.py [--sizes 1000 10000 50000 --warm 50 --cold 5]
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import time

import boto3
import botocore.parsers
import botocore.session
import numpy as np
from _corpus import paragraphs
from chorus.runtime.adapters.dynamodb_store import DynamoDBVectorStore, _item_size, create_table
from chorus.runtime.core.models import Chunk
from moto import mock_aws

DIM = 384


def percentiles(samples: list[float]) -> str:
    a = np.asarray(samples)
    return f"p50 {np.percentile(a, 50):8.1f} ms   p95 {np.percentile(a, 95):8.1f} ms"


def ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def chunks(workspace: str, n: int, rng: np.random.Generator, texts: list[str]) -> list[Chunk]:
    vectors = rng.normal(size=(n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    per_doc = 50
    return [
        Chunk(
            id=f"{workspace}/d{i // per_doc}/{i % per_doc}",
            workspace_id=workspace,
            document_id=f"d{i // per_doc}",
            ordinal=i % per_doc,
            text=texts[i % len(texts)][:600],
            embedding=vectors[i],
        )
        for i in range(n)
    ]


class ReplayClient:
    """Answers Query with DynamoDB wire-format pages, parsed by botocore's real JSON parser.

    The pages are what the service would send for the partition: items serialised by the store
    itself, cut at DynamoDB's 1 MB page size. Only the network and the service are missing, so
    a cold load here is the client-side cost a Lambda pays on top of them.
    """

    def __init__(self, store: DynamoDBVectorStore, data: list[Chunk]) -> None:
        model = botocore.session.get_session().get_service_model("dynamodb")
        self._shape = model.operation_model("Query").output_shape
        self._parser = botocore.parsers.create_parser("json")
        items = [store._item(c) for c in data]
        self.pages: dict[str, bytes] = {}
        start, page, size = "", [], 0
        for item in items:
            page.append(item)
            size += _item_size(item)
            if size >= 1024 * 1024:
                last = {k: item[k] for k in ("workspace_id", "sk")}
                self.pages[start] = self._body(page, last)
                start, page, size = json.dumps(last, sort_keys=True), [], 0
        self.pages[start] = self._body(page, None)

    @staticmethod
    def _body(items: list[dict], last: dict | None) -> bytes:
        def wire(value: dict) -> dict:
            (kind, raw), *_ = value.items()
            return {kind: base64.b64encode(raw).decode() if kind == "B" else raw}

        body: dict = {
            "Items": [{k: wire(v) for k, v in item.items()} for item in items],
            "Count": len(items),
            "ScannedCount": len(items),
        }
        if last:
            body["LastEvaluatedKey"] = last
        return json.dumps(body).encode()

    def query(self, **params) -> dict:
        start = params.get("ExclusiveStartKey")
        body = self.pages[json.dumps(start, sort_keys=True) if start else ""]
        response = {"status_code": 200, "headers": {}, "body": body}
        return self._parser.parse(response, self._shape)

    @property
    def megabytes(self) -> float:
        return sum(len(b) for b in self.pages.values()) / 2**20


def bench_size(
    store: DynamoDBVectorStore, workspace: str, n: int, warm: int, cold: int, seed: int
) -> tuple[list[float], list[float], list[float], list[float], float]:
    rng = np.random.default_rng(seed)
    pool = paragraphs()
    random.Random(seed).shuffle(pool)
    queries = rng.normal(size=(max(warm, cold), DIM)).astype(np.float32)
    words = [w for p in pool[:50] for w in p.split()[:3]]

    cold_vector, cold_keyword = [], []
    for i in range(cold):
        store.invalidate(workspace)
        started = time.perf_counter()
        store.vector_search(workspace, queries[i], k=40)
        cold_vector.append(ms(started))
        started = time.perf_counter()
        store.keyword_search(workspace, words[i], k=40)  # first keyword search builds bm25s
        cold_keyword.append(ms(started))
    warm_vector, warm_keyword = [], []
    for i in range(warm):
        started = time.perf_counter()
        store.vector_search(workspace, queries[i], k=40)
        warm_vector.append(ms(started))
        started = time.perf_counter()
        store.keyword_search(workspace, " ".join(words[i : i + 3]), k=40)
        warm_keyword.append(ms(started))
    partition = store._partition(workspace)
    memory_mb = (partition.matrix.nbytes + sum(len(t) for t in partition.texts)) / 2**20
    return cold_vector, cold_keyword, warm_vector, warm_keyword, memory_mb


def report(title: str, figures: tuple) -> None:
    cold_vector, cold_keyword, warm_vector, warm_keyword, memory_mb = figures
    print(f"\n{title}; ~{memory_mb:.0f} MB cached in memory")
    print(f"  cold vector  (load + score)         {percentiles(cold_vector)}")
    print(f"  cold keyword (+ bm25s index build)  {percentiles(cold_keyword)}")
    print(f"  warm vector                         {percentiles(warm_vector)}")
    print(f"  warm keyword                        {percentiles(warm_keyword)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 50_000])
    parser.add_argument("--moto-sizes", type=int, nargs="*", default=[1000])
    parser.add_argument("--warm", type=int, default=50)
    parser.add_argument("--cold", type=int, default=5)
    args = parser.parse_args()
    pool = paragraphs()

    print("1) DynamoDB store under moto, in process: end to end, but moto's own work per page")
    print("   (~1-2 s per 1 MB page) dominates the cold figures; it is not DynamoDB's.")
    for n in args.moto_sizes:
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1")
            create_table(client, "bench-chunks")
            store = DynamoDBVectorStore(client, "bench-chunks", cache_ttl_seconds=3600)
            data = chunks("ws", n, np.random.default_rng(n), pool)
            started = time.perf_counter()
            for doc in sorted({c.document_id for c in data}):
                store.replace_document_chunks("ws", doc, [c for c in data if c.document_id == doc])
            written = ms(started) / 1000
            report(
                f"moto, {n:,} chunks (written in {written:.1f} s)",
                bench_size(store, "ws", n, args.warm, args.cold, n),
            )

    print("\n2) DynamoDB store over replayed wire pages (botocore's real parser, no network and")
    print("   no service): the client-side cost of a cold load. Add per 1 MB page the network and")
    print("   service time in a region (roughly 10-30 ms a page) for a Lambda's cold search.")
    for n in args.sizes:
        store = DynamoDBVectorStore(None, "bench-chunks", cache_ttl_seconds=3600)
        data = chunks("ws", n, np.random.default_rng(n), pool)
        store.client = replay = ReplayClient(store, data)
        report(
            f"replay, {n:,} chunks ({len(replay.pages)} pages, {replay.megabytes:.0f} MB of JSON)",
            bench_size(store, "ws", n, args.warm, args.cold, n),
        )


if __name__ == "__main__":
    main()
