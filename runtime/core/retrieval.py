"""Hybrid retrieval: vector and keyword top-k, fused, optionally reranked and diversified.

``Retriever.retrieve`` is the one call the chat service and the evaluation make. When the
store has no keyword search, hybrid becomes vector-only (``supports_keyword_search``), and when
it has no vector search (``supports_vector_search = False``, e.g. Kendra), keyword-only —
instead of failing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .errors import BadRequest
from .evidence import boost_by_siblings, boost_exact_terms
from .feedback import feedback_query
from .fusion import RRF_K, fuse_adaptive, fuse_rrf, fuse_weighted
from .metrics import store_label
from .mmr import mmr_select
from .models import SearchHit
from .ports import Embedder, Reranker, VectorStore

log = logging.getLogger(__name__)

FEEDBACK_WEIGHT = 0.5
"""Default weight of the feedback centroid (docs/retrieval.md: chosen on git-man, checked on
sqlite and the bundled set)."""
EXACT_TERM_WEIGHT = 0.5
"""Share of the top fused score a chunk gains for holding all the query's identifiers."""
SIBLING_WEIGHT = 0.2
"""Share of the best score of another chunk of the same page a chunk gains (docs/retrieval.md:
0.1-0.25 all helped on the two documentation sets, 0.3 and more cost sqlite)."""

RetrievalMode = Literal["vector", "keyword", "hybrid"]
FusionMethod = Literal["rrf", "weighted", "adaptive"]


@dataclass(frozen=True)
class RetrievalSettings:
    """Knobs of one retrieval; the defaults are what the local server uses.

    mode: ``hybrid`` (default), ``vector`` or ``keyword``.
    k: chunks returned (8).
    candidates: chunks each retriever contributes before fusion (40).
    fusion: ``adaptive`` (default: min-max normalised scores, the keyword leg's weight scaled
        per query by how clearly it singles out its best hits), ``weighted`` (fixed weights)
        or ``rrf`` (k=60).
    vector_weight / keyword_weight: per-retriever fusion weights (1.0 / 1.0). Measured on three
        sets with the BM25 keyword leg (docs/retrieval.md): unweighted RRF ranks below vector
        search alone on the bundled one; adaptive fusion is at least plain dense search on
        every set. With feedback the keyword leg needs less weight (1.25 without it): its rare
        terms already pulled the vector leg's second search towards their passages.
    feedback_weight / feedback_depth: dense pseudo-relevance feedback (``core.feedback``):
        in hybrid mode the vector leg searches again with the query vector moved towards the
        first ``feedback_depth`` (5) fused hits by ``feedback_weight`` (0.5), and the legs are
        fused again; 0 turns it off. Chosen on git-man, checked on sqlite and the bundled set.
    exact_term_weight: in hybrid mode, a chunk holding the query's identifiers verbatim
        (``XK-4471``, ``--force``, ``HEAD~2``; ``core.evidence``) gains this share (0.5) of the
        top fused score, scaled by the share of identifiers it holds; 0 turns it off.
    sibling_weight: in hybrid mode, a chunk gains this share (0.2) of the best final score of
        another candidate of its page (same document title); 0 turns it off.
    rerank: use the Reranker when one is configured (True); ``rerank_candidates`` (30) are
        rescored.
    mmr_lambda: set (e.g. 0.7) to diversify the final list with MMR; None disables it.
    """

    mode: RetrievalMode = "hybrid"
    k: int = 8
    candidates: int = 40
    fusion: FusionMethod = "adaptive"
    rrf_k: int = RRF_K
    vector_weight: float = 1.0
    keyword_weight: float = 1.0
    feedback_weight: float = FEEDBACK_WEIGHT
    feedback_depth: int = 5
    exact_term_weight: float = EXACT_TERM_WEIGHT
    sibling_weight: float = SIBLING_WEIGHT
    rerank: bool = True
    rerank_candidates: int = 30
    mmr_lambda: float | None = None

    def with_overrides(self, overrides: Mapping[str, Any]) -> RetrievalSettings:
        """These settings with a workspace's tuned values (``Workspace.retrieval``) applied.

        Raises
        ------
        BadRequest
            A key that is not a tunable setting, or a value the settings refuse.
        """
        unknown = set(overrides) - TUNABLE_SETTINGS
        if unknown:
            raise BadRequest(
                f"unknown retrieval settings {sorted(unknown)}; tunable: {sorted(TUNABLE_SETTINGS)}"
            )
        try:
            return replace(self, **dict(overrides))
        except TypeError as exc:
            raise BadRequest(f"invalid retrieval settings: {exc}") from None

    def __post_init__(self) -> None:
        if self.mode not in ("vector", "keyword", "hybrid"):
            raise BadRequest(f"unknown retrieval mode {self.mode!r}")
        if self.fusion not in ("rrf", "weighted", "adaptive"):
            raise BadRequest(f"unknown fusion method {self.fusion!r}")
        if not 1 <= self.k <= 200 or self.candidates < 1 or self.rerank_candidates < 1:
            raise BadRequest("k must be within 1..200 and candidate counts positive")
        if self.feedback_weight < 0 or not 1 <= self.feedback_depth <= 20:
            raise BadRequest(
                "feedback_weight must be non-negative (0 turns feedback off) and"
                " feedback_depth within 1..20"
            )
        if self.exact_term_weight < 0 or self.sibling_weight < 0:
            raise BadRequest(
                "exact_term_weight and sibling_weight must be non-negative (0 turns them off)"
            )


TUNABLE_SETTINGS = frozenset(
    {
        "fusion",
        "rrf_k",
        "vector_weight",
        "keyword_weight",
        "candidates",
        "rerank_candidates",
        "feedback_weight",
        "feedback_depth",
        "exact_term_weight",
        "sibling_weight",
    }
)
"""``RetrievalSettings`` fields a workspace may override (``chorus tune retrieval``)."""


class CachedOverrides:
    """A workspace's tuned overrides, read at most once per ``ttl_seconds`` per workspace.

    The cloud chat worker reads them from the workspace record in DynamoDB; one read a minute
    instead of one per question. A tune takes effect within ``ttl_seconds``.
    """

    def __init__(
        self,
        read: Callable[[str], Mapping[str, Any]],
        *,
        ttl_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[str, tuple[float, Mapping[str, Any]]] = {}

    def __call__(self, workspace_id: str) -> Mapping[str, Any]:
        now = self._clock()
        entry = self._entries.get(workspace_id)
        if entry is not None and now - entry[0] < self._ttl:
            return entry[1]
        overrides = self._read(workspace_id)
        self._entries[workspace_id] = (now, overrides)
        return overrides


@dataclass
class RetrievalTrace:
    """Timings in milliseconds and what each stage produced, for the ``final`` event."""

    timings_ms: dict[str, float] = field(default_factory=dict)
    store: str = ""
    """The store that answered (``metrics.store_label``): the ``Store`` of retrieval metrics."""
    used_keyword: bool = False
    reranked: bool = False


class Retriever:
    """Hybrid search over one store for one embedder, with an optional reranker."""

    def __init__(
        self,
        embedder: Embedder,
        store: VectorStore,
        reranker: Reranker | None = None,
        settings: RetrievalSettings | None = None,
        workspace_overrides: Callable[[str], Mapping[str, Any]] | None = None,
    ) -> None:
        self.embedder = embedder
        self.store = store
        self.reranker = reranker
        self.settings = settings or RetrievalSettings()
        self.workspace_overrides = workspace_overrides
        self._keyword_pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def _keyword_leg_pool(self) -> ThreadPoolExecutor:
        """Threads that run the keyword leg while the caller encodes the query.

        Created on first use and kept for the life of the retriever (a Lambda container reuses
        it across invocations). Four threads: the local server answers chats in worker threads,
        and a keyword search that waits for a thread is no slower than one run inline.
        """
        with self._pool_lock:
            if self._keyword_pool is None:
                self._keyword_pool = ThreadPoolExecutor(
                    max_workers=4, thread_name_prefix="chorus-keyword-leg"
                )
            return self._keyword_pool

    def settings_for(self, workspace_id: str) -> RetrievalSettings:
        """The default settings with the workspace's tuned overrides, if it has any.

        A workspace whose stored overrides cannot be read or applied is served with the
        defaults: a tuning mistake must not take retrieval down.
        """
        if self.workspace_overrides is None:
            return self.settings
        try:
            overrides = self.workspace_overrides(workspace_id)
            return self.settings.with_overrides(overrides) if overrides else self.settings
        except Exception:
            log.warning("ignoring the tuned retrieval settings of %s", workspace_id, exc_info=True)
            return self.settings

    def retrieve(
        self,
        workspace_id: str,
        query: str,
        *,
        settings: RetrievalSettings | None = None,
        filters: Mapping[str, Any] | None = None,
        trace: RetrievalTrace | None = None,
    ) -> list[SearchHit]:
        """Return the top ``settings.k`` chunks of the workspace for ``query``."""
        s = settings or self.settings_for(workspace_id)
        trace = trace if trace is not None else RetrievalTrace()
        trace.store = store_label(self.store)
        query = query.strip()
        if not query:
            raise BadRequest("the query is empty; ask a question with some words in it")
        vector_hits: list[SearchHit] | None = None
        keyword_hits: list[SearchHit] | None = None
        query_vector = None
        # A retrieve-only service such as Kendra ranks by the query text alone.
        use_vector = s.mode in ("vector", "hybrid") and getattr(
            self.store, "supports_vector_search", True
        )
        use_keyword = s.mode in ("keyword", "hybrid") and self.store.supports_keyword_search
        needs_vector = use_vector or s.mmr_lambda is not None
        # The keyword leg needs no query vector: it runs in the store (another process or
        # service) while this thread encodes the query, so a hybrid retrieval costs the slower
        # of the two legs instead of their sum (bench/retrieval_latency.py).
        keyword_leg: Future[tuple[list[SearchHit], float]] | None = None
        started_legs = time.perf_counter()
        if use_keyword and needs_vector:
            keyword_leg = self._keyword_leg_pool().submit(
                _timed_keyword_search, self.store, workspace_id, query, s.candidates, filters
            )
        try:
            if needs_vector:
                started = time.perf_counter()
                query_vector = self.embedder.embed([query], kind="query")[0]
                trace.timings_ms["embed_query"] = _ms(started)
            if use_vector:
                started = time.perf_counter()
                vector_hits = self.store.vector_search(
                    workspace_id, query_vector, s.candidates, filters
                )
                trace.timings_ms["vector_search"] = _ms(started)
        except BaseException:
            if keyword_leg is not None:
                keyword_leg.cancel()
            raise
        if use_keyword:
            if keyword_leg is not None:
                keyword_hits, keyword_ms = keyword_leg.result()
            else:
                keyword_hits, keyword_ms = _timed_keyword_search(
                    self.store, workspace_id, query, s.candidates, filters
                )
            trace.timings_ms["keyword_search"] = keyword_ms
            trace.used_keyword = True
        trace.timings_ms["legs"] = _ms(started_legs)
        if vector_hits is None and keyword_hits is None:
            return []
        started = time.perf_counter()
        hits = fuse_legs(vector_hits, keyword_hits, s, query)
        trace.timings_ms["fusion"] = _ms(started)
        if s.feedback_weight > 0 and vector_hits and keyword_hits is not None:
            started = time.perf_counter()
            hits = self._with_feedback(
                workspace_id, query, query_vector, hits, keyword_hits, s, filters
            )
            trace.timings_ms["feedback"] = _ms(started)
        if vector_hits is not None and keyword_hits is not None and s.sibling_weight > 0:
            started = time.perf_counter()
            hits = boost_by_siblings(hits, s.sibling_weight)
            trace.timings_ms["siblings"] = _ms(started)

        if s.rerank and self.reranker is not None and hits:
            started = time.perf_counter()
            head = hits[: s.rerank_candidates]
            scores = self.reranker.score(query, [h.text for h in head])
            reranked = sorted(
                (replace(h, score=sc) for h, sc in zip(head, scores, strict=True)),
                key=lambda h: -h.score,
            )
            hits = reranked + hits[s.rerank_candidates :]
            trace.timings_ms["rerank"] = _ms(started)
            trace.reranked = True

        if s.mmr_lambda is not None and query_vector is not None and hits:
            started = time.perf_counter()
            pool = hits[: max(s.k * 3, s.k)]
            embeddings = self.store.chunk_embeddings(workspace_id, [h.chunk_id for h in pool])
            hits = mmr_select(query_vector, pool, embeddings, k=s.k, lambda_mult=s.mmr_lambda)
            trace.timings_ms["mmr"] = _ms(started)
        return hits[: s.k]

    def _with_feedback(
        self,
        workspace_id: str,
        query: str,
        query_vector: Any,
        fused: list[SearchHit],
        keyword_hits: list[SearchHit] | None,
        s: RetrievalSettings,
        filters: Mapping[str, Any] | None,
    ) -> list[SearchHit]:
        """Search the vector leg again from the query moved towards the first fused hits.

        A store that returns no stored vectors for them (Kendra, some LangChain stores) keeps
        the first fusion.
        """
        head = [h.chunk_id for h in fused[: s.feedback_depth]]
        stored = self.store.chunk_embeddings(workspace_id, head)
        vectors = [stored[cid] for cid in head if cid in stored]
        if not vectors:
            return fused
        moved = feedback_query(query_vector, vectors, s.feedback_weight)
        vector_hits = self.store.vector_search(workspace_id, moved, s.candidates, filters)
        return fuse_legs(vector_hits, keyword_hits, s, query)


def fuse_legs(
    vector_hits: list[SearchHit] | None,
    keyword_hits: list[SearchHit] | None,
    settings: RetrievalSettings,
    query: str | None = None,
) -> list[SearchHit]:
    """One ranking from the vector and keyword legs (either may be absent) per ``settings``.

    With the ``query``, chunks that hold its identifiers verbatim are raised
    (``settings.exact_term_weight``) — only when both legs are fused, whose scores the boost is
    scaled to. A pure function of the two candidate lists, so an evaluation can search once and
    compare many fusions (``chorus eval retrieval --sweep``).
    """
    if vector_hits is None or keyword_hits is None:
        return list(vector_hits if vector_hits is not None else keyword_hits or [])
    rankings = [vector_hits, keyword_hits]
    weights = [settings.vector_weight, settings.keyword_weight]
    if settings.fusion == "rrf":
        fused = fuse_rrf(rankings, k=settings.rrf_k, weights=weights)
    elif settings.fusion == "adaptive":
        # The vector leg anchors; the keyword leg's vote follows how clearly it matched.
        fused = fuse_adaptive(rankings, weights=weights, adaptive=[False, True], query=query)
    else:
        fused = fuse_weighted(rankings, weights=weights)
    if query is None:
        return fused
    return boost_exact_terms(fused, query, settings.exact_term_weight)


def _timed_keyword_search(
    store: VectorStore,
    workspace_id: str,
    query: str,
    candidates: int,
    filters: Mapping[str, Any] | None,
) -> tuple[list[SearchHit], float]:
    started = time.perf_counter()
    hits = store.keyword_search(workspace_id, query, candidates, filters)
    return hits, _ms(started)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
