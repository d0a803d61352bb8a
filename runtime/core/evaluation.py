"""Retrieval evaluation: BEIR-format loaders, graded ranking metrics, a BM25 baseline, latency.

``chorus eval retrieval`` measures our retrieval against the same files and the same metrics the
BEIR benchmark uses, so a number printed here can be compared with a published one. The
``bm25s`` baseline answers "is hybrid retrieval actually better than plain BM25 on this data?".

Conventions, as in BEIR / trec_eval:

- gains are the qrels grade itself (linear), discounted by ``log2(rank + 1)``;
- a document is relevant when its grade is above zero;
- recall divides by every relevant document of the query, not by ``min(k, relevant)``;
- a ranking is cut to its first ``k`` *distinct* documents: retrieval returns chunks, several
  chunks of one document map to the same id, and the first (best) occurrence is the document's
  rank (MaxP). Ask the retriever for more than ``k`` chunks to fill ``k`` documents.

Example::

    corpus = load_corpus("corpus.jsonl")
    queries = load_queries("queries.jsonl")
    qrels = load_qrels("qrels/test.tsv")
    bm25 = Bm25Baseline()
    bm25.index(corpus)
    run = {qid: [doc for doc, _ in bm25.search(queries[qid], k=10)] for qid in qrels}
    evaluate_run(run, qrels, k=10)  # {"ndcg@10": ..., "recall@10": ..., "mrr@10": ..., ...}
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BadRequest

__all__ = [
    "Bm25Baseline",
    "CorpusDoc",
    "evaluate_run",
    "latency_summary",
    "load_corpus",
    "load_qrels",
    "load_queries",
    "load_query_records",
    "mrr_at_k",
    "ndcg_at_k",
    "recall_at_k",
]

QRELS_HEADER = ("query-id", "corpus-id", "score")


@dataclass(frozen=True)
class CorpusDoc:
    """One BEIR corpus entry; ingesting it makes one document whose id is ``id``."""

    id: str
    title: str
    text: str

    @property
    def full_text(self) -> str:
        """Title and text as one passage, the way BEIR baselines index them."""
        return f"{self.title}\n\n{self.text}" if self.title else self.text


# --------------------------------------------------------------------------------------------
# loaders


def load_corpus(path: str | Path) -> dict[str, CorpusDoc]:
    """Read a BEIR ``corpus.jsonl``: one ``{"_id", "title", "text"}`` object per line.

    ``title`` may be missing or empty. Returns documents by id, in file order.

    Raises
    ------
    BadRequest
        Unreadable file, invalid JSON, missing or duplicate ``_id``, missing ``text``, or no
        documents at all; the message names the file and line.
    """
    corpus: dict[str, CorpusDoc] = {}
    for where, record in _jsonl_records(path):
        doc_id = _record_id(record, where)
        if doc_id in corpus:
            raise BadRequest(f"{where}: duplicate _id {doc_id!r}")
        title = record.get("title") or ""
        text = record.get("text")
        if not isinstance(text, str) or not isinstance(title, str):
            raise BadRequest(f"{where}: 'text' (and 'title', if given) must be strings")
        corpus[doc_id] = CorpusDoc(id=doc_id, title=title, text=text)
    if not corpus:
        raise BadRequest(f"{path}: the corpus has no documents")
    return corpus


def load_queries(path: str | Path) -> dict[str, str]:
    """Read a BEIR ``queries.jsonl``: one ``{"_id", "text"}`` object per line.

    Raises
    ------
    BadRequest
        Unreadable file, invalid JSON, missing or duplicate ``_id``, empty ``text``, or no
        queries; the message names the file and line.
    """
    return {query_id: text for query_id, (text, _) in load_query_records(path).items()}


def load_query_records(path: str | Path) -> dict[str, tuple[str, str]]:
    """``{query_id: (text, origin)}`` of a BEIR queries file, checked as ``load_queries`` says.

    ``origin`` is ``"generated"`` for a query whose ``metadata.origin`` says so (``chorus eval
    generate`` writes it: every report flags synthetic questions) and ``"file"`` otherwise.
    """
    queries: dict[str, tuple[str, str]] = {}
    for where, record in _jsonl_records(path):
        query_id = _record_id(record, where)
        if query_id in queries:
            raise BadRequest(f"{where}: duplicate _id {query_id!r}")
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            raise BadRequest(f"{where}: query {query_id!r} needs a non-empty string 'text'")
        metadata = record.get("metadata")
        origin = metadata.get("origin") if isinstance(metadata, dict) else None
        queries[query_id] = (text, "generated" if origin == "generated" else "file")
    if not queries:
        raise BadRequest(f"{path}: the file has no queries")
    return queries


def load_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """Read BEIR qrels: a TSV with header ``query-id  corpus-id  score`` and integer grades.

    Grades of 0 (or below) are kept: they say "judged not relevant", which the metrics treat as
    no gain. Returns ``{query_id: {doc_id: grade}}``.

    Raises
    ------
    BadRequest
        Missing header, a line without three fields, a non-integer score, or one pair graded
        twice differently; the message names the file and line.
    """
    qrels: dict[str, dict[str, int]] = {}
    lines = _read_lines(path)
    if not lines:
        raise BadRequest(f"{path}: the qrels file is empty")
    if tuple(field.lower() for field in lines[0].split()) != QRELS_HEADER:
        raise BadRequest(
            f"{path}:1: expected the header 'query-id<TAB>corpus-id<TAB>score', "
            f"got {lines[0].strip()!r}"
        )
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) != 3:
            fields = line.split()
        if len(fields) != 3:
            raise BadRequest(
                f"{path}:{number}: expected 3 tab-separated fields (query-id, corpus-id, score), "
                f"got {len(fields)}"
            )
        query_id, doc_id, raw_score = (field.strip() for field in fields)
        score = _grade(raw_score, f"{path}:{number}")
        judged = qrels.setdefault(query_id, {})
        if judged.get(doc_id, score) != score:
            raise BadRequest(
                f"{path}:{number}: ({query_id!r}, {doc_id!r}) is graded both "
                f"{judged[doc_id]} and {score}"
            )
        judged[doc_id] = score
    if not qrels:
        raise BadRequest(f"{path}: the qrels file has a header but no judgements")
    return qrels


def _read_lines(path: str | Path) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError as exc:
        raise BadRequest(f"{path}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise BadRequest(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise BadRequest(f"{path}: cannot be read ({exc.strerror})") from exc


def _jsonl_records(path: str | Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``("file:line", object)`` for each non-blank line."""
    for number, line in enumerate(_read_lines(path), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadRequest(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})") from exc
        if not isinstance(record, dict):
            raise BadRequest(f"{where}: expected a JSON object, got {type(record).__name__}")
        yield where, record


def _record_id(record: Mapping[str, Any], where: str) -> str:
    value = record.get("_id")
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value) == "":
        raise BadRequest(f"{where}: missing '_id' (a non-empty string)")
    return str(value)


def _grade(raw: str, where: str) -> int:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not value.is_integer():
        raise BadRequest(f"{where}: score must be an integer grade, got {raw!r}")
    return int(value)


# --------------------------------------------------------------------------------------------
# metrics


def _top_k(ranked_ids: Sequence[str], k: int) -> list[str]:
    """The first ``k`` distinct ids, keeping each id's first (best) position."""
    if k <= 0:
        raise ValueError(f"k must be a positive integer, got {k}")
    seen: set[str] = set()
    top: list[str] = []
    for doc_id in ranked_ids:
        if doc_id not in seen:
            seen.add(doc_id)
            top.append(doc_id)
            if len(top) == k:
                break
    return top


def ndcg_at_k(ranked_ids: Sequence[str], qrels_for_query: Mapping[str, int], k: int) -> float:
    """Normalised discounted cumulative gain of the first ``k`` distinct documents.

    ``DCG = sum(grade_i / log2(i + 1))`` over ranks ``i = 1..k``; the ideal DCG sorts the query's
    positive grades from the qrels. 0.0 when the query has no relevant document.
    """
    gains = [max(qrels_for_query.get(doc_id, 0), 0) for doc_id in _top_k(ranked_ids, k)]
    ideal = sorted((grade for grade in qrels_for_query.values() if grade > 0), reverse=True)[:k]
    ideal_dcg = _dcg(ideal)
    return _dcg(gains) / ideal_dcg if ideal_dcg > 0 else 0.0


def _dcg(gains: Sequence[int]) -> float:
    return sum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, start=1))


def recall_at_k(ranked_ids: Sequence[str], qrels_for_query: Mapping[str, int], k: int) -> float:
    """Share of the query's relevant documents found in the first ``k`` distinct documents."""
    relevant = {doc_id for doc_id, grade in qrels_for_query.items() if grade > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(_top_k(ranked_ids, k))) / len(relevant)


def mrr_at_k(ranked_ids: Sequence[str], qrels_for_query: Mapping[str, int], k: int) -> float:
    """Reciprocal rank of the first relevant document within the first ``k``; 0.0 if none."""
    for rank, doc_id in enumerate(_top_k(ranked_ids, k), start=1):
        if qrels_for_query.get(doc_id, 0) > 0:
            return 1.0 / rank
    return 0.0


def evaluate_run(
    run: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]], k: int = 10
) -> dict[str, float | int]:
    """Average nDCG, recall and MRR at ``k`` over every query with a relevant document.

    A query that has a relevant document but is missing from ``run`` scores zero rather than
    being skipped, so a retriever cannot look better by failing on hard queries. Queries whose
    judgements are all non-relevant cannot be scored and are only counted.

    Returns
    -------
    dict
        ``ndcg@k``, ``recall@k``, ``mrr@k`` (means), ``queries`` (how many were averaged),
        ``queries_without_relevant`` and ``queries_missing_from_run`` (counts).

    Raises
    ------
    BadRequest
        No query in ``qrels`` has a relevant document, so there is nothing to average.
    """
    if k <= 0:
        raise ValueError(f"k must be a positive integer, got {k}")
    scored = [qid for qid, judged in qrels.items() if any(grade > 0 for grade in judged.values())]
    if not scored:
        raise BadRequest("No query in the qrels has a relevant document (score > 0).")
    totals = {"ndcg": 0.0, "recall": 0.0, "mrr": 0.0}
    missing = 0
    for qid in scored:
        ranked = run.get(qid)
        if ranked is None:
            missing += 1
            ranked = []
        totals["ndcg"] += ndcg_at_k(ranked, qrels[qid], k)
        totals["recall"] += recall_at_k(ranked, qrels[qid], k)
        totals["mrr"] += mrr_at_k(ranked, qrels[qid], k)
    count = len(scored)
    return {
        f"ndcg@{k}": totals["ndcg"] / count,
        f"recall@{k}": totals["recall"] / count,
        f"mrr@{k}": totals["mrr"] / count,
        "queries": count,
        "queries_without_relevant": len(qrels) - count,
        "queries_missing_from_run": missing,
    }


# --------------------------------------------------------------------------------------------
# baseline


class Bm25Baseline:
    """BM25 over title + text with ``bm25s``: the reference a hybrid retriever must beat.

    Tokenisation is bm25s's default (lower-cased ``\\w\\w+`` words, English stopwords removed,
    no stemmer), so results match what anyone running bm25s out of the box gets. Ties are broken
    by corpus order, so a run is reproducible.

    Parameters
    ----------
    k1, b:
        BM25 term-frequency saturation and length normalisation (bm25s defaults).
    method:
        bm25s scoring variant; ``"lucene"`` is its default and what Elasticsearch uses.
    """

    def __init__(self, *, k1: float = 1.5, b: float = 0.75, method: str = "lucene") -> None:
        self._k1, self._b, self._method = k1, b, method
        self._retriever: Any = None
        self._doc_ids: list[str] = []

    def __len__(self) -> int:
        return len(self._doc_ids)

    def index(self, corpus: Mapping[str, CorpusDoc]) -> None:
        """Build the index, replacing any previous one.

        Raises
        ------
        BadRequest
            The corpus is empty.
        """
        import bm25s

        if not corpus:
            raise BadRequest("Cannot build a BM25 index over an empty corpus.")
        doc_ids = list(corpus)
        tokens = self._tokenize([corpus[doc_id].full_text for doc_id in doc_ids])
        retriever = bm25s.BM25(k1=self._k1, b=self._b, method=self._method)
        retriever.index(tokens, show_progress=False)
        self._retriever, self._doc_ids = retriever, doc_ids

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` best documents for ``query`` as ``(doc_id, score)``, best first.

        Documents sharing no term with the query are left out, so fewer than ``k`` may come back
        (none for a query made only of stopwords or unseen words).
        """
        if self._retriever is None:
            raise RuntimeError("Call index() before search().")
        if k <= 0:
            raise ValueError(f"k must be a positive integer, got {k}")
        terms = [t for t in self._tokenize([query])[0] if t in self._retriever.vocab_dict]
        if not terms:
            return []
        scores = np.asarray(self._retriever.get_scores(terms), dtype=np.float64)
        order = np.argsort(-scores, kind="stable")[:k]
        return [(self._doc_ids[i], float(scores[i])) for i in order if scores[i] > 0]

    @staticmethod
    def _tokenize(texts: list[str]) -> list[list[str]]:
        import bm25s

        return bm25s.tokenize(  # type: ignore[return-value]
            texts, stopwords="en", stemmer=None, return_ids=False, show_progress=False
        )


# --------------------------------------------------------------------------------------------
# latency


def latency_summary(samples_ms: Sequence[float]) -> dict[str, float]:
    """Median and 95th percentile of query latencies (numpy's linear interpolation).

    Raises
    ------
    ValueError
        No samples: a percentile of nothing would be a made-up number.
    """
    if len(samples_ms) == 0:
        raise ValueError("latency_summary needs at least one sample")
    samples = np.asarray(samples_ms, dtype=np.float64)
    return {"p50": float(np.percentile(samples, 50)), "p95": float(np.percentile(samples, 95))}
