"""Cut document text into overlapping chunks with stable, content-derived ids.

Markdown is cut at its headings first (a chunk never spans two sections), then each section with
langchain's recursive character splitter (paragraphs, then lines, then sentences, then words),
sized per workspace by ``ChunkingSettings``.

Titles and headings are context, not content: a passage shares its document title with every
other passage of the document, so embedding the title into every chunk pulls all of them towards
the same point and blurs what tells them apart (measured in docs/retrieval.md). Where the heading
path goes is ``ChunkingSettings.title_mode``:

- ``keyword`` (default): the chunk's stored text starts with its ``title › heading`` line, so the
  keyword leg matches it and an LLM reads it, but the embedding is computed from the body alone;
- ``embed``: the heading line is part of the embedded text too;
- ``none``: headings are kept only as chunk metadata (``headings``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from .models import ChunkingSettings

_SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]
_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
HEADING_SEPARATOR = " › "


@dataclass(frozen=True)
class ChunkDraft:
    """A chunk before embedding: its id, position, stored text and the text to embed.

    ``embed_text`` differs from ``text`` when headings are kept out of the embedding;
    ``headings`` is the title and heading path of the section the chunk belongs to and
    ``section`` that section's number in the document (chunks of one section share it).
    """

    id: str
    ordinal: int
    text: str
    start: int
    embed_text: str = ""
    headings: tuple[str, ...] = ()
    section: int = 0

    def __post_init__(self) -> None:
        if not self.embed_text:
            object.__setattr__(self, "embed_text", self.text)


@dataclass(frozen=True)
class Section:
    """A run of text under one heading path; ``start`` is its offset in the document."""

    headings: tuple[str, ...]
    text: str
    start: int
    number: int = 0


def content_hash(data: bytes | str) -> str:
    """SHA-256 hex digest; documents and chunks are compared by it."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def chunk_id(
    workspace_id: str, document_id: str, ordinal: int, text: str, embed_text: str | None = None
) -> str:
    """Deterministic chunk id from (workspace, document, ordinal, content hash).

    The same text at the same place always gets the same id, so a retried upsert overwrites
    instead of duplicating, and any change of content yields a new id. When the embedded text
    differs from the stored one it is part of the content too: changing what is embedded
    changes the vector, so it must change the id.
    """
    content = text if embed_text is None or embed_text == text else f"{text}\x1e{embed_text}"
    key = "\x1f".join((workspace_id, document_id, str(ordinal), content_hash(content)))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def markdown_sections(text: str) -> list[Section]:
    """Split Markdown at its ATX headings (``#`` .. ``######``), ignoring fenced code.

    Each section carries the path of headings above it; text before the first heading is a
    section with an empty path. The heading line itself belongs to no section body.
    """
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    in_fence = False
    body_start = 0
    offset = 0
    lines = text.splitlines(keepends=True)

    def close(end: int) -> None:
        body = text[body_start:end]
        if body.strip():
            sections.append(Section(tuple(h for _, h in path), body, body_start, len(sections)))

    for line in lines:
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _ATX_HEADING.match(line.rstrip("\n"))
        if match:
            close(offset)
            level = len(match.group(1))
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, match.group(2).strip()))
            body_start = offset + len(line)
        offset += len(line)
    close(len(text))
    return sections


def _heading_line(headings: Sequence[str]) -> str:
    return HEADING_SEPARATOR.join(h for h in headings if h)


def split_text(
    text: str,
    workspace_id: str,
    document_id: str,
    settings: ChunkingSettings,
    *,
    title: str | None = None,
    markdown: bool = False,
) -> list[ChunkDraft]:
    """Split ``text`` into chunks of at most ``settings.chunk_size`` characters of body.

    ``title`` (the document's own title) heads every section's heading path. Sections come
    from Markdown headings when the text is Markdown (``markdown``) and
    ``settings.split_on_headings``; otherwise the whole text is one section (a ``#`` line in a
    plain-text file is a shell comment as often as a heading).
    """
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        separators=_SEPARATORS,
        keep_separator="end",
        add_start_index=True,
        strip_whitespace=True,
    )
    sections = (
        markdown_sections(text)
        if markdown and settings.split_on_headings
        else [Section((), text, 0, 0)]
    ) or [Section((), text, 0, 0)]
    lead = (title.strip(),) if title and title.strip() else ()
    drafts: list[ChunkDraft] = []
    for section in sections:
        headings = lead + tuple(h for h in section.headings if not lead or h != lead[0])
        heading = _heading_line(headings)
        for piece in splitter.create_documents([section.text]):
            body = piece.page_content
            if heading and settings.title_mode != "none":
                stored = f"{heading}\n\n{body}"
                embedded = stored if settings.title_mode == "embed" else body
            else:
                stored = embedded = body
            ordinal = len(drafts)
            start = int(piece.metadata.get("start_index", -1))
            drafts.append(
                ChunkDraft(
                    id=chunk_id(workspace_id, document_id, ordinal, stored, embedded),
                    ordinal=ordinal,
                    text=stored,
                    start=section.start + start if start >= 0 else -1,
                    embed_text=embedded,
                    headings=headings,
                    section=section.number,
                )
            )
    return drafts
