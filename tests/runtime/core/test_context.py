from chorus.runtime.core.context import approximate_token_count, assemble_context
from chorus.runtime.core.models import SearchHit


def hit(cid, text, name="doc.md"):
    return SearchHit(cid, "d-" + cid, 0, text, 1.0, {"document_name": name})


def test_sources_are_numbered_in_rank_order_with_their_document_name():
    context = assemble_context([hit("a", "alpha"), hit("b", "beta", "b.md")], budget_tokens=500)
    assert context.text == "[1] (doc.md)\nalpha\n\n[2] (b.md)\nbeta"
    assert [c.number for c in context.citations] == [1, 2]
    assert context.citations[1].document_name == "b.md"


def test_chunks_that_do_not_fit_are_skipped_but_smaller_later_ones_still_fit():
    big = hit("big", "word " * 400)
    context = assemble_context([hit("a", "short"), big, hit("c", "tiny")], budget_tokens=60)
    assert [c.hit.chunk_id for c in context.citations] == ["a", "c"]
    assert context.tokens <= 60


def test_numbers_stay_contiguous_after_a_skip():
    big = hit("big", "word " * 400)
    context = assemble_context([big, hit("a", "short")], budget_tokens=60)
    assert context.text.startswith("[1] (doc.md)\nshort")


def test_custom_token_counter_is_used():
    context = assemble_context(
        [hit("a", "x"), hit("b", "y")], budget_tokens=10, count_tokens=lambda text: 5
    )
    assert len(context.citations) == 1


def test_approximate_token_count_grows_with_text():
    assert approximate_token_count("one two three") < approximate_token_count("one two three " * 5)
