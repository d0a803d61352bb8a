"""A FAKE OpenSearch for tests, on 127.0.0.1: records requests, answers in documented shapes.

No OpenSearch server is installable here, so ``OpenSearchStore`` is tested through the real
opensearch-py client (``RequestsHttpConnection``) against this small Starlette app served by
uvicorn in a background thread. It is a fake, not an emulator. What it does for real:

- keeps one in-memory single-shard index per name, created by ``PUT /<index>`` (``HEAD`` says
  whether it exists); enforces ``dynamic: strict`` and the ``knn_vector`` dimension;
- ``_bulk`` (NDJSON ``index`` actions; ``_id`` optional: generated when absent), ``_mget``,
  ``_count``, ``_delete_by_query`` and ``_search`` over this query subset: ``bool``
  (``filter``/``must``/``must_not``), ``term``, ``terms``, ``ids``, ``match_all``, ``match`` on a
  text field and a top-level ``knn`` with a ``filter`` inside;
- ``knn`` is exact brute-force cosine among the documents passing the filter, scored the way
  OpenSearch scores ``cosinesimil``: ``(1 + cos) / 2`` (real HNSW is approximate);
- ``match`` is Lucene's BM25 (k1 = 1.2, b = 0.75, IDF over the whole index, like one shard)
  with a simplified analyzer: lower-case Unicode word tokens minus Lucene's English stop words,
  *no stemming* (OpenSearch's ``english`` analyzer stems);
- writes are visible at once (no refresh interval).

Anything outside that subset gets a 400 naming what the fake does not implement, so a test can
never pass on a query the fake silently misread. ``serverless=True`` models two documented
OpenSearch Serverless vector-collection restrictions: custom document ids and ``refresh`` are
refused. ``script(...)`` queues canned failures; ``item_failures`` fails single bulk items.

Example
-------
    with FakeOpenSearch() as server:
        client = OpenSearch(hosts=[server.url], connection_class=RequestsHttpConnection)
        ...
        assert server.requests[-1].path == "/chunks/_search"
"""

from __future__ import annotations

import itertools
import json
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from support.threaded_server import ThreadedServer

#: Lucene's EnglishAnalyzer default stop words.
STOP_WORDS = frozenset(
    {
        *("a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into"),
        *("is", "it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then"),
        *("there", "these", "they", "this", "to", "was", "will", "with"),
    }
)
_TOKEN = re.compile(r"\w+", re.UNICODE)
K1, B = 1.2, 0.75


class Unsupported(Exception):
    """A request the fake does not implement (answered with 400, never guessed at)."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it (``body``: parsed JSON, or a list for NDJSON)."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeIndex:
    name: str
    body: dict[str, Any]
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)  # insertion-ordered

    @property
    def properties(self) -> dict[str, Any]:
        return self.body.get("mappings", {}).get("properties", {})


def analyze(text: str) -> list[str]:
    """The fake's analyzer: lower-cased word tokens without English stop words, no stemming."""
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOP_WORDS]


class FakeOpenSearch:
    """The fake server. ``url`` is its address; ``requests`` every request it received."""

    def __init__(self, *, serverless: bool = False) -> None:
        self.serverless = serverless
        self.indices: dict[str, FakeIndex] = {}
        self.requests: list[RecordedRequest] = []
        self.item_failures: dict[str, tuple[int, dict[str, Any]]] = {}
        """chunk_id → (status, error) returned for that document's bulk item."""
        self._scripted: list[tuple[str, int, dict[str, Any]]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.port = 0
        self._runner: ThreadedServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, path_suffix: str, status: int, body: dict[str, Any]) -> None:
        """Answer the next request whose path ends with ``path_suffix`` with this response."""
        self._scripted.append((path_suffix, status, body))

    def requests_to(self, path_suffix: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith(path_suffix)]

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> FakeOpenSearch:
        app = Starlette(
            routes=[
                Route("/{path:path}", self._handle, methods=["GET", "POST", "PUT", "HEAD"]),
            ]
        )
        self._runner = ThreadedServer(app, name="fake OpenSearch server")
        self.port = self._runner.start()
        return self

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()

    def __enter__(self) -> FakeOpenSearch:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- dispatch -----------------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        raw = (await request.body()).decode()
        path = request.url.path
        params = dict(request.query_params)
        if path.endswith("/_bulk"):
            body: Any = [json.loads(line) for line in raw.splitlines() if line.strip()]
        else:
            body = json.loads(raw) if raw.strip() else None
        self.requests.append(
            RecordedRequest(request.method, path, params, dict(request.headers), body)
        )
        for i, (suffix, status, scripted) in enumerate(self._scripted):
            if path.endswith(suffix):
                del self._scripted[i]
                return JSONResponse(scripted, status_code=status)
        try:
            with self._lock:
                status, answer = self._route(request.method, path, params, body)
        except Unsupported as exc:
            status, answer = 400, _error(400, "fake_unsupported", str(exc))
        if request.method == "HEAD":
            return Response(status_code=status)
        return JSONResponse(answer, status_code=status)

    def _route(self, method: str, path: str, params: dict[str, str], body: Any):
        parts = [p for p in path.split("/") if p]
        if self.serverless and "refresh" in params:
            return 400, _error(400, "illegal_argument_exception", "refresh is not supported")
        if parts == ["_bulk"] or (len(parts) == 2 and parts[1] == "_bulk"):
            return self._bulk(parts[0] if len(parts) == 2 else None, body)
        if len(parts) == 1 and method in ("HEAD", "PUT"):
            if method == "HEAD":
                return (200 if parts[0] in self.indices else 404), {}
            return self._create(parts[0], body or {})
        if len(parts) != 2:
            raise Unsupported(f"the fake does not implement {method} {path}")
        name, action = parts
        index = self.indices.get(name)
        if index is None:
            return 404, _error(404, "index_not_found_exception", f"no such index [{name}]")
        handler = {
            "_search": self._search,
            "_count": self._count,
            "_delete_by_query": self._delete_by_query,
            "_mget": self._mget,
        }.get(action)
        if handler is None:
            raise Unsupported(f"the fake does not implement {method} {path}")
        return handler(index, params, body or {})

    # -- APIs ---------------------------------------------------------------------------------

    def _create(self, name: str, body: dict[str, Any]):
        if name in self.indices:
            reason = f"index [{name}/uuid] already exists"
            return 400, _error(400, "resource_already_exists_exception", reason)
        self.indices[name] = FakeIndex(name, body)
        return 200, {"acknowledged": True, "shards_acknowledged": True, "index": name}

    def _bulk(self, default_index: str | None, lines: list[dict[str, Any]]):
        items = []
        for action, source in zip(lines[0::2], lines[1::2], strict=True):
            op, meta = next(iter(action.items()))
            if op != "index":
                raise Unsupported(f"the fake's _bulk only implements 'index', not {op!r}")
            name = meta.get("_index", default_index)
            index = self.indices.get(name)
            if self.serverless and "_id" in meta:
                reason = "Document ID is not supported in create/index operation request"
                return 400, _error(400, "illegal_argument_exception", reason)
            doc_id = meta.get("_id") or f"gen-{next(self._ids)}"
            item: dict[str, Any] = {"_index": name, "_id": doc_id}
            failure = self.item_failures.get(source.get("chunk_id", ""))
            problem = (
                (404, {"type": "index_not_found_exception", "reason": f"no such index [{name}]"})
                if index is None
                else failure or _mapping_problem(index, source)
            )
            if problem:
                item.update(status=problem[0], error=problem[1])
            else:
                created = doc_id not in index.docs
                index.docs[doc_id] = source
                item.update(
                    _version=1,
                    result="created" if created else "updated",
                    _shards={"total": 1, "successful": 1, "failed": 0},
                    status=201 if created else 200,
                )
            items.append({"index": item})
        errors = any("error" in i["index"] for i in items)
        return 200, {"took": 1, "errors": errors, "items": items}

    def _search(self, index: FakeIndex, params: dict[str, str], body: dict[str, Any]):
        unknown = set(body) - {"size", "query", "_source"}
        if unknown:
            raise Unsupported(f"the fake's _search does not implement {sorted(unknown)}")
        size = int(body.get("size", 10))
        query = body.get("query", {"match_all": {}})
        if "knn" in query:
            scored = self._knn(index, query["knn"])
        else:
            scored = [(i, s) for i, s in self._evaluate(index, query).items()]
            scored.sort(key=lambda pair: -pair[1])  # stable: ties keep index order
        hits = [
            {
                "_index": index.name,
                "_id": doc_id,
                "_score": score,
                "_source": _filter_source(index.docs[doc_id], body.get("_source")),
            }
            for doc_id, score in scored[:size]
        ]
        return 200, {
            "took": 1,
            "timed_out": False,
            "_shards": _shards(),
            "hits": {
                "total": {"value": len(scored), "relation": "eq"},
                "max_score": hits[0]["_score"] if hits else None,
                "hits": hits,
            },
        }

    def _count(self, index: FakeIndex, params: dict[str, str], body: dict[str, Any]):
        matched = self._evaluate(index, body.get("query", {"match_all": {}}))
        return 200, {"count": len(matched), "_shards": _shards()}

    def _delete_by_query(self, index: FakeIndex, params: dict[str, str], body: dict[str, Any]):
        matched = list(self._evaluate(index, body["query"]))
        for doc_id in matched:
            del index.docs[doc_id]
        return 200, {
            "took": 1,
            "timed_out": False,
            "total": len(matched),
            "deleted": len(matched),
            "batches": 1 if matched else 0,
            "version_conflicts": 0,
            "noops": 0,
            "retries": {"bulk": 0, "search": 0},
            "throttled_millis": 0,
            "requests_per_second": -1.0,
            "throttled_until_millis": 0,
            "failures": [],
        }

    def _mget(self, index: FakeIndex, params: dict[str, str], body: dict[str, Any]):
        includes = params.get("_source_includes")
        source_filter = {"includes": includes.split(",")} if includes else None
        docs = []
        for doc_id in body["ids"]:
            if doc_id in index.docs:
                docs.append(
                    {
                        "_index": index.name,
                        "_id": doc_id,
                        "_version": 1,
                        "found": True,
                        "_source": _filter_source(index.docs[doc_id], source_filter),
                    }
                )
            else:
                docs.append({"_index": index.name, "_id": doc_id, "found": False})
        return 200, {"docs": docs}

    # -- queries ------------------------------------------------------------------------------

    def _knn(self, index: FakeIndex, knn: dict[str, Any]) -> list[tuple[str, float]]:
        ((field_name, spec),) = knn.items()
        unknown = set(spec) - {"vector", "k", "filter"}
        if unknown:
            raise Unsupported(f"the fake's knn does not implement {sorted(unknown)}")
        mapping = index.properties.get(field_name, {})
        if mapping.get("type") != "knn_vector":
            raise Unsupported(f"{field_name} is not a knn_vector field")
        if mapping.get("method", {}).get("space_type") != "cosinesimil":
            raise Unsupported("the fake's knn only implements space_type cosinesimil")
        candidates = (
            list(self._evaluate(index, spec["filter"])) if "filter" in spec else list(index.docs)
        )
        query = np.asarray(spec["vector"], dtype=np.float64)
        scored = []
        for doc_id in candidates:
            vector = np.asarray(index.docs[doc_id][field_name], dtype=np.float64)
            cos = float(vector @ query / (np.linalg.norm(vector) * np.linalg.norm(query)))
            scored.append((doc_id, (1.0 + cos) / 2.0))
        scored.sort(key=lambda pair: -pair[1])
        return scored[: int(spec["k"])]

    def _evaluate(self, index: FakeIndex, query: dict[str, Any]) -> dict[str, float]:
        """Matching document ids → score, in index order."""
        ((kind, spec),) = query.items()
        docs = index.docs
        if kind == "match_all":
            return dict.fromkeys(docs, 1.0)
        if kind == "ids":
            wanted = set(spec["values"])
            return {d: 1.0 for d in docs if d in wanted}
        if kind in ("term", "terms"):
            ((field_name, value),) = spec.items()
            if index.properties.get(field_name, {}).get("type") != "keyword":
                raise Unsupported(f"the fake only implements {kind} on keyword fields")
            if kind == "term":
                value = value["value"] if isinstance(value, dict) else value
                wanted = {value}
            else:
                wanted = set(value)
            return {d: 1.0 for d, s in docs.items() if wanted & set(_values(s.get(field_name)))}
        if kind == "match":
            return self._bm25(index, spec)
        if kind == "bool":
            unknown = set(spec) - {"filter", "must", "must_not"}
            if unknown:
                raise Unsupported(f"the fake's bool does not implement {sorted(unknown)}")
            scores = {d: 0.0 for d in docs}
            for clause in _as_list(spec.get("must")):
                matched = self._evaluate(index, clause)
                scores = {d: s + matched[d] for d, s in scores.items() if d in matched}
            for clause in _as_list(spec.get("filter")):
                matched = self._evaluate(index, clause)
                scores = {d: s for d, s in scores.items() if d in matched}
            for clause in _as_list(spec.get("must_not")):
                matched = self._evaluate(index, clause)
                scores = {d: s for d, s in scores.items() if d not in matched}
            return scores
        raise Unsupported(f"the fake does not implement the {kind!r} query")

    def _bm25(self, index: FakeIndex, spec: dict[str, Any]) -> dict[str, float]:
        ((field_name, options),) = spec.items()
        options = options if isinstance(options, dict) else {"query": options}
        if set(options) - {"query"}:
            raise Unsupported("the fake's match only implements 'query' (operator OR)")
        if index.properties.get(field_name, {}).get("type") != "text":
            raise Unsupported("the fake only implements match on text fields")
        tokens = {d: analyze(s.get(field_name, "")) for d, s in index.docs.items()}
        if not tokens:
            return {}
        avg_length = sum(len(t) for t in tokens.values()) / len(tokens)
        counts = {d: Counter(t) for d, t in tokens.items()}
        scores: dict[str, float] = {}
        for term in analyze(options["query"]):
            df = sum(1 for c in counts.values() if term in c)
            idf = math.log(1 + (len(tokens) - df + 0.5) / (df + 0.5))
            for d, c in counts.items():
                tf = c.get(term, 0)
                if tf:
                    norm = K1 * (1 - B + B * len(tokens[d]) / avg_length)
                    scores[d] = scores.get(d, 0.0) + idf * tf / (tf + norm)
        return {d: scores[d] for d in index.docs if d in scores}


def _mapping_problem(index: FakeIndex, source: dict[str, Any]):
    mappings = index.body.get("mappings", {})
    properties = mappings.get("properties", {})
    if mappings.get("dynamic") == "strict":
        for key in source:
            if key not in properties:
                reason = f"mapping set to strict, dynamic introduction of [{key}] is not allowed"
                return 400, {"type": "strict_dynamic_mapping_exception", "reason": reason}
    for key, mapping in properties.items():
        is_vector = mapping.get("type") == "knn_vector" and key in source
        if is_vector and len(source[key]) != mapping["dimension"]:
            reason = f"Vector dimension mismatch. Expected: {mapping['dimension']}"
            return 400, {"type": "mapper_parsing_exception", "reason": reason}
    return None


def _filter_source(source: dict[str, Any], spec: Any) -> dict[str, Any]:
    if spec is None:
        return source
    includes = spec.get("includes")
    excludes = set(spec.get("excludes", []))
    return {
        k: v for k, v in source.items() if (includes is None or k in includes) and k not in excludes
    }


def _values(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _shards() -> dict[str, int]:
    return {"total": 1, "successful": 1, "skipped": 0, "failed": 0}


def _error(status: int, type_: str, reason: str) -> dict[str, Any]:
    cause = {"type": type_, "reason": reason}
    return {"error": {"root_cause": [cause], **cause}, "status": status}
