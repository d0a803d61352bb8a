"""Exact identifiers and sibling sections raise chunks the fused scores rank too low."""

from chorus.runtime.core.evidence import (
    boost_by_siblings,
    boost_exact_terms,
    exact_terms,
    page_key,
    query_term_coverage,
)
from chorus.runtime.core.models import SearchHit


def hit(chunk_id, score, text="", document_id=None, title=None):
    return SearchHit(
        chunk_id,
        document_id or f"doc-{chunk_id}",
        0,
        text,
        score,
        {"title": title} if title is not None else {},
    )


def ids(hits):
    return [h.chunk_id for h in hits]


def test_identifiers_are_tokens_no_english_word_looks_like():
    terms = exact_terms("how to fix error XK-4471 with --force on HEAD~2 and foo_bar or WPA3")
    assert [t.text for t in terms] == ["XK-4471", "--force", "HEAD~2", "foo_bar", "WPA3"]


def test_plain_words_even_in_capitals_are_not_identifiers():
    assert exact_terms("is LIKE case sensitive in an UPDATE statement?") == []


def test_ordinals_decades_and_times_are_not_identifiers():
    assert exact_terms("the 1st commit of the 1990s at 5pm") == []


def test_punctuation_around_an_identifier_is_not_part_of_it():
    assert [t.text for t in exact_terms('what does "XK-4471", (QL-88) mean.')] == [
        "XK-4471",
        "QL-88",
    ]


def test_a_repeated_identifier_counts_once():
    assert [t.text for t in exact_terms("XK-4471 or xk-4471")] == ["XK-4471"]


def test_the_chunk_holding_the_identifier_overtakes_a_look_alike():
    hits = [
        hit("look-alike", 1.0, "How to fix error XK-4474: wait for maintenance."),
        hit("answer", 0.8, "Error XK-4471 appears when the daemon cannot renew its lease."),
    ]
    assert ids(boost_exact_terms(hits, "how to fix error XK-4471", 0.5)) == [
        "answer",
        "look-alike",
    ]


def test_an_identifier_inside_a_longer_token_does_not_match():
    hits = [hit("a", 1.0, "XK-44711 and XXK-4471"), hit("b", 0.9, "nothing")]
    boosted = boost_exact_terms(hits, "XK-4471", 0.5)
    assert [h.score for h in boosted] == [1.0, 0.9]


def test_identifiers_match_whatever_their_case():
    hits = [hit("a", 1.0, "nothing"), hit("b", 0.9, "use the --Force flag")]
    assert ids(boost_exact_terms(hits, "--force", 0.5)) == ["b", "a"]


def test_the_boost_grows_with_the_share_of_identifiers_held():
    hits = [hit("one", 1.0, "QL-88"), hit("both", 1.0, "QL-88 and QL-83")]
    boosted = {h.chunk_id: h.score for h in boost_exact_terms(hits, "QL-88 QL-83", 0.5)}
    assert boosted == {"one": 1.25, "both": 1.5}


def test_the_boost_is_scaled_to_the_top_score_of_any_fusion():
    rrf_scale = [hit("a", 0.03, "nothing"), hit("b", 0.02, "XK-4471")]
    boosted = {h.chunk_id: h.score for h in boost_exact_terms(rrf_scale, "XK-4471", 0.5)}
    assert boosted["b"] == 0.02 + 0.5 * 0.03


def test_a_query_without_identifiers_or_a_zero_weight_changes_nothing():
    hits = [hit("a", 1.0, "XK-4471"), hit("b", 0.5, "XK-4471")]
    assert boost_exact_terms(hits, "how do plants make sugar", 0.5) == hits
    assert boost_exact_terms(list(reversed(hits)), "XK-4471", 0.0) == list(reversed(hits))


def test_a_chunk_is_lifted_by_another_section_of_its_page():
    hits = [
        hit("stray", 1.0, title="git-log"),
        hit("stash-options", 0.9, title="git-stash"),
        hit("stash-description", 0.85, title="git-stash"),
    ]
    boosted = boost_by_siblings(hits, 0.2)
    assert ids(boosted) == ["stash-options", "stash-description", "stray"]
    assert {h.chunk_id: h.score for h in boosted} == {
        "stray": 1.0,
        "stash-options": 0.9 + 0.2 * 0.85,
        "stash-description": 0.85 + 0.2 * 0.9,
    }


def test_a_chunk_never_supports_itself():
    assert [h.score for h in boost_by_siblings([hit("alone", 1.0, title="t")], 0.5)] == [1.0]


def test_the_best_sibling_counts_not_the_sum_of_them():
    hits = [hit(str(i), 1.0 - i / 10, title="page") for i in range(4)]
    boosted = {h.chunk_id: h.score for h in boost_by_siblings(hits, 0.5)}
    assert boosted["3"] == 0.7 + 0.5 * 1.0
    assert boosted["0"] == 1.0 + 0.5 * 0.9


def test_chunks_without_a_title_belong_to_their_document():
    untitled = hit("a", 1.0, document_id="readme")
    assert page_key(untitled) == page_key(hit("b", 0.5, document_id="readme"))
    assert page_key(untitled) != page_key(hit("c", 0.5, document_id="other"))
    assert page_key(hit("d", 0.5, document_id="readme", title="readme")) != page_key(untitled)


def test_zero_sibling_weight_changes_nothing():
    hits = [hit("a", 1.0, title="p"), hit("b", 0.5, title="p")]
    assert boost_by_siblings(hits, 0.0) == hits


def test_coverage_counts_the_query_words_a_text_holds_by_their_stems():
    text = "Tomato plants need six hours of direct sun."
    assert query_term_coverage("how do plants make sugar from sunlight", text) == 0.25
    assert query_term_coverage("which plant needs direct sunshine", text) == 0.75  # sunsh- no
    assert query_term_coverage("XK-4471", "Error xk-4471 means the disk is full.") == 1.0


def test_a_query_of_stop_words_only_is_fully_covered():
    assert query_term_coverage("what is it", "anything") == 1.0
