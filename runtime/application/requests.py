"""Request bodies of the REST API, as pydantic models that refuse unknown fields.

``read_request`` is the one way a transport turns raw bytes into one of them: size limit,
bounded JSON, then the model; every failure is a typed 4xx that names the field.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..core.bounded_json import parse_json
from ..core.errors import BadRequest, PayloadTooLarge
from ..core.identifiers import ID_PATTERN

MAX_BODY_BYTES = 64 * 1024
"""JSON request bodies are limited to 64 KiB (uploads go as files, not JSON)."""
GROUP_PATTERN = r"^[\w+=,.@-]{1,128}$"

Body = TypeVar("Body", bound=BaseModel)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CreateWorkspace(_Body):
    """``POST /workspaces``: a name, and optionally chunking, the store and who may use it."""

    name: str = Field(min_length=1, max_length=100)
    embeddingModel: str | None = Field(None, min_length=1, max_length=200)
    chunkSize: int = Field(1000, ge=50, le=8000)
    chunkOverlap: int = Field(200, ge=0, le=4000)
    titleMode: Literal["keyword", "embed", "none"] = "keyword"
    splitOnHeadings: bool = True
    store: str | None = Field(None, min_length=1, max_length=50)
    groups: list[str] = Field(default_factory=list, max_length=20)
    knowledgeBaseId: str | None = Field(None, pattern=r"^[0-9A-Z]{10}$")
    """An existing Bedrock knowledge base to retrieve from (store ``knowledgebase``)."""
    knowledgeBaseSearchType: Literal["HYBRID", "SEMANTIC"] | None = None

    @field_validator("name")
    @classmethod
    def _printable(cls, value: str) -> str:
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("a workspace name must be printable (no control characters)")
        return value

    @field_validator("groups")
    @classmethod
    def _group_names(cls, value: list[str]) -> list[str]:
        for group in value:
            if not re.match(GROUP_PATTERN, group):
                raise ValueError(f"invalid group name {group!r}")
        return value


class UploadRequest(_Body):
    """``POST /workspaces/{id}/documents`` in the cloud: ask for a presigned upload URL."""

    name: str = Field(min_length=1, max_length=255)
    contentType: str = Field(min_length=1, max_length=255)
    sizeBytes: int = Field(ge=0)


class TuneWorkspace(_Body):
    """``PUT /workspaces/{id}/settings``: what ``chorus tune retrieval`` chose for a workspace."""

    chunkSize: int = Field(ge=50, le=8000)
    chunkOverlap: int = Field(ge=0, le=4000)
    titleMode: Literal["keyword", "embed", "none"] = "keyword"
    splitOnHeadings: bool = True
    retrieval: dict[str, Any] = Field(default_factory=dict)


class FeedbackRequest(_Body):
    """``POST /sessions/{id}/feedback``: thumbs up or down on one answer, with a comment."""

    messageId: str = Field(pattern=ID_PATTERN)
    rating: Literal["up", "down"]
    comment: str = Field("", max_length=2000)


DocumentId = Annotated[str, Field(pattern=ID_PATTERN)]
CaseTag = Annotated[str, Field(pattern=r"^[\w:.+-]{1,64}$")]
MAX_QUESTION_CHARS = 4000
MAX_ANSWER_CHARS = 20000
MAX_NOTE_CHARS = 2000


class CreateEvalCase(_Body):
    """``POST /workspaces/{id}/eval-cases``: one question with the documents that answer it.

    ``answerable: false`` marks a question the workspace cannot answer (the right answer
    declines); otherwise at least one relevant document id is required.
    """

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    relevantDocumentIds: list[DocumentId] = Field(default_factory=list, max_length=100)
    referenceAnswer: str | None = Field(None, min_length=1, max_length=MAX_ANSWER_CHARS)
    answerable: bool = True
    note: str | None = Field(None, max_length=MAX_NOTE_CHARS)
    tags: list[CaseTag] = Field(default_factory=list, max_length=20)


class ImportedEvalCase(CreateEvalCase):
    """One line of ``POST /workspaces/{id}/eval-cases/import`` (JSONL): a case, optionally with
    its own ``id`` (a BEIR query ``_id``); a line with the id of an existing case replaces it."""

    id: str | None = Field(None, pattern=ID_PATTERN)


class UpdateEvalCase(_Body):
    """``PATCH /workspaces/{id}/eval-cases/{caseId}``: review (``status``) or edit a case.

    Only the fields sent change; ``referenceAnswer`` or ``note`` sent as null clear them.
    """

    status: Literal["candidate", "accepted", "rejected"] | None = None
    question: str | None = Field(None, min_length=1, max_length=MAX_QUESTION_CHARS)
    relevantDocumentIds: list[DocumentId] | None = Field(None, max_length=100)
    referenceAnswer: str | None = Field(None, min_length=1, max_length=MAX_ANSWER_CHARS)
    answerable: bool | None = None
    note: str | None = Field(None, max_length=MAX_NOTE_CHARS)
    tags: list[CaseTag] | None = Field(None, max_length=20)


class MarkTurn(_Body):
    """``POST /sessions/{id}/messages/{messageId}/eval-case``: make one answered turn a case.

    ``correct: true`` says the answer is right: it becomes the case's reference answer.
    """

    correct: bool = False
    note: str | None = Field(None, max_length=MAX_NOTE_CHARS)
    tags: list[CaseTag] = Field(default_factory=list, max_length=20)


class QAPairBody(_Body):
    question: str = Field(min_length=1, max_length=2000)
    answer: str = Field(min_length=1, max_length=20000)


class AddSource(_Body):
    """``POST /workspaces/{id}/sources``: a site (``url``, ``depth``, ``maxPages``), a feed
    (``url``), plain text (``name``, ``text``) or Q&A pairs (``pairs``)."""

    kind: Literal["site", "feed", "text", "qa"]
    url: str | None = Field(None, min_length=1, max_length=2000)
    depth: int | None = Field(None, ge=0, le=10)
    maxPages: int | None = Field(None, ge=1, le=1000)
    name: str | None = Field(None, min_length=1, max_length=200)
    text: str | None = Field(None, min_length=1, max_length=MAX_BODY_BYTES)
    pairs: list[QAPairBody] = Field(default_factory=list, max_length=200)


class StartBulkIngestion(_Body):
    """``POST /workspaces/{id}/bulk-ingestions``: the S3 prefix to ingest, or the S3 Inventory
    ``manifest.json`` / key list (CSV or JSON) naming the objects."""

    uri: str = Field(min_length=6, max_length=1100, pattern=r"^s3://")
    kind: Literal["prefix", "inventory", "csv", "json"] | None = None
    """None: from the name (``.../manifest.json`` an inventory, ``.csv``/``.json`` a key list,
    anything else a prefix)."""


def read_request(model: type[Body], raw: bytes, *, limit: int = MAX_BODY_BYTES) -> Body:
    """``raw`` (a request body) as ``model``; ``PayloadTooLarge`` over ``limit`` bytes,
    ``BadRequest`` naming up to five problems otherwise."""
    if len(raw) > limit:
        raise PayloadTooLarge(f"request body is {len(raw)} bytes; the limit is {limit}")
    payload = parse_json(raw or b"{}", what="request body")
    return validate_request(model, payload)


def validate_request(model: type[Body], payload: Any) -> Body:
    """An already-parsed JSON value as ``model``; ``BadRequest`` naming what is wrong."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise BadRequest(f"invalid request body: {details}") from None


class CreateApiKey(_Body):
    """``POST /workspaces/{id}/api-keys``: a named key with its usage plan and scopes."""

    name: str = Field(min_length=1, max_length=100)
    ratePerSecond: float = Field(1.0, gt=0, le=1000)
    burst: int = Field(5, ge=1, le=10000)
    dailyQuota: int = Field(1000, ge=1, le=10_000_000)
    scopes: list[Literal["answers", "documents"]] = Field(
        default_factory=lambda: ["answers", "documents"], min_length=1, max_length=2
    )


class AskQuestion(_Body):
    """``POST /v1/workspaces/{id}/answers``: one question, answered from the workspace."""

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    mode: Literal["single", "cascade", "consensus"] = "single"
    models: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(
        default_factory=list, max_length=8
    )
    sessionId: str | None = Field(None, pattern=ID_PATTERN)
    stream: bool = False
