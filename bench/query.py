"""Query latency on a few-thousand-chunk local workspace.

Prints p50/p95 of retrieval (vector, hybrid, hybrid + rerank) and of a full local answer
(retrieval + extractive answer + grounding + relevance + storing both turns) without an LLM.
Target: full answer p95 < 300 ms. Then the per-turn judges alone, in-process: the grounding
judge and the relevance scorer on each full answer with its context, median over many calls,
and their share of the full answer's median — a ratio that holds when machine load (other
processes on the shared cores) moves both. The reranker is an untrained cross-encoder built
from the MiniLM weights: it costs what a MiniLM-L6 cross-encoder costs, its scores mean
nothing.

    .venv/bin/python bench/query.py [--documents 600 --queries 60]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
from _corpus import documents, paragraphs
from chorus.runtime.adapters.sentence_transformers import (
    CrossEncoderReranker,
    default_embedding_model_path,
)
from chorus.runtime.core.context import assemble_context
from chorus.runtime.core.ingestion import DocumentInput
from chorus.runtime.core.protocol import SendMessageData
from chorus.runtime.core.retrieval import RetrievalSettings, Retriever
from chorus.runtime.local.services import open_services
from chorus.runtime.local.settings import LocalSettings

REPEATS = 20


def percentiles(samples: list[float]) -> str:
    a = np.asarray(samples)
    return f"p50 {np.percentile(a, 50):6.1f} ms   p95 {np.percentile(a, 95):6.1f} ms"


def timed(fn, queries: list[str]) -> list[float]:
    out = []
    for q in queries:
        started = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - started) * 1000)
    return out


def untrained_cross_encoder(folder: Path) -> Path:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(0)
    source = default_embedding_model_path()
    AutoModelForSequenceClassification.from_pretrained(source, num_labels=1).save_pretrained(folder)
    AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=600)
    parser.add_argument("--queries", type=int, default=60)
    args = parser.parse_args()
    rng = random.Random(3)
    pool = paragraphs()
    # Each row gets questions of its own: chorus remembers query embeddings, and a row must
    # not ride on the vectors an earlier row computed.
    question_sets = [
        [" ".join(rng.choice(pool).split()[: rng.randint(5, 12)]) for _ in range(args.queries)]
        for _ in range(6)
    ]
    with tempfile.TemporaryDirectory(prefix="chorus-bench-", dir="/tmp") as home:
        services = open_services(LocalSettings(home=Path(home)))
        workspace = services.create_workspace("bench")
        summary = services.ingestor.ingest_many(
            workspace,
            (DocumentInput(n, t.encode()) for n, t in documents(args.documents)),
        )
        print(f"workspace: {summary.chunks} chunks in {args.documents} documents")
        reranker = CrossEncoderReranker(untrained_cross_encoder(Path(home) / "ce"))
        reranking = Retriever(services.embedder, services.store, reranker)
        for q in question_sets[5][:5]:  # warm code paths (not the questions measured)
            services.retriever.retrieve(workspace.id, q)
            reranking.retrieve(workspace.id, q)

        def answer(q: str) -> None:
            request = SendMessageData(workspaceId=workspace.id, text=q)
            final = services.chat.chat(request, user_id="bench", send=lambda e: True)
            assert final["type"] == "final", final

        rows = {
            "retrieval vector": lambda q: services.retriever.retrieve(
                workspace.id, q, settings=RetrievalSettings(mode="vector")
            ),
            "retrieval hybrid": lambda q: services.retriever.retrieve(workspace.id, q),
            "retrieval hybrid, adaptive fusion": lambda q: services.retriever.retrieve(
                workspace.id, q, settings=RetrievalSettings(fusion="adaptive")
            ),
            "retrieval hybrid+rerank (30)": lambda q: reranking.retrieve(workspace.id, q),
            "full answer, extractive": answer,
        }
        medians: dict[str, float] = {}
        for (name, fn), questions in zip(rows.items(), question_sets, strict=False):
            samples = timed(fn, questions)
            medians[name] = float(np.median(samples))
            print(f"{name:32s} {percentiles(samples)}")
        judge_costs(services, workspace.id, question_sets[4], medians["full answer, extractive"])
        services.close()


def judge_costs(services, workspace_id: str, questions: list[str], full_ms: float) -> None:
    """The turn's judges alone on the turn's own answer and context (the extractive answer,
    as the full-answer row gave it), median of ``REPEATS`` calls per question. The grounding
    judge's context memo is cleared before each call, so every call embeds the context's
    sentences when a claim is not a verbatim quote, as a turn's first check does."""
    chat = services.chat
    grounding: list[float] = []
    relevance: list[float] = []
    for q in questions:
        hits = services.retriever.retrieve(workspace_id, q)
        context = assemble_context(
            hits, budget_tokens=chat.context_budget_tokens, count_tokens=chat.count_tokens
        )
        deltas = chat.answerers[chat.models[0]].answer(q, context)
        answer = "".join(d.text or "" for d in deltas)
        for _ in range(REPEATS):
            if hasattr(chat.grounding, "_memo"):
                chat.grounding._memo = None
            started = time.perf_counter()
            chat.grounding.check([answer], context)
            grounding.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            chat.orchestrator.relevance.score(q, [answer])
            relevance.append((time.perf_counter() - started) * 1000)
    for name, samples in (("grounding judge alone", grounding), ("relevance alone", relevance)):
        median = float(np.median(samples))
        print(
            f"{name:32s} median {median:6.2f} ms over {len(samples)} calls "
            f"= {median / full_ms:.1%} of the full answer's median"
        )


if __name__ == "__main__":
    main()
