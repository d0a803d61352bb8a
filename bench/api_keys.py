"""What checking an API key costs per public API request: parse, look up, hash, spend.

Runs ``application.api_keys.authenticate`` (the code every ``/v1`` request runs first) against
the embedded PostgreSQL and against DynamoDB on moto (in-process: moto's figures say what the
adapter's own work costs, not DynamoDB's network latency), sequentially and from several threads
on ONE key (the worst case: every request contends for the same row; PostgreSQL only, as moto
does not isolate concurrent conditional writes). Prints figures; asserts nothing.

    python bench/api_keys.py [--requests 400] [--threads 4]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chorus.runtime.application.api_keys import authenticate
from chorus.runtime.core.api_keys import LimitExceeded, UsagePlan, issue_key
from chorus.runtime.core.models import Workspace

PLAN = UsagePlan(rate_per_second=1e6, burst=1_000_000, daily_quota=10_000_000)


@dataclass
class KeyBackend:
    """Just what ``authenticate`` reads: the key store."""

    api_keys: Any


def run(label: str, keys: Any, metadata: Any, requests: int, threads: int) -> None:
    metadata.create_workspace(Workspace("bench", "bench", "minilm", 384))
    raw, record = issue_key("bench", "bench", "bench", time.time(), PLAN)
    keys.add_key(record)
    backend = KeyBackend(keys)
    latencies: list[float] = []
    for _ in range(requests):
        started = time.perf_counter()
        authenticate(backend, raw, "bench", "answers", time.time())  # type: ignore[arg-type]
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    p50 = statistics.median(latencies)
    p95 = latencies[int(0.95 * len(latencies)) - 1]
    print(f"{label}: sequential {requests} checks, p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    if threads == 0:
        print(f"{label}: no threaded run (moto applies concurrent conditional writes unisolated)")
        return

    refused = 0
    lock = threading.Lock()

    def worker() -> None:
        nonlocal refused
        for _ in range(requests // threads):
            try:
                authenticate(backend, raw, "bench", "answers", time.time())  # type: ignore[arg-type]
            except LimitExceeded:  # DynamoDB: lost the race 8 times in a row
                with lock:
                    refused += 1

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    started = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    done = (requests // threads) * threads
    used = keys.get_key("bench", record.key_id).usage.day_used
    expected = requests + done - refused
    print(
        f"{label}: {threads} threads on one key, {done / elapsed:.0f} checks/s, "
        f"{refused} refused after lost races, stored count {used} (expected {expected})"
    )


def postgres(requests: int, threads: int) -> None:
    from chorus.runtime.adapters.postgres import PostgresDatabase
    from chorus.runtime.adapters.postgres_api_keys import PostgresApiKeys
    from chorus.runtime.adapters.postgres_metadata import PostgresMetadataStore
    from chorus.runtime.local.embedded_postgres import start_embedded_postgres

    with tempfile.TemporaryDirectory() as folder:
        server, dsn = start_embedded_postgres(Path(folder) / "pg", cleanup_mode="delete")
        db = PostgresDatabase(dsn)
        try:
            metadata = PostgresMetadataStore(db)  # the keys' table refers to its workspaces
            run("postgres", PostgresApiKeys(db), metadata, requests, threads)
        finally:
            db.close()
            del server


def dynamodb(requests: int, threads: int) -> None:
    import os

    import boto3
    from chorus.runtime.adapters.dynamodb_api_keys import DynamoDBApiKeys
    from chorus.runtime.adapters.dynamodb_metadata import (
        DynamoDBMetadataStore,
        TableNames,
        create_tables,
    )
    from moto import mock_aws

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    tables = TableNames("ws", "docs", "sessions", "connections")
    with mock_aws():
        create_tables(boto3.client("dynamodb", region_name="us-east-1"), tables)
        resource = boto3.resource("dynamodb", region_name="us-east-1")
        keys = DynamoDBApiKeys(resource, tables.workspace)
        run("dynamodb (moto)", keys, DynamoDBMetadataStore(resource, tables), requests, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    postgres(args.requests, args.threads)
    dynamodb(args.requests, args.threads)


if __name__ == "__main__":
    main()
