"""Grounding: each answer sentence against the sources' sentences, with the real MiniLM."""

from __future__ import annotations

import pytest
from chorus.runtime.core.answering import NO_ANSWER
from chorus.runtime.core.context import assemble_context
from chorus.runtime.core.grounding import (
    EmbeddingGroundingJudge,
    GroundingJudge,
    SentenceSupport,
    grounding_report,
)
from chorus.runtime.core.models import SearchHit

VOLCANO = (
    "A volcano is an opening in the crust where molten magma reaches the surface as lava. "
    "Stratovolcanoes such as Mount Fuji build steep cones from layers of ash and lava. "
    "Explosive eruptions throw pyroclastic flows and ash columns high into the sky."
)
BEES = (
    "Worker bees collect nectar from flowers and turn it into honey in the hive. "
    "Bees perform a waggle dance to tell the colony where the flowers are."
)


@pytest.fixture(scope="module")
def context():
    hits = [
        SearchHit("c1", "d1", 0, VOLCANO, 1.0, {"document_name": "volcanoes.md"}),
        SearchHit("c2", "d2", 0, BEES, 0.9, {"document_name": "bees.md"}),
    ]
    return assemble_context(hits, budget_tokens=2000)


@pytest.fixture(scope="module")
def judge(embedder) -> GroundingJudge:
    return EmbeddingGroundingJudge(embedder)


SUPPORTED = [
    "Lava is molten magma that reaches the surface through an opening in the crust [1].",
    "Mount Fuji is a stratovolcano with a steep cone made of ash and lava layers.",
    "Explosive eruptions send pyroclastic flows and ash high into the air.",
    "Bees dance to show the colony where flowers are [2].",
]
UNSUPPORTED = [
    "The Eiffel Tower was completed in 1889 in Paris.",
    "Mount Fuji last erupted in 1707 and is 3,776 metres tall.",
    "Volcanoes are caused by aliens living under the ocean.",
]


@pytest.mark.parametrize("sentence", SUPPORTED)
def test_paraphrase_of_a_source_sentence_is_supported(judge, context, sentence):
    report = judge.check([sentence], context)[0]

    assert report.score == 1.0, report.sentences
    assert report.unsupported == []


@pytest.mark.parametrize("sentence", UNSUPPORTED)
def test_claim_the_sources_do_not_make_is_unsupported(judge, context, sentence):
    report = judge.check([sentence], context)[0]

    assert report.score == 0.0, report.sentences
    assert report.unsupported == [sentence]


def test_mixed_answer_marks_only_the_invented_sentence(judge, context):
    answer = f"{SUPPORTED[0]} {UNSUPPORTED[1]} {SUPPORTED[1]}"

    report = judge.check([answer], context)[0]

    assert report.unsupported == [UNSUPPORTED[1]]
    assert 0.5 < report.score < 1.0
    assert [s.source for s in report.sentences if s.supported] == [1, 1]


def test_citation_markers_do_not_reach_the_sentences(judge, context):
    report = judge.check(["Bees dance to show the colony where flowers are [2][1]."], context)[0]

    assert "[" not in report.sentences[0].text
    assert report.sentences[0].source == 2


def test_each_answer_gets_its_own_report(judge, context):
    reports = judge.check([SUPPORTED[0], UNSUPPORTED[0], ""], context)

    assert [r.score for r in reports] == [1.0, 0.0, None]


def test_not_found_reply_claims_nothing(judge, context):
    assert judge.check([NO_ANSWER], context)[0].score is None


def test_without_sources_every_claim_is_unsupported(judge):
    empty = assemble_context([], budget_tokens=100)

    report = judge.check([SUPPORTED[0]], empty)[0]

    assert report.score == 0.0 and report.sentences[0].source is None


def test_short_fragments_are_not_checked(judge, context):
    assert judge.check(["Yes."], context)[0].score is None


def test_score_is_the_supported_share_of_words():
    report = grounding_report(
        [
            SentenceSupport("one two three four five six", 0.9, True, 1),
            SentenceSupport("seven eight", 0.1, False, 1),
        ]
    )

    assert report.score == 0.75
    assert report.to_dict() == {"score": 0.75, "unsupported": ["seven eight"], "contradicted": []}


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, embedder) -> None:
        self.embedder = embedder
        self.model_id, self.dimension = embedder.model_id, embedder.dimension
        self.texts: list[str] = []

    def embed(self, texts, *, kind="passage"):
        self.texts.extend(texts)
        return self.embedder.embed(texts, kind=kind)


def test_quoted_sentences_are_supported_without_embedding_anything(embedder, context):
    counting = CountingEmbedder(embedder)
    quoted = (
        "Stratovolcanoes such as Mount Fuji build steep cones from layers of ash and lava [1]. "
        "Worker bees collect nectar from flowers and turn it into honey in the hive [2]"
    )

    [report] = EmbeddingGroundingJudge(counting).check([quoted], context)

    assert counting.texts == []  # what the extractive answerer writes costs no embedding
    assert report.score == 1.0
    assert [(s.score, s.supported, s.source) for s in report.sentences] == [
        (1.0, True, 1),
        (1.0, True, 2),
    ]


def test_only_the_claims_that_are_not_quotes_are_embedded(embedder, context):
    counting = CountingEmbedder(embedder)
    mixed = (
        "Bees perform a waggle dance to tell the colony where the flowers are. "
        "Honeybees dance to show their hive mates where flowers grow."
    )

    [report] = EmbeddingGroundingJudge(counting).check([mixed], context)

    # The paraphrase is embedded (and with it the sources); the quote only as a source.
    assert "Honeybees dance to show their hive mates where flowers grow." in counting.texts
    quote = "Bees perform a waggle dance to tell the colony where the flowers are."
    assert counting.texts.count(quote) == 1
    assert report.sentences[0].score == 1.0 and report.sentences[0].source == 2
    assert report.sentences[1].supported and report.sentences[1].source == 2


FLIPPED = [
    ("Stratovolcanoes such as Mount Fuji never build steep cones from ash and lava.", "negation"),
    ("Explosive eruptions throw pyroclastic flows and ash columns low into the sky.", "antonym"),
    ("Stratovolcanoes such as Mount Etna build steep cones from layers of ash and lava.", "entity"),
]


@pytest.mark.parametrize(("sentence", "kind"), FLIPPED)
def test_sentence_that_flips_its_source_is_contradicted(judge, context, sentence, kind):
    [report] = judge.check([sentence], context)

    [contradicted] = report.contradicted
    assert contradicted.text == sentence
    assert contradicted.evidence is not None and contradicted.evidence in VOLCANO + BEES
    assert [d.kind for d in contradicted.differences] == [kind]
    assert report.score == 0.0 and report.unsupported == []


def test_contradiction_travels_in_the_report_dict(judge, context):
    [report] = judge.check([FLIPPED[0][0]], context)

    [entry] = report.to_dict()["contradicted"]
    assert entry["source"] == 1
    assert entry["evidence"].startswith("Stratovolcanoes such as Mount Fuji")
    assert entry["differences"] == [{"kind": "negation", "claim": "never", "source": ""}]


def test_number_no_source_states_is_unsupported_however_close_the_wording(judge, context):
    sentence = "Worker bees collect nectar from 40 flowers and turn it into honey in the hive."

    [report] = judge.check([sentence], context)

    [support] = report.sentences
    assert support.verdict == "unsupported"
    assert [(d.kind, d.claim) for d in support.differences] == [("number", "40")]


def test_code_heavy_sentences_are_checked_too(judge, context):
    [report] = judge.check(["Set `eruption_rate=2.5` in `volcano.cfg` [1]."], context)

    assert report.unsupported == ["Set `eruption_rate=2.5` in `volcano.cfg`."]


def test_cosine_only_judge_sees_no_contradiction(embedder, context):
    cosine_only = EmbeddingGroundingJudge(embedder, contradictions=False)

    [report] = cosine_only.check([FLIPPED[0][0]], context)

    assert report.contradicted == [] and report.score == 1.0


def test_a_quote_another_source_contradicts_is_flagged(judge):
    old = SearchHit("old", "d1", 0, "The default chunk size is 1,000 characters.", 1.0, {})
    new = SearchHit("new", "d2", 0, "The default chunk size is 2,000 characters.", 0.9, {})
    context = assemble_context([old, new], budget_tokens=2000)

    [report] = judge.check(["The default chunk size is 1,000 characters [1]."], context)

    [quote] = report.sentences
    assert quote.verdict == "contradicted" and quote.source == 2
    assert quote.evidence == "The default chunk size is 2,000 characters."
    assert report.score == 0.0


TQDM = (
    "Overhead is low, about 60ns per iteration. "
    "tqdm works on any platform (Linux, Windows, Mac, FreeBSD, NetBSD, Solaris/SunOS), in any "
    "console or in a GUI, and is also friendly with IPython/Jupyter notebooks."
)
BM25S = (
    "bm25s leverages sparse matrices to store eagerly computed scores for all document tokens. "
    "This allows extremely fast scoring at query time."
)


def test_list_paraphrase_of_a_long_list_sentence_is_supported(judge):
    context = assemble_context([SearchHit("t", "d", 0, TQDM, 1.0, {})], budget_tokens=2000)

    [verdict] = judge.judge_claims(
        ["It runs on Linux, Windows and Mac as well as in Jupyter notebooks."], context
    )

    assert verdict.verdict == "supported"


def test_claim_summing_up_two_sentences_of_a_source_is_supported(judge):
    context = assemble_context([SearchHit("b", "d", 0, BM25S, 1.0, {})], budget_tokens=2000)

    [verdict] = judge.judge_claims(
        [
            "Because scores for every document token are computed ahead of time and kept in "
            "sparse matrices, queries are scored very quickly."
        ],
        context,
    )

    assert verdict.verdict == "supported"


def test_antonym_of_the_aligned_sentence_is_contradicted_with_the_differing_words(judge):
    source = (
        "With the mock_aws decorator wrapping the test, all the calls to s3 are automatically "
        "mocked out."
    )
    context = assemble_context([SearchHit("m", "d", 0, source, 1.0, {})], budget_tokens=2000)

    [verdict] = judge.judge_claims(
        ["With the decorator in place the calls to s3 have to be mocked out manually."], context
    )

    assert verdict.verdict == "contradicted"
    assert [(d.claim, d.source) for d in verdict.differences] == [("manually", "automatically")]


def test_amount_in_another_unit_than_the_aligned_sentence_is_contradicted(judge):
    source = "The helper backoff(3) sleeps 3 seconds between tries. It gives up after a minute."
    context = assemble_context([SearchHit("r", "d", 0, source, 1.0, {})], budget_tokens=2000)

    [verdict] = judge.judge_claims(["backoff(3) sleeps 3 minutes between tries."], context)

    assert verdict.verdict == "contradicted"
    assert [(d.kind, d.claim, d.source) for d in verdict.differences] == [
        ("number", "3 minute", "3 second")
    ]


def test_name_the_document_is_named_after_is_known(judge):
    source = "This database replicates every write to all of its peers within a second."
    hit = SearchHit("o", "d", 0, source, 1.0, {"document_name": "orbitdb-readme.md"})
    context = assemble_context([hit], budget_tokens=2000)

    named, other = judge.judge_claims(
        [
            "OrbitDB replicates every write to all of its peers within a second.",
            "CouchDB replicates every write to all of its peers within a second.",
        ],
        context,
    )

    assert named.verdict == "supported"
    assert other.verdict == "unsupported"


def test_a_name_the_document_is_named_after_is_no_swapped_entity(judge):
    source = (
        "The project ships a permissively licensed C library and a command line tool that "
        "packs and unpacks .tar, .cpio and .zip archives."
    )
    hit = SearchHit("a", "d", 0, source, 1.0, {"document_name": "arcpack-readme"})
    context = assemble_context([hit], budget_tokens=2000)

    [verdict] = judge.judge_claims(
        ["The arcpack command line tool can pack and unpack .tar, .cpio and .zip archives."],
        context,
    )

    assert verdict.verdict == "supported", verdict.differences


def test_version_no_source_gives_that_name_is_contradicted(judge):
    source = (
        "The client speaks HTTP/1.1 and HTTP/2. It reads YAML 1.1 and YAML 1.2 files "
        "and writes TOML 1.0."
    )
    context = assemble_context([SearchHit("y", "d", 0, source, 1.0, {})], budget_tokens=2000)

    other, same = judge.judge_claims(
        ["The client reads YAML 1.0 and YAML 1.2 files.", "YAML 1.1 files can be read."], context
    )

    assert other.verdict == "contradicted"
    assert [(d.kind, d.claim, d.source) for d in other.differences] == [
        ("number", "yaml 1", "yaml 1.1, 1.2")
    ]
    assert same.verdict != "contradicted"


def test_version_followed_by_or_later_is_a_bound_not_a_version(judge):
    source = "The tool needs Python 3.9 or later and runs on Linux."
    context = assemble_context([SearchHit("p", "d", 0, source, 1.0, {})], budget_tokens=2000)

    [verdict] = judge.judge_claims(["The tool runs on Python 3.12 under Linux."], context)

    assert not any(d.claim.startswith("python") for d in verdict.differences)


GUNICORN = (
    "Gunicorn is a WSGI HTTP server for Unix. It offers pre-fork workers, in-process worker "
    "hooks, graceful reloads and a small config file."
)
LIBFOO = (
    "libfoo 2.0 added streaming uploads for the Debian 2.0 point release. It was published on "
    "Tuesday, 4 May 2021. The 2.1 update followed in June 2021."
)


def test_claim_in_other_words_and_structure_is_supported_by_its_word_coverage(judge):
    context = assemble_context([SearchHit("g", "d", 0, GUNICORN, 1.0, {})], budget_tokens=2000)

    [verdict] = judge.judge_claims(["Gunicorn's worker hooks run in the same process."], context)

    assert verdict.verdict == "supported"
    assert verdict.score < judge.threshold - judge.lexical_margin  # the cosine alone is too low


def test_word_coverage_does_not_support_a_claim_that_adds_a_negation(judge):
    context = assemble_context([SearchHit("g", "d", 0, GUNICORN, 1.0, {})], budget_tokens=2000)

    [verdict] = judge.judge_claims(
        ["Gunicorn's worker hooks never run in the same process."], context
    )

    assert verdict.verdict == "contradicted"


def test_claim_gathering_its_words_from_two_sentences_about_other_things_is_unsupported(judge):
    context = assemble_context([SearchHit("g", "d", 0, GUNICORN, 1.0, {})], budget_tokens=2000)

    [verdict] = judge.judge_claims(
        ["Gunicorn's worker hooks send metrics to a remote server."], context
    )

    assert verdict.verdict == "unsupported"


def test_claim_naming_what_a_sentence_calls_it_is_supported(judge):
    context = assemble_context([SearchHit("l", "d", 0, LIBFOO, 1.0, {})], budget_tokens=2000)

    [verdict] = judge.judge_claims(["libfoo 2.0 shipped on 4 May 2021."], context)

    assert verdict.verdict == "supported"


def test_claim_naming_what_a_sentence_calls_it_with_another_date_is_flagged(judge):
    context = assemble_context([SearchHit("l", "d", 0, LIBFOO, 1.0, {})], budget_tokens=2000)

    [verdict] = judge.judge_claims(["libfoo 2.0 shipped on 4 May 2020."], context)

    assert verdict.verdict != "supported"
