"""runtime/adapters/langchain_store.py: LangChain stores in chorus, chorus retrieval in LangChain.

The shared store behaviour is in test_store_contract.py (with ``InMemoryVectorStore``). Here:
how the adapter gets chorus's own embeddings into a LangChain store, the id ledger, store-specific
filter and score hooks, and ``ChorusRetriever`` over a real Retriever (embedded PostgreSQL +
pgvector, all-MiniLM-L6-v2) inside a LangChain runnable chain.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from chorus.runtime.adapters.langchain_store import (
    ChorusEmbeddings,
    ChorusRetriever,
    LangChainVectorStore,
)
from chorus.runtime.adapters.pgvector_store import PgVectorStore
from chorus.runtime.adapters.postgres import PostgresDatabase
from chorus.runtime.core.models import Chunk
from chorus.runtime.core.retrieval import RetrievalSettings, Retriever
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.runnables import RunnableLambda
from langchain_core.vectorstores import InMemoryVectorStore
from support.chunks import make_chunk, unit_vectors

DIM = 16


def unit(seed: int, dim: int = DIM) -> np.ndarray:
    return unit_vectors(1, seed, dim)[0]


def chunk(workspace: str, document: str, ordinal: int, text: str = "", **kw: Any) -> Chunk:
    return make_chunk(workspace, document, ordinal, text, dim=DIM, **kw)


class RecordingEmbedder:
    model_id = "recording"
    dimension = DIM

    def __init__(self) -> None:
        self.kinds: list[str] = []

    def embed(self, texts: Sequence[str], *, kind: str = "passage") -> np.ndarray:
        self.kinds.append(kind)
        return np.vstack([unit(zlib.crc32(t.encode())) for t in texts])


# -- writing chorus chunks into a LangChain store -----------------------------------------------


def test_a_store_that_would_embed_with_its_own_model_is_refused_with_what_to_do():
    foreign = InMemoryVectorStore(DeterministicFakeEmbedding(size=DIM))

    with pytest.raises(ValueError, match=r"build it with ChorusEmbeddings\(embedder\)"):
        LangChainVectorStore(foreign)


def test_chunks_are_stored_with_their_own_embeddings_not_re_embedded():
    embedder = RecordingEmbedder()
    lc = InMemoryVectorStore(ChorusEmbeddings(embedder))
    c = chunk("ws", "doc", 0, "refund policy", embedding=unit(1))

    LangChainVectorStore(lc).replace_document_chunks("ws", "doc", [c])

    assert embedder.kinds == []
    np.testing.assert_allclose(lc.store["ws/doc/0"]["vector"], unit(1), rtol=1e-6)


def test_stored_documents_carry_the_chunk_id_as_id_and_chorus_keys_in_metadata():
    lc = InMemoryVectorStore(ChorusEmbeddings())
    c = chunk("ws", "doc", 3, "text", metadata={"lang": "en"})

    LangChainVectorStore(lc).replace_document_chunks("ws", "doc", [c])

    (doc,) = lc.get_by_ids(["ws/doc/3"])
    assert doc.page_content == "text"
    assert doc.metadata == {
        "lang": "en",
        "workspace_id": "ws",
        "document_id": "doc",
        "chunk_id": "ws/doc/3",
        "ordinal": 3,
    }


def test_a_store_with_add_embeddings_gets_the_vectors_through_it():
    class WithAddEmbeddings(InMemoryVectorStore):
        def __init__(self) -> None:
            super().__init__(DeterministicFakeEmbedding(size=DIM))
            self.received: list[tuple[str, list[float]]] = []

        def add_embeddings(self, text_embeddings, metadatas, ids):
            self.received.extend(text_embeddings)
            for (text, vector), metadata, i in zip(text_embeddings, metadatas, ids, strict=True):
                self.store[i] = {"id": i, "vector": vector, "text": text, "metadata": metadata}
            return ids

    lc = WithAddEmbeddings()
    store = LangChainVectorStore(lc)
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0, "a", embedding=unit(2))])

    ((text, vector),) = lc.received
    assert text == "a"
    np.testing.assert_allclose(vector, unit(2), rtol=1e-6)
    assert [h.chunk_id for h in store.vector_search("ws", unit(2), k=1)] == ["ws/doc/0"]


def test_chorus_embeddings_embed_new_text_with_the_chorus_embedder_and_the_right_kind():
    embedder = RecordingEmbedder()
    embeddings = ChorusEmbeddings(embedder)

    query = embeddings.embed_query("refund?")
    passages = embeddings.embed_documents(["a", "b"])

    assert embedder.kinds == ["query", "passage"]
    assert len(query) == DIM and len(passages) == 2


def test_chorus_embeddings_without_an_embedder_say_how_to_write():
    with pytest.raises(ValueError, match="write through LangChainVectorStore"):
        ChorusEmbeddings().embed_query("x")


# -- the ledger ---------------------------------------------------------------------------------


def test_the_ledger_records_each_documents_chunk_ids_and_can_be_a_persistent_mapping():
    ledger: dict[str, list[str]] = {}  # e.g. a shelve.Shelf for a store that outlives the process
    store = LangChainVectorStore(InMemoryVectorStore(ChorusEmbeddings()), ledger=ledger)

    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", i) for i in range(3)])
    again = LangChainVectorStore(store.store, ledger=ledger)  # a new process, same ledger
    again.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0)])

    assert ledger == {'["ws", "doc"]': ["ws/doc/0"]}
    assert sorted(store.store.store) == ["ws/doc/0"]


# -- hooks for other LangChain stores -----------------------------------------------------------


def test_a_custom_filter_factory_builds_the_stores_own_filter_form():
    seen: list[Any] = []

    class DictFilterStore(InMemoryVectorStore):
        def similarity_search_with_score_by_vector(self, embedding, k=4, filter=None, **kw):
            seen.append(filter)
            wanted = filter or {}
            return super().similarity_search_with_score_by_vector(
                embedding,
                k=k,
                filter=lambda d: all(d.metadata.get(a) == b for a, b in wanted.items()),
            )

    store = LangChainVectorStore(
        DictFilterStore(ChorusEmbeddings()),
        filter_factory=lambda ws, filters: {"workspace_id": ws, **(filters or {})},
    )
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0, metadata={"lang": "en"})])

    hits = store.vector_search("ws", unit(3), k=5, filters={"lang": "en"})

    assert seen == [{"workspace_id": "ws", "lang": "en"}]
    assert [h.chunk_id for h in hits] == ["ws/doc/0"]


def test_hits_from_a_store_that_ignores_the_filter_are_still_scoped_to_the_workspace():
    store = LangChainVectorStore(
        InMemoryVectorStore(ChorusEmbeddings()), filter_factory=lambda ws, filters: None
    )
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0)])
    store.replace_document_chunks("ws2", "doc", [chunk("ws2", "doc", i) for i in range(3)])

    assert [h.chunk_id for h in store.vector_search("ws", unit(4), k=10)] == ["ws/doc/0"]


def test_a_distance_score_is_turned_into_a_similarity_by_the_relevance_hook():
    store = LangChainVectorStore(
        InMemoryVectorStore(ChorusEmbeddings()), relevance=lambda raw: 1.0 - raw
    )
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0, embedding=unit(5))])

    (hit,) = store.vector_search("ws", unit(5), k=1)

    assert hit.score == pytest.approx(0.0, abs=1e-6)  # InMemory's similarity 1.0, as "distance"


# -- ChorusRetriever ----------------------------------------------------------------------------


@pytest.fixture
def pg_retriever(fresh_dsn, embedder):
    db = PostgresDatabase(fresh_dsn)
    store = PgVectorStore(db, embedder.dimension)
    texts = [
        "Refunds are paid back to the original card within 30 days of the return.",
        "Shipping to Norway takes five working days.",
        "Error XK-4471 means the embedding endpoint is paused; resume it.",
    ]
    vectors = embedder.embed(texts)
    store.replace_document_chunks(
        "ws",
        "faq",
        [
            Chunk(f"ws/faq/{i}", "ws", "faq", i, t, v, {"lang": "en"})
            for i, (t, v) in enumerate(zip(texts, vectors, strict=True))
        ],
    )
    yield Retriever(embedder, store)
    db.close()


def test_chorus_retriever_returns_documents_with_chunk_document_and_score(pg_retriever):
    retriever = ChorusRetriever(
        retriever=pg_retriever, workspace_id="ws", settings=RetrievalSettings(k=2)
    )

    docs = retriever.invoke("how long until I get my money back?")

    assert len(docs) == 2
    top = docs[0]
    assert isinstance(top, Document)
    assert top.id == "ws/faq/0" and top.page_content.startswith("Refunds are paid back")
    assert top.metadata["chunk_id"] == "ws/faq/0"
    assert top.metadata["document_id"] == "faq"
    assert top.metadata["ordinal"] == 0 and top.metadata["lang"] == "en"
    assert top.metadata["score"] >= docs[1].metadata["score"]


def test_chorus_retriever_passes_filters_and_settings_through(pg_retriever):
    retriever = ChorusRetriever(
        retriever=pg_retriever,
        workspace_id="ws",
        settings=RetrievalSettings(mode="keyword", k=5),
        filters={"lang": "en"},
    )
    nothing = ChorusRetriever(retriever=pg_retriever, workspace_id="ws", filters={"lang": "de"})

    assert [d.id for d in retriever.invoke("XK-4471")] == ["ws/faq/2"]
    assert nothing.invoke("XK-4471") == []


def test_chorus_retriever_composes_in_a_langchain_chain(pg_retriever):
    retriever = ChorusRetriever(retriever=pg_retriever, workspace_id="ws")
    chain = retriever | RunnableLambda(lambda docs: "\n".join(d.page_content for d in docs[:1]))

    assert chain.invoke("shipping time to Norway") == "Shipping to Norway takes five working days."
