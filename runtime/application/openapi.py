"""The OpenAPI 3.1 document of the public API and its key management.

Request bodies are generated from the pydantic models the transports validate with
(``requests.py``), so the document cannot describe a body the server refuses; a test checks that
its paths are exactly the routes both transports serve and that ``docs/openapi.json`` is this
document (``python -m chorus.runtime.application.openapi > docs/openapi.json`` rewrites it).
The local server serves it at ``/api/openapi.json``.
"""

from __future__ import annotations

import json
from typing import Any

VERSION = "1.0.0"
PUBLIC_PREFIX = "/v1"

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "retryAfter": {"type": "integer", "description": "seconds (429 only)"},
            },
        }
    },
}
_PLAN = {
    "type": "object",
    "properties": {
        "ratePerSecond": {"type": "number"},
        "burst": {"type": "integer"},
        "dailyQuota": {"type": "integer"},
    },
}
_API_KEY = {
    "type": "object",
    "required": ["id", "workspaceId", "name", "hint", "scopes", "plan", "createdAt"],
    "properties": {
        "id": {"type": "string"},
        "workspaceId": {"type": "string"},
        "name": {"type": "string"},
        "hint": {"type": "string", "description": "chorus_<keyId>_… (never the secret)"},
        "scopes": {"type": "array", "items": {"enum": ["answers", "documents"]}},
        "plan": {"$ref": "#/components/schemas/UsagePlan"},
        "createdBy": {"type": "string"},
        "createdAt": {"type": "string", "format": "date-time"},
        "revokedAt": {"type": ["string", "null"], "format": "date-time"},
        "usedToday": {"type": "integer"},
    },
}
_ANSWER = {
    "type": "object",
    "required": ["answer", "citations", "sessionId", "messageId"],
    "properties": {
        "answer": {"type": "string", "description": "[n] cites citations[n - 1]"},
        "citations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "n": {"type": "integer"},
                    "documentId": {"type": "string"},
                    "documentName": {"type": "string"},
                    "chunkId": {"type": "string"},
                    "score": {"type": "number"},
                    "snippet": {"type": "string"},
                },
            },
        },
        "grounding": {"type": ["number", "null"]},
        "covered": {"type": ["boolean", "null"]},
        "model": {"type": ["string", "null"]},
        "sessionId": {"type": "string"},
        "messageId": {"type": "string"},
        "usage": {"type": ["object", "null"]},
        "cost": {"type": ["number", "null"]},
    },
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_KEY_ERRORS = {
    "401": _error("no key, a wrong key, a key of another workspace, or a revoked key"),
    "403": _error("the key's scopes do not allow this operation"),
    "429": {
        **_error("the key's rate (token bucket) or daily quota is spent"),
        "headers": {
            "Retry-After": {
                "description": "seconds until a request will be admitted",
                "schema": {"type": "integer"},
            }
        },
    },
}
_MANAGER_ERRORS = {
    "403": _error("the caller is not a workspace manager or admin"),
    "404": _error("no such workspace (or not shared with the caller), or no such key"),
}


def _workspace_id() -> dict[str, Any]:
    return {"name": "workspaceId", "in": "path", "required": True, "schema": {"type": "string"}}


def openapi_document() -> dict[str, Any]:
    """The document (a fresh dict each call)."""
    from .requests import AskQuestion, CreateApiKey, UploadRequest

    def body(model: type) -> dict[str, Any]:
        return model.model_json_schema(ref_template="#/components/schemas/{model}")  # type: ignore[attr-defined]

    key_auth = [{"apiKey": []}]
    user_auth = [{"cognito": []}]
    keys = "/workspaces/{workspaceId}/api-keys"
    public = f"{PUBLIC_PREFIX}/workspaces/{{workspaceId}}"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "chorus public API",
            "version": VERSION,
            "description": (
                "Ask a workspace questions and add documents with a workspace API key; "
                "workspace managers create, list and revoke keys. See docs/public_api.md."
            ),
        },
        "servers": [
            {"url": "/api", "description": "the local server (chorus up)"},
            {"url": "/", "description": "the cloud's HTTP API"},
        ],
        "paths": {
            keys: {
                "parameters": [_workspace_id()],
                "post": {
                    "operationId": "createApiKey",
                    "security": user_auth,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("CreateApiKey")}},
                    },
                    "responses": {
                        "201": _json(
                            "the key; `key` holds the full key, shown this once",
                            {
                                "allOf": [
                                    _ref("ApiKey"),
                                    {"type": "object", "properties": {"key": {"type": "string"}}},
                                ]
                            },
                        ),
                        "400": _error("invalid body"),
                        **_MANAGER_ERRORS,
                    },
                },
                "get": {
                    "operationId": "listApiKeys",
                    "security": user_auth,
                    "responses": {
                        "200": _json(
                            "the workspace's keys, oldest first, revoked ones included",
                            {
                                "type": "object",
                                "properties": {
                                    "apiKeys": {"type": "array", "items": _ref("ApiKey")}
                                },
                            },
                        ),
                        **_MANAGER_ERRORS,
                    },
                },
            },
            f"{keys}/{{keyId}}": {
                "parameters": [
                    _workspace_id(),
                    {"name": "keyId", "in": "path", "required": True, "schema": {"type": "string"}},
                ],
                "delete": {
                    "operationId": "revokeApiKey",
                    "security": user_auth,
                    "responses": {"204": {"description": "revoked"}, **_MANAGER_ERRORS},
                },
            },
            f"{public}/answers": {
                "parameters": [_workspace_id()],
                "post": {
                    "operationId": "answerQuestion",
                    "security": key_auth,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("AskQuestion")}},
                    },
                    "responses": {
                        "200": {
                            "description": (
                                "the answer; with `stream: true` (local server) Server-Sent "
                                "Events `token`, `sources`, then `final` or `error`"
                            ),
                            "content": {
                                "application/json": {"schema": _ref("Answer")},
                                "text/event-stream": {"schema": {"type": "string"}},
                            },
                        },
                        "400": _error("invalid body, unknown model, or streaming in the cloud"),
                        **_KEY_ERRORS,
                        "502": _error("every model failed"),
                    },
                },
            },
            f"{public}/documents": {
                "parameters": [_workspace_id()],
                "post": {
                    "operationId": "addDocument",
                    "security": key_auth,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "file": {"type": "string", "contentMediaType": "*/*"}
                                    },
                                    "required": ["file"],
                                }
                            },
                            "application/json": {"schema": _ref("UploadRequest")},
                        },
                    },
                    "responses": {
                        "200": _json("unchanged or failed (local)", {"type": "object"}),
                        "201": _json(
                            "indexed (local: multipart) or a presigned upload (cloud: JSON)",
                            {"type": "object"},
                        ),
                        "400": _error("invalid body"),
                        **_KEY_ERRORS,
                        "413": _error("the file is over the upload limit"),
                        "415": _error("a file that cannot be ingested"),
                    },
                },
            },
        },
        "components": {
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Authorization: Bearer chorus_<keyId>_<secret> (or X-Api-Key)",
                },
                "cognito": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
            "schemas": {
                "Error": _ERROR,
                "UsagePlan": _PLAN,
                "ApiKey": _API_KEY,
                "Answer": _ANSWER,
                "CreateApiKey": body(CreateApiKey),
                "AskQuestion": body(AskQuestion),
                "UploadRequest": body(UploadRequest),
            },
        },
    }


def main() -> None:
    print(json.dumps(openapi_document(), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
