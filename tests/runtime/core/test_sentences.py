"""Sentences of Markdown/HTML chunks: what is prose, what is a heading, list item, table."""

from __future__ import annotations

from chorus.runtime.core.sentences import answer_sentences, read_sentences


def test_wrapped_lines_are_joined_and_each_block_has_its_kind():
    text = "## Title\n\nFirst sentence wraps\nonto a second line. Second one.\n- a bullet item"

    assert [(s.text, s.kind) for s in read_sentences(text)] == [
        ("Title", "heading"),
        ("First sentence wraps onto a second line.", "prose"),
        ("Second one.", "prose"),
        ("a bullet item", "list"),
    ]


def test_headings_tables_code_and_fragments_are_not_quotable():
    text = (
        'Setup\n=====\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```json\n{"action": "x"}\n```\n\n'
        "    indented = code\n\nthe end of a sentence cut by the chunk. A whole sentence here."
    )

    assert [s.text for s in answer_sentences(text)] == ["A whole sentence here."]


def test_abbreviations_do_not_end_a_sentence():
    [sentence] = read_sentences("Use a store, e.g. PostgreSQL with pgvector, for vectors.")

    assert sentence.whole


def test_html_tags_are_read_as_text():
    assert [s.text for s in read_sentences("<p>An <b>HTML</b> paragraph.</p>")] == [
        "An HTML paragraph."
    ]


def test_identifiers_keep_their_underscores_and_emphasis_goes():
    [sentence] = read_sentences("Set **chunk_size** to *512* tokens.")

    assert sentence.text == "Set chunk_size to 512 tokens."


def test_short_list_items_are_not_quoted_but_whole_long_ones_are():
    text = "- Thread-safe\n- Every breaker keeps its state in memory unless redis is configured."

    assert [s.text for s in answer_sentences(text)] == [
        "Every breaker keeps its state in memory unless redis is configured."
    ]


def test_sentence_opening_with_a_lower_case_tool_name_is_split_off():
    text = "BM25 is a core component of Elasticsearch. bm25s is implemented in pure Python."
    assert [s.text for s in read_sentences(text)] == [
        "BM25 is a core component of Elasticsearch.",
        "bm25s is implemented in pure Python.",
    ]


def test_sentence_opening_with_an_identifier_is_whole():
    [_, second] = read_sentences("apt manages packages. apt-get retrieves packages.")
    assert second.whole and second.text == "apt-get retrieves packages."


def test_abbreviation_before_a_lower_case_word_does_not_split():
    assert len(read_sentences("It reads PDFs, images, etc. and many other formats.")) == 1
