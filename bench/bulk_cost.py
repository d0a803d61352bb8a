"""Cloud bulk ingestion: cost per 10,000 objects and objects per minute at a MaxConcurrency.

A model, not a measurement (no AWS account here): unit prices from ``components/prices.py``
(us-east-1, see its AS_OF), and per-object assumptions given as flags. Prints the cost split
(Step Functions, Lambda, S3, DynamoDB, embedding) for EXPRESS and STANDARD child executions,
and objects/minute for several MaxConcurrency values with what caps them.

    .venv/bin/python bench/bulk_cost.py [--objects 10000] [--kib 8] [--seconds-per-object 0.5]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from components.prices import PRICES, TOKENS_PER_THOUSAND


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--kib", type=float, default=8.0, help="text per object (KiB)")
    parser.add_argument("--batch", type=int, default=20, help="MaxItemsPerBatch")
    parser.add_argument(
        "--seconds-per-object",
        type=float,
        default=0.5,
        help="Lambda time per object: GET + parse + chunk + embedding calls + store write",
    )
    parser.add_argument("--memory-gb", type=float, default=2.0, help="batch function memory")
    parser.add_argument("--chunk-chars", type=int, default=1000)
    parser.add_argument("--overlap-chars", type=int, default=200)
    parser.add_argument("--embedding", default="amazon.titan-embed-text-v2:0")
    args = parser.parse_args()
    P = PRICES
    n, batches = args.objects, math.ceil(args.objects / args.batch)
    chars = args.kib * 1024
    chunks = max(1, math.ceil(chars / (args.chunk_chars - args.overlap_chars)))
    tokens = n * chunks * args.chunk_chars / 4  # ~4 characters a token
    batch_s = args.batch * args.seconds_per_object
    lambda_usd = (
        batches * batch_s * args.memory_gb * P["lambda_gb_second"]
        + batches * P["lambda_request_million"] / 1e6
    )
    express_usd = (
        batches * P["express_request_million"] / 1e6
        + batches * math.ceil(batch_s * 10) / 10 * 0.0625 * P["express_gb_second"]
    )
    standard_children_usd = batches * 3 * P["standard_transition_million"] / 1e6
    parent_usd = 8 * P["standard_transition_million"] / 1e6  # map, 2 tasks, start/end
    s3_usd = (
        math.ceil(n / 1000) * P["s3_list_million"] / 1e6
        + n * P["s3_get_million"] / 1e6
        + 2 * P["s3_put_million"] / 1e6  # ResultWriter: manifest + results files
    )
    # per object: document read + progress (2 reads), claim + lease + finish (3 writes)
    dynamo_usd = (
        n * (2 * P["dynamodb_read_million"] / 1e6 + 3 * P["dynamodb_write_million"] / 1e6)
        + batches * P["dynamodb_write_million"] / 1e6
    )
    embed_usd = tokens / 1000 * TOKENS_PER_THOUSAND[args.embedding][0]
    common = lambda_usd + s3_usd + dynamo_usd + embed_usd + parent_usd
    print(
        f"{n} objects of {args.kib:g} KiB ({chunks} chunks each, {tokens / 1e6:.1f}M tokens), "
        f"{batches} batches of {args.batch}, {batch_s:.0f} s per batch at {args.memory_gb:g} GB"
    )
    for label, usd in (
        ("embedding (" + args.embedding + ")", embed_usd),
        ("Lambda (GB-s + requests)", lambda_usd),
        ("Step Functions EXPRESS children", express_usd),
        ("Step Functions STANDARD children (alternative)", standard_children_usd),
        ("Step Functions parent execution", parent_usd),
        ("S3 LIST + GET + results PUT", s3_usd),
        ("DynamoDB records + progress", dynamo_usd),
    ):
        print(f"  {label:48s} ${usd:8.4f}")
    print(
        f"total per {n} objects: ${common + express_usd:.3f} with EXPRESS children, "
        f"${common + standard_children_usd:.3f} with STANDARD children "
        "(vector store writes not included: see docs/cost.md for each store)"
    )
    print("objects/minute = MaxConcurrency x 60 / seconds-per-object (until a cap binds):")
    for concurrency in (1, 5, 10, 40, 100):
        per_minute = concurrency * 60 / args.seconds_per_object
        chunks_s = per_minute * chunks / 60
        minutes = n / per_minute
        print(
            f"  MaxConcurrency {concurrency:3d}: {per_minute:8.0f} objects/min, "
            f"{chunks_s:6.0f} embedding calls/s, {n} objects in {minutes:6.1f} min"
        )


if __name__ == "__main__":
    main()
