import pytest
from chorus.runtime.core.fusion import fuse_adaptive, fuse_rrf, fuse_weighted, leg_confidence
from chorus.runtime.core.models import SearchHit


def hits(*pairs):
    return [SearchHit(cid, "doc", 0, cid, score) for cid, score in pairs]


def test_rrf_scores_are_the_sum_of_reciprocal_ranks():
    fused = fuse_rrf([hits(("a", 9), ("b", 8)), hits(("b", 3), ("c", 2))], k=60)
    scores = {h.chunk_id: h.score for h in fused}
    assert scores["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert scores["a"] == pytest.approx(1 / 61)
    assert scores["c"] == pytest.approx(1 / 62)
    assert [h.chunk_id for h in fused] == ["b", "a", "c"]


def test_rrf_weights_scale_each_ranking():
    fused = fuse_rrf([hits(("a", 1)), hits(("b", 1))], k=60, weights=[1.0, 0.5])
    assert [h.chunk_id for h in fused] == ["a", "b"]
    assert fused[1].score == pytest.approx(0.5 / 61)


def test_weighted_fusion_normalises_each_list_to_unit_range():
    fused = fuse_weighted([hits(("a", 0.9), ("b", 0.5)), hits(("b", 30.0), ("c", 10.0))])
    scores = {h.chunk_id: h.score for h in fused}
    assert scores == pytest.approx({"a": 1.0, "b": 0.0 + 1.0, "c": 0.0})


def test_weighted_fusion_with_one_hit_counts_it_fully():
    fused = fuse_weighted([hits(("a", 0.2))], weights=[0.5])
    assert fused[0].score == pytest.approx(0.5)


def test_ties_break_by_chunk_id_so_results_are_stable():
    fused = fuse_rrf([hits(("b", 1)), hits(("a", 1))])
    assert [h.chunk_id for h in fused] == ["a", "b"]


def test_weights_must_match_rankings_and_be_non_negative():
    with pytest.raises(ValueError):
        fuse_rrf([hits(("a", 1))], weights=[1.0, 2.0])
    with pytest.raises(ValueError):
        fuse_weighted([hits(("a", 1))], weights=[-1.0])


def test_empty_rankings_fuse_to_nothing():
    assert fuse_rrf([[], []]) == []
    assert fuse_weighted([[], []]) == []


def test_a_flat_list_has_no_confidence_and_a_peaked_one_full_confidence():
    flat = hits(*[(f"c{i}", 5.0) for i in range(10)])
    peaked = hits(("a", 10.0), *[(f"c{i}", 0.0) for i in range(9)])
    assert leg_confidence(flat) == 0.0
    assert leg_confidence(peaked) == 1.0
    assert leg_confidence(hits(("a", 3.0))) == 1.0  # one hit: the terms single it out
    assert leg_confidence([]) == 0.0


def test_a_lone_keyword_hit_is_as_sure_as_the_share_of_the_question_it_holds():
    identifier = [SearchHit("d1", "doc", 0, "Error XK-4471 means the disk is full.", 3.0)]
    one_word = [SearchHit("d2", "doc", 0, "Tomato plants need six hours of sun.", 3.0)]

    assert leg_confidence(identifier, query="XK-4471") == 1.0
    assert leg_confidence(one_word, query="how do plants make sugar from sunlight") == (
        pytest.approx((1 / 4) ** 2)  # "plants" of plants, make, sugar, sunlight
    )
    assert leg_confidence(one_word) == 1.0  # without the question: as before


def test_a_lone_weak_keyword_hit_does_not_outvote_the_vector_leg():
    vector = hits(("photosynthesis", 0.63), ("tomatoes", 0.34), ("soil", 0.23))
    keyword = [SearchHit("tomatoes", "doc", 0, "Tomato plants need six hours of sun.", 1.3)]
    question = "how do plants make sugar from sunlight"

    blind = fuse_adaptive([vector, keyword], adaptive=[False, True])
    told = fuse_adaptive([vector, keyword], adaptive=[False, True], query=question)

    assert blind[0].chunk_id == "tomatoes"
    assert told[0].chunk_id == "photosynthesis"


def test_adaptive_fusion_lets_a_flat_keyword_list_not_outvote_the_vector_list():
    vector = hits(("v1", 0.70), ("v2", 0.62), ("v3", 0.55), ("kw", 0.50))
    keyword = hits(("kw", 2.00), ("x1", 1.99), ("x2", 1.98), ("v3", 1.97))  # common words only
    assert fuse_weighted([vector, keyword], weights=[1.0, 1.0])[0].chunk_id == "kw"
    assert fuse_adaptive([vector, keyword], weights=[1.0, 1.0])[0].chunk_id == "v1"


def test_adaptive_fusion_follows_a_keyword_list_that_singles_out_a_rare_term():
    vector = hits(("v1", 0.52), ("v2", 0.51), ("v3", 0.50), ("xk", 0.49))  # a blur
    keyword = hits(("xk", 9.0), ("v1", 1.0), ("v2", 0.9), ("v3", 0.8))  # the rare identifier
    assert fuse_adaptive([vector, keyword], weights=[1.0, 0.5])[0].chunk_id == "xk"


def test_adaptive_fusion_falls_back_to_the_base_weights_without_any_confidence():
    flat_a = hits(("a", 1.0), ("b", 1.0))
    flat_b = hits(("b", 2.0), ("c", 2.0))
    assert fuse_adaptive([flat_a, flat_b], weights=[1.0, 0.5]) == fuse_weighted(
        [flat_a, flat_b], weights=[1.0, 0.5]
    )


def test_a_leg_not_marked_adaptive_keeps_its_weight_whatever_its_shape():
    vector = hits(("v1", 0.52), ("v2", 0.51), ("v3", 0.50))  # flat, but the anchor
    keyword = hits(("k1", 9.0), ("v1", 0.5), ("v2", 0.4))
    anchored = fuse_adaptive([vector, keyword], weights=[1.0, 0.5], adaptive=[False, True])
    assert {h.chunk_id: h.score for h in anchored}["v1"] == pytest.approx(1.0 + 0.5 * 0.1 / 8.6)


def test_adaptive_flags_must_match_the_rankings():
    with pytest.raises(ValueError):
        fuse_adaptive([hits(("a", 1.0))], adaptive=[True, False])
