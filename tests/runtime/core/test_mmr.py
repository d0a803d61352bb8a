import numpy as np
import pytest
from chorus.runtime.core.mmr import mmr_select
from chorus.runtime.core.models import SearchHit


def hit(cid):
    return SearchHit(cid, "doc", 0, cid, 1.0)


def test_pure_relevance_keeps_the_most_similar_first():
    q = np.array([1.0, 0.0])
    emb = {"a": np.array([1.0, 0.0]), "b": np.array([0.9, 0.1]), "c": np.array([0.0, 1.0])}
    picked = mmr_select(q, [hit("c"), hit("b"), hit("a")], emb, k=2, lambda_mult=1.0)
    assert [h.chunk_id for h in picked] == ["a", "b"]


def test_diversity_skips_a_near_duplicate():
    q = np.array([1.0, 0.2])
    emb = {
        "a": np.array([1.0, 0.0]),
        "a_copy": np.array([1.0, 0.01]),
        "other": np.array([0.5, 0.5]),
    }
    picked = mmr_select(q, [hit("a"), hit("a_copy"), hit("other")], emb, k=2, lambda_mult=0.5)
    assert picked[0].chunk_id in ("a", "a_copy")
    assert picked[1].chunk_id == "other"


def test_hits_without_embeddings_follow_the_selected_ones():
    q = np.array([1.0, 0.0])
    picked = mmr_select(q, [hit("x"), hit("a")], {"a": np.array([1.0, 0.0])}, k=2)
    assert [h.chunk_id for h in picked] == ["a", "x"]


def test_lambda_outside_unit_interval_is_refused():
    with pytest.raises(ValueError):
        mmr_select(np.array([1.0]), [], {}, k=1, lambda_mult=1.5)
