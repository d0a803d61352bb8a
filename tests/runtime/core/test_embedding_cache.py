import numpy as np
import pytest
from chorus.runtime.core.embedding_cache import CachedEmbedder


class CountingEmbedder:
    model_id = "counting"
    dimension = 3

    def __init__(self):
        self.calls: list[tuple[list[str], str]] = []

    def embed(self, texts, *, kind="passage"):
        self.calls.append((list(texts), kind))
        return np.array(
            [[len(t), ord(t[0]), 1.0 if kind == "query" else 0.0] for t in texts], dtype=np.float32
        )


def test_repeated_texts_are_embedded_once():
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner)
    first = cached.embed(["alpha", "beta"])
    second = cached.embed(["beta", "alpha", "gamma"])
    assert inner.calls == [(["alpha", "beta"], "passage"), (["gamma"], "passage")]
    np.testing.assert_array_equal(second[0], first[1])
    np.testing.assert_array_equal(second[1], first[0])
    assert (cached.hits, cached.misses) == (2, 3)


def test_query_and_passage_vectors_are_kept_apart():
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner)
    query = cached.embed(["alpha"], kind="query")
    passage = cached.embed(["alpha"], kind="passage")
    assert query[0][2] == 1.0 and passage[0][2] == 0.0
    assert len(inner.calls) == 2


def test_duplicates_within_one_call_are_embedded_once():
    inner = CountingEmbedder()
    vectors = CachedEmbedder(inner).embed(["x1", "x1", "y2"])
    assert inner.calls == [(["x1", "y2"], "passage")]
    np.testing.assert_array_equal(vectors[0], vectors[1])


def test_the_least_recently_used_entry_is_evicted_first():
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, max_entries=2)
    cached.embed(["a1", "b2"])
    cached.embed(["a1"])  # a1 is now the most recent
    cached.embed(["c3"])  # evicts b2
    cached.embed(["a1", "b2"])
    assert inner.calls[-1] == (["b2"], "passage")


def test_results_keep_input_order_and_shape():
    cached = CachedEmbedder(CountingEmbedder())
    assert cached.embed([]).shape == (0, 3)
    vectors = cached.embed(["bb", "a"])
    assert vectors.shape == (2, 3)
    assert vectors[0][0] == 2 and vectors[1][0] == 1


def test_a_cache_needs_room_for_one_entry():
    with pytest.raises(ValueError):
        CachedEmbedder(CountingEmbedder(), max_entries=0)
