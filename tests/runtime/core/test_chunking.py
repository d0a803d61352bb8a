import itertools

from chorus.runtime.core.chunking import chunk_id, content_hash, split_text
from chorus.runtime.core.models import ChunkingSettings

TEXT = "\n\n".join(
    f"Paragraph {i}. " + " ".join(f"word{i}_{j}" for j in range(60)) for i in range(12)
)


def test_chunks_respect_the_configured_size():
    settings = ChunkingSettings(chunk_size=300, chunk_overlap=50)
    drafts = split_text(TEXT, "ws", "doc", settings)
    assert len(drafts) > 5
    assert all(len(d.text) <= 300 for d in drafts)


def test_chunks_overlap_by_roughly_the_configured_amount():
    drafts = split_text(TEXT, "ws", "doc", ChunkingSettings(chunk_size=300, chunk_overlap=80))
    shared = [a.text.split()[-1] in b.text for a, b in itertools.pairwise(drafts)]
    assert sum(shared) >= len(shared) // 2


def test_ordinals_count_from_zero_in_document_order():
    drafts = split_text(TEXT, "ws", "doc", ChunkingSettings(chunk_size=300, chunk_overlap=0))
    assert [d.ordinal for d in drafts] == list(range(len(drafts)))
    assert [d.start for d in drafts] == sorted(d.start for d in drafts)


def test_chunk_ids_are_deterministic():
    settings = ChunkingSettings(chunk_size=300, chunk_overlap=50)
    first = [d.id for d in split_text(TEXT, "ws", "doc", settings)]
    second = [d.id for d in split_text(TEXT, "ws", "doc", settings)]
    assert first == second
    assert len(set(first)) == len(first)


def test_chunk_id_changes_with_workspace_document_ordinal_or_content():
    base = chunk_id("ws", "doc", 0, "text")
    assert base != chunk_id("ws2", "doc", 0, "text")
    assert base != chunk_id("ws", "doc2", 0, "text")
    assert base != chunk_id("ws", "doc", 1, "text")
    assert base != chunk_id("ws", "doc", 0, "text!")


def test_editing_one_word_changes_only_the_id_of_the_chunk_holding_it():
    settings = ChunkingSettings(chunk_size=300, chunk_overlap=0)
    before = split_text(TEXT, "ws", "doc", settings)
    after = split_text(TEXT.replace("word11_5 ", "changed "), "ws", "doc", settings)
    assert len(before) == len(after)
    changed = [b.ordinal for b, a in zip(before, after, strict=True) if b.id != a.id]
    assert changed == [a.ordinal for a in after if "changed" in a.text]


def test_content_hash_accepts_text_and_bytes_alike():
    assert content_hash("héllo") == content_hash("héllo".encode())


def test_invalid_settings_are_refused():
    import pytest

    with pytest.raises(ValueError):
        ChunkingSettings(chunk_size=10)
    with pytest.raises(ValueError):
        ChunkingSettings(chunk_size=100, chunk_overlap=100)


GUIDE = """# Routers

Intro to the routers.

## Zephyrine 9

The Zephyrine 9 ships with WPA3 disabled.

```sh
# not a heading: a shell comment
reboot
```

## Aurora 2

The Aurora 2 has no WPA3 at all.
"""


def _split(text=GUIDE, title=None, markdown=True, **settings):
    chunking = ChunkingSettings(chunk_size=200, chunk_overlap=0, **settings)
    return split_text(text, "ws", "doc", chunking, title=title, markdown=markdown)


def test_markdown_is_cut_at_headings_so_no_chunk_spans_two_sections():
    drafts = _split()
    assert [d.headings for d in drafts] == [
        ("Routers",),
        ("Routers", "Zephyrine 9"),
        ("Routers", "Aurora 2"),
    ]
    assert "Aurora" not in drafts[1].text.split("\n\n", 1)[1]


def test_a_hash_line_inside_fenced_code_is_not_a_heading():
    zephyrine = _split()[1]
    assert "# not a heading" in zephyrine.text


def test_plain_text_is_one_section_even_with_hash_lines():
    drafts = _split(markdown=False)
    assert {d.section for d in drafts} == {0}
    assert all(d.headings == () for d in drafts)


def test_keyword_title_mode_stores_the_heading_path_but_embeds_the_body_alone():
    zephyrine = _split(title_mode="keyword")[1]
    assert zephyrine.text.startswith("Routers › Zephyrine 9\n\n")
    assert zephyrine.embed_text.startswith("The Zephyrine 9 ships")


def test_embed_title_mode_embeds_the_heading_path_with_the_body():
    zephyrine = _split(title_mode="embed")[1]
    assert zephyrine.embed_text == zephyrine.text
    assert zephyrine.embed_text.startswith("Routers › Zephyrine 9\n\n")


def test_none_title_mode_keeps_headings_only_as_metadata():
    zephyrine = _split(title_mode="none")[1]
    assert zephyrine.text.startswith("The Zephyrine 9 ships")
    assert zephyrine.headings == ("Routers", "Zephyrine 9")


def test_the_document_title_heads_every_heading_path():
    drafts = _split(text="Plain body about WPA3.", title="Router FAQ", markdown=False)
    assert drafts[0].text == "Router FAQ\n\nPlain body about WPA3."
    assert drafts[0].headings == ("Router FAQ",)


def test_a_title_equal_to_the_first_heading_is_not_repeated():
    assert _split(title="Routers")[1].headings == ("Routers", "Zephyrine 9")


def test_changing_what_is_embedded_changes_the_chunk_ids():
    keyword = [d.id for d in _split(title_mode="keyword")]
    embed = [d.id for d in _split(title_mode="embed")]
    assert keyword == [d.id for d in _split(title_mode="keyword")]
    assert set(keyword).isdisjoint(embed)


def test_start_offsets_point_into_the_document():
    for draft in _split():
        body = draft.text.split("\n\n", 1)[1]
        assert GUIDE[draft.start : draft.start + len(body)] == body
