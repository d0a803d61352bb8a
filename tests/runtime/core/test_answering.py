from chorus.runtime.core.answering import (
    NO_ANSWER,
    ExtractiveAnswerer,
    LLMAnswerer,
    build_messages,
    split_sentences,
)
from chorus.runtime.core.context import assemble_context
from chorus.runtime.core.models import ChatMessage, LLMDelta, SearchHit, TokenUsage


def context_of(*texts):
    hits = [
        SearchHit(f"c{i}", f"d{i}", 0, t, 1.0, {"document_name": f"doc{i}.md"})
        for i, t in enumerate(texts)
    ]
    return assemble_context(hits, budget_tokens=2000)


def test_split_sentences_joins_wrapped_lines_and_drops_markdown():
    text = "## Title\n\nFirst sentence wraps\nonto a second line. Second one.\n- a bullet item"
    assert split_sentences(text) == [
        "Title",
        "First sentence wraps onto a second line.",
        "Second one.",
        "a bullet item",
    ]


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


def test_split_sentences_leaves_out_code_blocks_and_symbol_soup():
    text = 'Intro sentence here.\n\n```json\n{"action": "x"}\n```\n\n{"a": 1, "b": [2, 3]}\n\nEnd.'
    assert split_sentences(text) == ["Intro sentence here.", "End."]


def test_only_the_first_sentences_of_the_context_are_scored(embedder):
    filler = [
        f"Paragraph {i} describes the weather of town number {i} in spring." for i in range(20)
    ]
    hits = [SearchHit(f"c{i}", f"d{i}", 0, text, 1.0, {}) for i, text in enumerate(filler)]
    hits.append(SearchHit("cats", "cats", 0, "Cats sleep for about sixteen hours a day.", 0.5, {}))
    context = assemble_context(hits, budget_tokens=5000)

    capped = ExtractiveAnswerer(embedder).select("How long do cats sleep?", context)
    everything = ExtractiveAnswerer(embedder, max_candidates=None).select(
        "How long do cats sleep?", context
    )

    assert everything[0][0].startswith("Cats sleep")
    assert all(not sentence.startswith("Cats") for sentence, _, _ in capped)
