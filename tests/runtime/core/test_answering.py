from chorus.runtime.core.answering import (
    NO_ANSWER,
    ExtractiveAnswerer,
    LLMAnswerer,
    build_messages,
)
from chorus.runtime.core.context import assemble_context
from chorus.runtime.core.models import ChatMessage, LLMDelta, SearchHit, TokenUsage


def context_of(*texts):
    hits = [
        SearchHit(f"c{i}", f"d{i}", 0, t, 1.0, {"document_name": f"doc{i}.md"})
        for i, t in enumerate(texts)
    ]
    return assemble_context(hits, budget_tokens=2000)


def test_extractive_answer_cites_the_source_that_answers(embedder):
    context = context_of(
        "Cats sleep between twelve and sixteen hours a day.",
        "Espresso is brewed by forcing hot water through ground coffee.",
    )
    answerer = ExtractiveAnswerer(embedder, max_sentences=1)
    answer = "".join(d.text for d in answerer.answer("How long do cats sleep?", context))
    assert "twelve and sixteen hours" in answer
    assert answer.endswith("[1]")


def test_extractive_answer_says_so_when_nothing_is_relevant(embedder):
    context = context_of("Espresso is brewed by forcing hot water through ground coffee.")
    answerer = ExtractiveAnswerer(embedder, min_similarity=0.5)
    answer = "".join(d.text for d in answerer.answer("Who won the 1930 world cup?", context))
    assert answer == NO_ANSWER


def test_extractive_answer_streams_word_by_word_and_ends_with_usage(embedder):
    context = context_of("Cats sleep between twelve and sixteen hours a day.")
    deltas = list(ExtractiveAnswerer(embedder).answer("How long do cats sleep?", context))
    assert len(deltas) > 3
    assert deltas[-1].usage == TokenUsage(0, 0)


def test_extractive_answer_skips_near_duplicate_sentences(embedder):
    sentence = "Cats sleep between twelve and sixteen hours a day."
    context = context_of(sentence, sentence.replace("a day", "per day"))
    picked = ExtractiveAnswerer(embedder).select("How long do cats sleep?", context)
    assert len(picked) == 1


def test_prompt_holds_instructions_history_sources_and_question():
    context = context_of("alpha fact")
    messages = build_messages("q?", context, [ChatMessage("user", "earlier")])
    assert messages[0].role == "system" and "[2]" in messages[0].content
    assert messages[1] == ChatMessage("user", "earlier")
    assert "[1] (doc0.md)\nalpha fact" in messages[-1].content
    assert messages[-1].content.endswith("Question: q?")


class RecordingProvider:
    name = "recording"

    def __init__(self):
        self.calls = []

    def stream_chat(self, messages, *, temperature=0.0, max_tokens=512):
        self.calls.append((messages, temperature, max_tokens))
        yield LLMDelta(text="ok")
        yield LLMDelta(usage=TokenUsage(10, 1))


def test_llm_answerer_passes_per_message_settings_to_the_provider():
    provider = RecordingProvider()
    deltas = list(
        LLMAnswerer(provider).answer("q", context_of("x"), temperature=0.7, max_tokens=33)
    )
    assert [d.text for d in deltas] == ["ok", ""]
    _, temperature, max_tokens = provider.calls[0]
    assert (temperature, max_tokens) == (0.7, 33)


def test_a_relevant_sentence_in_a_low_ranked_source_is_found(embedder):
    filler = [
        f"Paragraph {i} describes the weather of town number {i} in spring." for i in range(20)
    ]
    hits = [SearchHit(f"c{i}", f"d{i}", 0, text, 1.0, {}) for i, text in enumerate(filler)]
    hits.append(SearchHit("cats", "cats", 0, "Cats sleep for about sixteen hours a day.", 0.5, {}))
    context = assemble_context(hits, budget_tokens=5000)

    picked = ExtractiveAnswerer(embedder, max_candidates=8).select(
        "How long do cats sleep?", context
    )

    assert picked[0][0].startswith("Cats sleep") and picked[0][1] == 21


def test_too_many_candidates_are_cut_by_words_shared_with_the_question(embedder):
    filler = [f"Paragraph {i} describes the weather of town {i} in spring." for i in range(30)]
    context = assemble_context(
        [SearchHit("c", "d", 0, " ".join(filler) + " Cats sleep sixteen hours.", 1.0, {})],
        budget_tokens=5000,
    )

    candidates = ExtractiveAnswerer(embedder, max_candidates=5).candidates(
        "How long do cats sleep?", context
    )

    assert len(candidates) == 5
    assert any(c.text.startswith("Cats sleep") for c in candidates)


DOC = """# Fusion

Chorus fuses keyword and vector search by rank. It weights each list by how well it did on
the evaluation set. Fusion never makes results worse than the best single retriever.

| setting | default |
|---|---|
| weight | 0.5 |

```python
fuse(keyword, vector)
```

Caching is a different topic entirely and has its own page."""


def test_answer_is_a_coherent_span_of_the_best_passage_in_document_order(embedder):
    answerer = ExtractiveAnswerer(embedder)

    picked = answerer.select("How does chorus fuse keyword and vector search?", context_of(DOC))

    texts = [t for t, _, _ in picked]
    assert texts[0] == "Chorus fuses keyword and vector search by rank."
    assert texts == sorted(texts, key=DOC.replace("\n", " ").index)
    assert all("|" not in t and "fuse(" not in t and t != "Fusion" for t in texts)
    assert len(texts) <= 3


def test_a_quote_opening_with_this_brings_the_sentence_it_refers_to(embedder):
    doc = (
        "The cache stores answers by question embedding. "
        "This makes repeated questions cost nothing."
    )

    picked = ExtractiveAnswerer(embedder, span_margin=0.0).select(
        "Why do repeated questions cost nothing?", context_of(doc)
    )

    assert [t for t, _, _ in picked][:2] == [
        "The cache stores answers by question embedding.",
        "This makes repeated questions cost nothing.",
    ]


def test_fragments_cut_by_a_chunk_boundary_are_never_quoted(embedder):
    doc = "ids (in process by default; pass a persistent mapping). Sessions expire after a day."

    picked = ExtractiveAnswerer(embedder).select("When do sessions expire?", context_of(doc))

    assert [t for t, _, _ in picked] == ["Sessions expire after a day."]
