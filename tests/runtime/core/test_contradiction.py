"""Word-level differences between a claim and its aligned source sentence."""

from __future__ import annotations

import pytest
from chorus.runtime.core.claims import read_claim
from chorus.runtime.core.contradiction import compare


def kinds(claim: str, source: str) -> list[str]:
    return [d.kind for d in compare(read_claim(claim), read_claim(source))]


def test_inserted_negation_contradicts():
    assert kinds(
        "Aurora cannot pause at zero capacity when idle.",
        "Aurora can pause at zero capacity when idle.",
    ) == ["negation"]


def test_removed_negation_contradicts():
    assert kinds(
        "The cache is shared between users.", "The cache is never shared between users."
    ) == ["negation"]


def test_antonym_from_wordnet_contradicts():
    difference = compare(
        read_claim("Keyword search is disabled by default."),
        read_claim("Keyword search is enabled by default."),
    )
    assert [(d.kind, d.claim, d.source) for d in difference] == [("antonym", "disabled", "enabled")]


def test_negation_and_antonym_cancel_out():
    assert (
        kinds("Keyword search is not disabled by default.", "Keyword search is enabled by default.")
        == []
    )


def test_different_number_contradicts_and_names_both_values():
    [difference] = compare(
        read_claim("The default chunk size is 2,000 characters."),
        read_claim("The default chunk size is 1,000 characters."),
    )
    assert (difference.kind, difference.claim, difference.source) == (
        "number",
        "2000 character",
        "1000 character",
    )


def test_spelled_out_number_is_the_same_number():
    assert kinds("Chunks hold a thousand characters.", "Chunks hold 1,000 characters.") == []


def test_same_number_in_another_unit_contradicts():
    assert kinds("The server starts in 5 minutes.", "The server starts in 5 seconds.") == ["number"]


def test_different_year_or_month_contradicts():
    assert kinds("Version 2 shipped in April 2024.", "Version 2 shipped in March 2024.") == ["date"]
    assert kinds("Version 2 shipped in 2023.", "Version 2 shipped in 2024.") == ["date"]


def test_swapped_name_contradicts():
    assert kinds(
        "Sydney is the capital of Australia.", "Canberra is the capital of Australia."
    ) == ["entity"]


def test_swapped_identifier_contradicts():
    assert kinds("Set chunk_overlap to change the size.", "Set chunk_size to change the size.") == [
        "entity"
    ]


def test_universal_where_the_source_says_sometimes_contradicts():
    assert kinds("The job always retries.", "The job sometimes retries.") == ["quantifier"]


def test_comparative_turned_around_contradicts():
    assert kinds(
        "Vector search is slower than keyword search.",
        "Vector search is faster than keyword search.",
    ) == ["comparative"]


def test_compared_things_swapped_contradicts():
    assert kinds(
        "Keyword search is faster than vector search.",
        "Vector search is faster than keyword search.",
    ) == ["comparative"]


@pytest.mark.parametrize(
    ("claim", "source"),
    [
        (
            "When idle, Aurora is able to pause at zero capacity.",
            "Aurora can pause at zero capacity when idle.",
        ),
        ("Amazon Aurora pauses when nobody uses it.", "Aurora pauses when it is not used."),
        (
            "Not only keyword search but also vectors are used.",
            "Keyword search and vectors are used.",
        ),
    ],
)
def test_paraphrase_has_no_difference(claim, source):
    assert kinds(claim, source) == []


def test_indirect_antonym_of_an_adjective_satellite_contradicts():
    # "mandatory" is a WordNet satellite of "obligatory", whose antonym is "optional".
    difference = compare(
        read_claim("The command line client is a mandatory dependency."),
        read_claim("The command line client is an optional dependency."),
    )
    assert [(d.kind, d.claim, d.source) for d in difference] == [
        ("antonym", "mandatory", "optional")
    ]


def test_compound_differing_in_one_opposite_part_contradicts():
    difference = compare(
        read_claim("apt is a low-level command-line interface."),
        read_claim("apt is a high-level command-line interface."),
    )
    assert [(d.kind, d.claim, d.source) for d in difference] == [
        ("antonym", "low-level", "high-level")
    ]


def test_adverb_is_compared_through_its_adjective():
    assert kinds(
        "The calls to s3 are mocked out manually.", "The calls to s3 are automatically mocked out."
    ) == ["antonym"]


def test_negating_prefix_contradicts_where_wordnet_lists_no_pair():
    assert kinds(
        "apt-get retrieves packages from unauthenticated sources.",
        "apt-get retrieves packages from authenticated sources.",
    ) == ["antonym"]


def test_quantifier_words_are_not_read_as_antonyms():
    # WordNet pairs "all" with "some"; here the sentences agree.
    assert (
        kinds(
            "The plugin shows a stack dump of all threads.",
            "The plugin shows a stack dump of any threads.",
        )
        == []
    )


def test_negation_counts_when_the_rest_of_the_sentence_is_shared():
    assert kinds(
        "The FAQ file is still kept up to date.", "The FAQ file is no longer updated."
    ) == ["negation"]


def test_flipped_comparative_bound_on_a_number_is_contradicted_with_its_words():
    difference = compare(
        read_claim("The sequence length was limited to more than 128 tokens."),
        read_claim("The sequence length was limited to 128 tokens."),
    )
    assert [(d.kind, d.claim, d.source) for d in difference] == [
        ("comparative", "more than 128", "limited to 128")
    ]


def test_strict_comparison_against_the_stated_number_is_contradicted():
    assert kinds(
        "The learning rate warm up was shorter than 500 steps.",
        "The learning rate warm up lasted 500 steps.",
    ) == ["comparative"]


def test_exactly_against_at_least_is_contradicted():
    assert kinds(
        "A standard queue delivers each message exactly once.",
        "A standard queue delivers each message at least once.",
    ) == ["comparative"]


def test_bound_in_the_same_direction_agrees():
    assert (
        kinds("Messages are kept for up to 14 days.", "Messages are kept for at most 14 days.")
        == []
    )


def test_universal_added_over_what_the_source_talks_about_is_flagged():
    difference = compare(
        read_claim("pypdf needs extra dependencies for every kind of encryption."),
        read_claim("For AES encryption pypdf needs extra dependencies."),
    )
    assert [(d.kind, d.claim, d.source) for d in difference] == [("quantifier", "every", "")]


def test_universal_over_something_the_source_does_not_mention_is_not_compared():
    assert (
        kinds(
            "Scores for every document token are computed ahead of time.",
            "This allows extremely fast scoring at query time.",
        )
        == []
    )


def test_one_word_swapped_for_a_tool_name_is_an_entity_difference():
    difference = compare(
        read_claim("Bash builds with clang by default if it is available."),
        read_claim("Bash builds with gcc by default if it is available."),
    )
    assert [(d.kind, d.claim, d.source) for d in difference] == [("entity", "clang", "gcc")]


def test_unknown_name_ending_like_an_adverb_is_still_a_name():
    assert kinds(
        "qpdf is a CLI application that uses pypdf.", "pdfly is a CLI application that uses pypdf."
    ) == ["entity"]


def differences(claim: str, source: str) -> list[tuple[str, str, str]]:
    return [(d.kind, d.claim, d.source) for d in compare(read_claim(claim), read_claim(source))]


def test_software_opposite_wordnet_lacks_contradicts_through_the_adverb():
    assert differences(
        "The library computes scores lazily at index time.",
        "The library computes scores eagerly at index time.",
    ) == [("antonym", "lazily", "eagerly")]


def test_centralized_against_distributed_contradicts():
    assert differences(
        "Mercurial is a centralized version control system.",
        "Mercurial is a distributed version control system.",
    ) == [("antonym", "centralized", "distributed")]


def test_prefix_negated_compound_contradicts_though_its_parts_are_shared():
    assert differences("The import is non-blocking.", "The import is blocking.") == [
        ("antonym", "non-blocking", "blocking")
    ]


def test_events_swapped_around_before_contradict():
    assert differences(
        "The file is opened before the lock is acquired.",
        "The lock is acquired before the file is opened.",
    ) == [("comparative", "before the lock is", "before the file is")]


def test_after_with_the_events_swapped_says_the_same_as_before():
    assert (
        differences(
            "The file is opened after the lock is acquired.",
            "The lock is acquired before the file is opened.",
        )
        == []
    )


def test_sentence_opening_with_before_is_not_an_order_swap():
    assert (
        differences(
            "Before the file is opened, the lock is acquired.",
            "The lock is acquired before the file is opened.",
        )
        == []
    )


def test_two_names_swapped_between_roles_contradict():
    assert differences(
        "Upgraded systems keep /var/mail as the real directory and /var/spool/mail as a symlink.",
        "Upgraded systems keep /var/spool/mail as the real directory and /var/mail as a symlink.",
    ) == [("entity", "var/mail var/spool/mail", "var/spool/mail var/mail")]


def test_names_reordered_with_their_own_words_are_not_swapped():
    assert (
        differences(
            "Use tox for environments and pytest for unit tests.",
            "Use pytest for unit tests and tox for environments.",
        )
        == []
    )


def test_same_amount_in_another_unit_of_its_dimension_agrees():
    assert kinds("Entries expire after one minute.", "Entries expire after 60 seconds.") == []


def test_half_a_unit_is_that_unit_halved():
    assert kinds("A lock is held for half a minute.", "A lock is held for 30 seconds.") == []


def test_bytes_convert_between_prefixes():
    assert kinds("Each shard holds 2 GB.", "Each shard holds 2,000 MB.") == []


def test_another_amount_after_conversion_contradicts():
    assert kinds("Entries expire after 2 minutes.", "Entries expire after 60 seconds.") == [
        "number"
    ]


def test_not_before_a_prefix_negated_word_affirms_the_base_word():
    assert (
        kinds(
            "Cold caches are common after a deploy.",
            "It is not uncommon for caches to be cold after a deploy.",
        )
        == []
    )


def test_double_negation_still_contradicts_the_opposite():
    assert kinds(
        "Cold caches are uncommon after a deploy.",
        "It is not uncommon for caches to be cold after a deploy.",
    ) == ["antonym"]


def test_unless_states_a_condition_not_a_denial():
    assert (
        kinds("Unless configured otherwise, the client retries.", "By default the client retries.")
        == []
    )


def test_comparative_adjective_bound_has_a_direction():
    assert kinds(
        "Uploads larger than 10 MB are accepted.", "Uploads of at most 10 MB are accepted."
    ) == ["comparative"]


def test_comparative_adjective_bound_in_the_same_direction_agrees():
    assert (
        kinds("Uploads smaller than 10 MB are accepted.", "Uploads under 10 MB are accepted.") == []
    )


def test_mal_prefix_restates_not_well_formed():
    assert (
        kinds("Malformed requests are rejected.", "Requests that are not well-formed are rejected.")
        == []
    )


def test_mal_prefix_against_well_formed_still_counts_with_another_flip():
    assert "antonym" in kinds(
        "Malformed requests are accepted.", "Requests that are not well-formed are rejected."
    )


def test_strict_against_tolerant_contradicts():
    assert kinds(
        "The loader is strict about trailing commas.", "The loader is tolerant of trailing commas."
    ) == ["antonym"]


def test_negation_does_not_reach_past_a_new_clause():
    assert (
        kinds(
            "Deploys are faster with the cache.",
            "The cache keeps layers rather than images, which makes deploys faster.",
        )
        == []
    )


def test_comparison_swapped_next_to_a_rather_than_contrast_contradicts():
    assert kinds(
        "Reads are faster on the replica than on the primary.",
        "The primary keeps logs rather than pages, which makes reads faster than on the replica.",
    ) == ["comparative"]


def test_contrast_swapped_around_rather_than_contradicts():
    assert kinds(
        "The cache keeps images rather than layers.", "The cache keeps layers rather than images."
    ) == ["comparative"]


def test_a_word_against_a_compounds_opposite_modifier_cancels_a_negation():
    assert differences("The parser is poorly tested.", "The parser is not well-tested.") == []
    assert differences("The parser is well tested.", "The parser is not well-tested.") == [
        ("negation", "", "not")
    ]


def test_an_identifier_spaced_or_not_is_one_identifier():
    assert (
        differences("The protocol is defined in RFC 9110.", "The protocol is defined in RFC9110.")
        == []
    )
    assert differences(
        "The protocol is defined in RFC 9111.", "The protocol is defined in RFC9110."
    ) == [("entity", "rfc9111", "rfc9110")]


def test_a_multiple_worked_out_from_two_stated_numbers_is_not_another_number():
    source = "Lz4 reads at 600 MB/s and gzip at 100 MB/s."
    assert differences("Lz4 reads at 600 MB/s, six times the 100 MB/s of gzip.", source) == []
    assert (
        differences("Lz4 reads at 600 MB/s, more than five times the 100 MB/s of gzip.", source)
        == []
    )
    assert differences("Lz4 reads at 700 MB/s, six times the 100 MB/s of gzip.", source) != []
