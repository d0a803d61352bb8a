"""``chorus eval answers`` on the local stack: ingest (or reuse) a workspace, ask every case.

With a BEIR corpus and no workspace name, the corpus goes into a scratch workspace that is
deleted afterwards (as ``chorus eval retrieval`` does); with ``workspace``, the corpus is
ingested into that workspace (unchanged documents are skipped, so a second run reuses it) and
the workspace is kept. Without a corpus the cases are asked against the workspace as it is, and
the qrels must name its document ids.

``run_generation`` (``chorus eval generate``) writes a generated (synthetic) set from a corpus.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.answer_evaluation import AnswerSimilarity, CaseResult, evaluate_answers
from ..core.chunking import split_text
from ..core.clock import Clock
from ..core.errors import BadRequest
from ..core.eval_case_files import load_cases, write_beir
from ..core.eval_cases import EvalCase
from ..core.eval_generation import SourceChunk, generate_cases, sample_chunks
from ..core.evaluation import CorpusDoc, load_corpus
from ..core.models import Workspace
from ..core.parsing import parse_document
from ..core.ports import LLMProvider
from .evaluation import EvalSet, _documents


@dataclass(frozen=True)
class PreparedWorkspace:
    """The workspace the cases are asked in, and what ingesting into it did."""

    workspace: Workspace
    document_ids: list[str]
    scratch: bool
    ingest: dict[str, Any]


def prepare_workspace(
    services: Any, corpus: dict[str, CorpusDoc] | None, workspace: str | None
) -> PreparedWorkspace:
    """Ingest ``corpus`` into ``workspace`` (a scratch one when None), or reuse ``workspace``."""
    if corpus is None:
        if workspace is None:
            raise ValueError("give a corpus, a workspace, or both")
        target = services.find_workspace(workspace)
        services.check_embedding_model(target)
        ids = [d.id for d in services.metadata.list_documents(target.id)]
        return PreparedWorkspace(target, ids, False, {"documents": len(ids), "reused": True})
    scratch = workspace is None
    if scratch:
        target = services.create_workspace(f"eval-{uuid.uuid4().hex[:10]}")
    else:
        target = services.ensure_workspace(workspace)
        services.check_embedding_model(target)
    started = time.perf_counter()
    summary = services.ingestor.ingest_many(target, _documents(EvalSet(corpus, {}, {})))
    ingest = {
        "documents": len(corpus),
        "indexed": summary.count("indexed"),
        "unchanged": summary.count("unchanged"),
        "skipped": summary.count("skipped") + summary.count("failed"),
        "chunks": summary.chunks,
        "seconds": round(time.perf_counter() - started, 2),
    }
    return PreparedWorkspace(target, list(corpus), scratch, ingest)


def workspace_cases(services: Any, workspace: Workspace) -> list[EvalCase]:
    """The workspace's accepted eval cases (candidates wait for review; rejected ones never
    run); ``BadRequest`` when it has none."""
    cases = services.backend.eval_cases.list_cases(workspace.id, status="accepted")
    if not cases:
        raise BadRequest(
            f"workspace {workspace.name!r} has no accepted eval cases; add some (the app's eval "
            "set panel, POST /workspaces/{id}/eval-cases, a JSONL import) or accept candidates, "
            "or pass --queries and --qrels"
        )
    return cases


def run_answer_eval(
    services: Any,
    *,
    queries: Path | None = None,
    qrels: Path | None = None,
    corpus: Path | None = None,
    answers: Path | None = None,
    workspace: str | None = None,
    mode: str = "single",
    models: Sequence[str] = (),
    k: int = 5,
    clock: Clock | None = None,
    on_case: Callable[[CaseResult], None] | None = None,
) -> dict[str, Any]:
    """Load the cases, prepare the workspace, ask every question, return the report.

    Files are read and checked (cases against the corpus ids) before anything is ingested.
    Without ``queries`` and ``qrels`` the cases are ``workspace``'s accepted eval set, asked in
    that workspace as it is (no corpus); the report's ``eval_set`` says which it was.
    """
    from_set = queries is None and qrels is None
    if from_set and (workspace is None or corpus is not None):
        raise BadRequest("without --queries and --qrels, name a --workspace (and no --corpus)")
    if not from_set and (queries is None or qrels is None):
        raise BadRequest("give both --queries and --qrels, or neither (a workspace's eval set)")
    documents = load_corpus(corpus) if corpus is not None else None
    if documents is not None:
        cases = load_cases(queries, qrels, documents.keys(), answers)
    prepared = prepare_workspace(services, documents, workspace)
    try:
        if from_set:
            cases = workspace_cases(services, prepared.workspace)
        elif documents is None:
            cases = load_cases(queries, qrels, prepared.document_ids, answers)
        report = run_cases(services, prepared, cases, mode, models, k, clock, on_case)
        report["eval_set"] = "workspace" if from_set else "files"
        return report
    finally:
        if prepared.scratch:
            services.delete_workspace(prepared.workspace.id)


def run_cases(
    services: Any,
    prepared: PreparedWorkspace,
    cases: Sequence[EvalCase],
    mode: str,
    models: Sequence[str],
    k: int,
    clock: Clock | None,
    on_case: Callable[[CaseResult], None] | None,
) -> dict[str, Any]:
    """Ask ``cases`` in the prepared workspace; the report notes the workspace and ingest."""
    started = time.perf_counter()
    report = evaluate_answers(
        services.chat,
        prepared.workspace.id,
        cases,
        mode=mode,
        models=models,
        k=k,
        similarity=AnswerSimilarity(services.embedder),
        clock=clock,
        on_case=on_case,
    )
    report["workspace"] = None if prepared.scratch else prepared.workspace.name
    report["ingest"] = prepared.ingest
    report["wall_seconds"] = round(time.perf_counter() - started, 2)
    return report


# --------------------------------------------------------------------------------------------
# generated eval sets


def corpus_chunks(workspace: Workspace, corpus: dict[str, CorpusDoc]) -> list[SourceChunk]:
    """The chunks ingesting ``corpus`` into ``workspace`` stored (same parser, same splitter,
    so the same deterministic chunk ids the retriever returns)."""
    chunks: list[SourceChunk] = []
    for document in _documents(EvalSet(corpus, {}, {})):
        parsed = parse_document(document.name, document.data)
        title = (document.metadata or {}).get("title") or parsed.title
        for draft in split_text(
            parsed.text,
            workspace.id,
            document.document_id or "",
            workspace.chunking,
            title=title,
            markdown=parsed.content_type == "text/markdown",
        ):
            chunks.append(SourceChunk(draft.id, document.document_id or "", draft.text))
    return chunks


def run_generation(
    services: Any,
    provider: LLMProvider,
    *,
    corpus: Path,
    out: Path,
    chunks: int = 20,
    per_chunk: int = 1,
    k: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """Ingest ``corpus`` into a scratch workspace, generate questions from ``chunks`` sampled
    chunks, keep those that retrieve their chunk and are not near-duplicates, write them to
    ``out`` as BEIR files; returns a summary (written files, kept and dropped questions)."""
    documents = load_corpus(corpus)
    prepared = prepare_workspace(services, documents, None)
    try:
        sampled = sample_chunks(corpus_chunks(prepared.workspace, documents), chunks, seed)
        result = generate_cases(
            provider,
            services.retriever,
            services.embedder,
            prepared.workspace.id,
            sampled,
            per_chunk=per_chunk,
            k=k,
        )
    finally:
        services.delete_workspace(prepared.workspace.id)
    if not result.cases:
        raise BadRequest(
            f"no generated question survived the filters ({len(result.dropped)} dropped); "
            "sample more chunks (--chunks) or use a stronger model"
        )
    paths = write_beir(result.cases, documents, out)
    return {
        "synthetic": True,
        "model": provider.name,
        "sampled_chunks": len(sampled),
        "kept": len(result.cases),
        "dropped": result.dropped,
        "files": {name: str(path) for name, path in paths.items()},
    }
