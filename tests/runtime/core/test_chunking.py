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
