"""The documents bucket: presigned uploads with limits, object keys, reading and deleting.

Uploads go straight from the browser to S3 (a Lambda never carries the bytes). The REST API hands
out a presigned PUT whose signature covers the object key, ``Content-Type`` and
``Content-Length``: S3 refuses a body of another size or type. The declared size and type are
checked before signing, and the ingest worker checks the real object size again before reading
it (a defence that does not depend on the signature).

Key layout: ``workspaces/<workspace id>/<document id>/<file name>``; the bucket notifies the
ingest queue for ``workspaces/``. S3 event keys arrive URL-encoded with ``+`` for spaces.

The ingest worker keeps the embeddings of a document it could not finish in one invocation under
``ingest-staging/<workspace id>/<document id>/<content hash>.npz`` (private, outside the notified
prefix, encrypted like every object by the bucket's default encryption) until it finishes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from ..core.errors import BadRequest, NotFound, PayloadTooLarge, UnsupportedDocument
from ..core.parsing import SUPPORTED_EXTENSIONS, safe_document_name

KEY_PREFIX = "workspaces/"
STAGING_PREFIX = "ingest-staging/"
DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
UPLOAD_URL_SECONDS = 900

CONTENT_TYPES: dict[str, frozenset[str]] = {
    ".txt": frozenset({"text/plain"}),
    ".md": frozenset({"text/markdown", "text/plain", "text/x-markdown"}),
    ".markdown": frozenset({"text/markdown", "text/plain", "text/x-markdown"}),
    ".html": frozenset({"text/html"}),
    ".htm": frozenset({"text/html"}),
    ".pdf": frozenset({"application/pdf"}),
    ".docx": frozenset({"application/vnd.openxmlformats-officedocument.wordprocessingml.document"}),
    ".csv": frozenset({"text/csv", "text/plain"}),
    ".json": frozenset({"application/json"}),
    ".jsonl": frozenset({"application/x-ndjson", "application/jsonl", "application/json"}),
}
"""Content types a browser may declare for each supported extension."""


@dataclass(frozen=True)
class UploadTicket:
    """What a client needs to upload one file: PUT ``url`` with exactly ``headers``."""

    url: str
    key: str
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "PUT"
    expires_at: int = 0


@dataclass(frozen=True)
class DocumentKey:
    """The parts of an object key under ``workspaces/``."""

    workspace_id: str
    document_id: str
    name: str


def object_key(workspace_id: str, document_id: str, name: str) -> str:
    return f"{KEY_PREFIX}{workspace_id}/{document_id}/{name}"


def staging_key(workspace_id: str, document_id: str, content_hash: str) -> str:
    """Where a paused ingest keeps the embeddings of one version of one document."""
    return f"{STAGING_PREFIX}{workspace_id}/{document_id}/{content_hash}.npz"


def staging_prefix(workspace_id: str, document_id: str) -> str:
    return f"{STAGING_PREFIX}{workspace_id}/{document_id}/"


def parse_event_key(raw_key: str) -> DocumentKey | None:
    """Decode an S3 event key (``+`` is a space, ``%xx`` escapes); None if not a document key."""
    return parse_key(unquote_plus(raw_key))


def parse_key(key: str) -> DocumentKey | None:
    """Split a plain (decoded) object key; None if it is not a document key."""
    if not key.startswith(KEY_PREFIX):
        return None
    parts = key[len(KEY_PREFIX) :].split("/", 2)
    if len(parts) != 3 or not all(parts):
        return None
    return DocumentKey(*parts)


def check_upload(name: str, content_type: str, size_bytes: int, max_bytes: int) -> str:
    """Validate an upload request before signing; returns the cleaned file name.

    Raises ``BadRequest``/``PayloadTooLarge``/``UnsupportedDocument`` with a stable code.
    """
    clean = safe_document_name(name)
    extension = PurePosixPath(clean).suffix.lower()
    if extension not in SUPPORTED_EXTENSIONS:
        supported = ", ".join(sorted(SUPPORTED_EXTENSIONS))
        raise UnsupportedDocument(f"{clean}: unsupported file type; supported: {supported}")
    allowed = CONTENT_TYPES.get(extension, frozenset())
    base_type = content_type.split(";", 1)[0].strip().lower()
    if base_type not in allowed:
        raise UnsupportedDocument(
            f"{clean}: content type {content_type!r} does not match {extension}; "
            f"use one of {', '.join(sorted(allowed))}"
        )
    if size_bytes < 1:
        raise BadRequest("sizeBytes must be at least 1 (empty files cannot be indexed)")
    if size_bytes > max_bytes:
        raise PayloadTooLarge(
            f"{clean} is {size_bytes:,} bytes; the upload limit is {max_bytes:,} bytes"
        )
    return clean


class DocumentBucket:
    """One documents bucket.

    Parameters
    ----------
    client:
        A boto3 S3 client, configured for SigV4 (``Config(signature_version="s3v4")``) so
        presigned URLs sign the headers.
    bucket:
        The bucket name (``documentsBucket`` in the app config).
    max_upload_bytes:
        The largest file a client may upload and the worker will read.
    """

    def __init__(
        self, client: Any, bucket: str, *, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    ) -> None:
        self._client = client
        self.bucket = bucket
        self.max_upload_bytes = max_upload_bytes

    def upload_ticket(
        self,
        workspace_id: str,
        document_id: str,
        name: str,
        content_type: str,
        size_bytes: int,
        *,
        expires_in: int = UPLOAD_URL_SECONDS,
    ) -> UploadTicket:
        """A presigned PUT for exactly this name, type and size."""
        clean = check_upload(name, content_type, size_bytes, self.max_upload_bytes)
        key = object_key(workspace_id, document_id, clean)
        url = self._client.generate_presigned_url(
            "put_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ContentType": content_type,
                "ContentLength": size_bytes,
            },
            ExpiresIn=expires_in,
            HttpMethod="PUT",
        )
        return UploadTicket(
            url=url,
            key=key,
            headers={"Content-Type": content_type},
            expires_at=int(time.time()) + expires_in,
        )

    def read(self, key: str, version_id: str = "") -> bytes:
        """The object's bytes (of ``version_id`` when given: a versioned bucket keeps every
        upload); ``UnsupportedDocument`` when it is larger than the limit."""
        where: dict[str, str] = {"Bucket": self.bucket, "Key": key}
        if version_id and version_id != "null":
            where["VersionId"] = version_id
        try:
            head = self._client.head_object(**where)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound", "NoSuchVersion"):
                raise NotFound(f"s3://{self.bucket}/{key} does not exist") from None
            raise
        size = int(head["ContentLength"])
        if size > self.max_upload_bytes:
            raise UnsupportedDocument(
                f"{key}: file too large ({size:,} bytes; the limit is "
                f"{self.max_upload_bytes:,} bytes)"
            )
        body = self._client.get_object(**where)["Body"]
        return body.read(self.max_upload_bytes + 1)

    def put_bytes(self, key: str, data: bytes) -> None:
        """Write a private object (staging data); the bucket's default encryption applies."""
        self._client.put_object(Bucket=self.bucket, Key=key, Body=data)

    def get_bytes(self, key: str) -> bytes | None:
        """A private object's bytes (no upload size limit), or None when it does not exist."""
        try:
            return self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def delete(self, key: str) -> None:
        """Delete one object; deleting a missing key is not an error."""
        self._client.delete_object(Bucket=self.bucket, Key=key)

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix``; returns how many were deleted."""
        deleted = 0
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys})
                deleted += len(keys)
        return deleted

    def document_prefix(self, workspace_id: str, document_id: str | None = None) -> str:
        if document_id is None:
            return f"{KEY_PREFIX}{workspace_id}/"
        return f"{KEY_PREFIX}{workspace_id}/{document_id}/"
