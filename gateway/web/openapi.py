"""The OpenAPI 3.1 description of API v1, served at /api/v1/openapi.json.

Replies (planned, see `x-planned-replies`): a counterpart answers a request (receipt
acknowledgement, request for more information, execution result) by submitting a new
signed+encrypted `rogatory.submission/1` document to POST /api/v1/submissions whose
`request.reply_to` names the original request id; it runs through the same intake,
translation and packaging pipeline with the two authorities' roles swapped.
"""

from __future__ import annotations

from typing import Any

from gateway.web.openapi_audit import audit_log_paths, audit_log_schemas

PROBLEM = {"$ref": "#/components/responses/Problem"}
ID_PARAM = {
    "name": "request_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "maxLength": 64},
}
PAGE_PARAMS = [
    {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
    },
]
BEARER: list[dict[str, list[str]]] = [{"clientToken": []}]


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _authed(
    summary: str, responses: dict[str, Any], parameters: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "summary": summary,
        "security": BEARER,
        "parameters": parameters or [],
        "responses": {
            **responses,
            "401": PROBLEM,
            "404": PROBLEM,
            "409": PROBLEM,
            "422": PROBLEM,
            "429": PROBLEM,
        },
    }


def _page(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
            "next_cursor": {"type": ["string", "null"]},
        },
    }


def openapi_document() -> dict[str, Any]:
    cms_body = {
        "required": True,
        "content": {"application/pkcs7-mime": {"schema": {"type": "string", "format": "binary"}}},
    }
    # a sealed submission's answers, whether it came alone or streamed with its attachments
    submission_answers = {
        "202": _json({"$ref": "#/components/schemas/SubmissionOutcome"}),
        **{status: PROBLEM for status in ("400", "403", "409", "413", "415", "422", "429")},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Rogatory exchange API",
            "version": "1.0.0",
            "description": (
                "Counterpart authorities pull sealed delivery packages and return signed "
                "acknowledgements. Errors are application/problem+json (RFC 9457)."
            ),
        },
        "paths": {
            "/api/v1/health": {
                "get": {"summary": "Liveness", "responses": {"200": _json({"type": "object"})}}
            },
            "/api/v1/submissions": {
                "post": {
                    "summary": "Submit a signed-then-encrypted request (CMS EnvelopedData)",
                    "requestBody": cms_body,
                    "responses": submission_answers,
                }
            },
            "/api/v1/submissions/streamed": {
                "post": {
                    "summary": (
                        "Submit a request with its large attachments in one body: frames "
                        "(tag byte, 8-byte big-endian length, payload) A = the signed and "
                        "encrypted announcement, one F per announced attachment (CMS "
                        "AuthEnvelopedData), S = the sealed submission, then at most 1 KiB "
                        "of zero padding. The announcement is verified before any "
                        "attachment byte is stored; the answer is the submission's."
                    ),
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/vnd.rogatory.streamed-submission": {
                                "schema": {"type": "string", "format": "binary"}
                            }
                        },
                    },
                    "responses": submission_answers,
                }
            },
            "/api/v1/submissions/{message_id}/attachments/{name}": {
                "put": {
                    "summary": (
                        "Stream a large attachment announced (size + SHA-256) in the signed "
                        "manifest, as CMS AuthEnvelopedData to the gateway (openssl cms "
                        "-encrypt -stream output is accepted). Only the announced bytes are "
                        "kept; every mismatch or decryption failure is one opaque 422. "
                        "Needs the submission's upload_token (Upload-Token header); without "
                        "a live one every answer is the same 404."
                    ),
                    "parameters": [
                        {
                            "name": "Upload-Token",
                            "in": "header",
                            "required": True,
                            "schema": {"type": "string", "maxLength": 100},
                        },
                        {
                            "name": "message_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "name",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                    ],
                    "requestBody": cms_body,
                    "responses": {
                        "200": _json({"type": "object"}, "Already stored (duplicate)"),
                        "201": _json({"type": "object"}, "Stored"),
                        "404": PROBLEM,
                        "409": PROBLEM,
                        "413": PROBLEM,
                        "422": PROBLEM,
                        "429": PROBLEM,
                    },
                }
            },
            "/api/v1/oauth/token": {
                "post": {
                    "summary": "Client credentials grant with private_key_jwt (RFC 7523)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/x-www-form-urlencoded": {
                                "schema": {"$ref": "#/components/schemas/TokenRequest"}
                            }
                        },
                    },
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/TokenResponse"}),
                        "401": PROBLEM,
                        "413": PROBLEM,
                        "415": PROBLEM,
                        "429": PROBLEM,
                    },
                }
            },
            "/api/v1/inbox": {
                "get": _authed(
                    "Items addressed to the caller's authority, oldest first",
                    {"200": _json(_page("InboxItem"))},
                    PAGE_PARAMS,
                )
            },
            "/api/v1/inbox/{request_id}/lease": {
                "post": _authed(
                    "Lease an item (exclusive for lease_seconds)",
                    {"201": _json({"$ref": "#/components/schemas/Lease"}, "Leased")},
                    [ID_PARAM],
                )
            },
            "/api/v1/requests/{request_id}/package": {
                "get": _authed(
                    "The sealed delivery package (needs the Lease-Token header)",
                    {
                        "200": {
                            "description": "CMS EnvelopedData(SignedData(ZIP))",
                            "content": {
                                "application/pkcs7-mime": {
                                    "schema": {"type": "string", "format": "binary"}
                                }
                            },
                        }
                    },
                    [
                        ID_PARAM,
                        {
                            "name": "Lease-Token",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string"},
                        },
                        {  # issue 19: reviewed translation versions
                            "name": "version",
                            "in": "query",
                            "required": False,
                            "description": "Translation version (1 = machine); default latest",
                            "schema": {"type": "integer", "minimum": 1},
                        },
                    ],
                )
            },
            "/api/v1/requests/{request_id}/xliff": {  # issue 19: review in a CAT tool
                "get": _authed(
                    "The request's segments as XLIFF 2.0 (its two parties only)",
                    {
                        "200": {
                            "description": "XLIFF 2.0",
                            "content": {"application/xliff+xml": {"schema": {"type": "string"}}},
                        }
                    },
                    [ID_PARAM],
                ),
                "post": {
                    **_authed(
                        "Import a reviewed XLIFF (CMS SignedData by the caller's authority)",
                        {
                            "200": _json({"type": "object"}),
                            "400": PROBLEM,
                            "413": PROBLEM,
                            "415": PROBLEM,
                        },
                        [ID_PARAM],
                    ),
                    "requestBody": cms_body,
                },
            },
            "/api/v1/requests/{request_id}/ack": {
                "post": {
                    **_authed(
                        "Signed acknowledgement of receipt (CMS SignedData over JSON)",
                        {
                            "200": _json({"type": "object"}),
                            "400": PROBLEM,
                            "413": PROBLEM,
                            "415": PROBLEM,
                        },
                        [ID_PARAM],
                    ),
                    "requestBody": cms_body,
                }
            },
            "/api/v1/requests/{request_id}/events": {
                "get": _authed(
                    "Audit timeline of a request (its two parties only)",
                    {"200": _json(_page("Event"))},
                    [ID_PARAM, *PAGE_PARAMS],
                )
            },
            "/api/v1/requests/{request_id}/clocks": {
                "get": _authed(
                    "Legal clocks of a request: due date, rule (article), days left, overdue",
                    {"200": _json({"type": "object"})},
                    [ID_PARAM],
                )
            },
            "/api/v1/requests/{request_id}/receipts": {
                "get": _authed(
                    "Signed evidences of a request, with audit proof bundles",
                    {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "items": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Evidence"},
                                    }
                                },
                            }
                        )
                    },
                    [ID_PARAM],
                )
            },
            **audit_log_paths(),
        },
        "components": {
            "securitySchemes": {
                "clientToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Opaque access token from /api/v1/oauth/token",
                }
            },
            "responses": {
                "Problem": {
                    "description": "RFC 9457 problem details",
                    "content": {
                        "application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/Problem"}
                        }
                    },
                }
            },
            "schemas": {**_schemas(), **audit_log_schemas()},
        },
        "x-replies": {
            "description": (
                "A counterpart replies with a new submission whose request has request_type "
                "'reply', sections.R.in_reply_to = the original request id and "
                "sections.R.reply_kind in acknowledgement | request-for-information | "
                "execution-result (and the legal answers: recognition-decision, "
                "postponement, refusal with grounds, delay-notice, eaw-consent, "
                "eaw-no-consent, eaw-decision, eaw-extension, surrender-date, "
                "hearing-arrangement, hearing-outcome), signed by the executing authority "
                "with issuing and executing authorities swapped; it is translated, rendered "
                "and made available in the original issuer's inbox like any request. "
                "reply_kind 'withdrawal' is sent by the issuer and withdraws the request."
            )
        },
    }


def _schemas() -> dict[str, Any]:
    string = {"type": "string"}
    return {
        "Problem": {
            "type": "object",
            "required": ["type", "title", "status", "code", "detail"],
            "properties": {
                "type": string,
                "title": string,
                "status": {"type": "integer"},
                "code": string,
                "detail": string,
            },
        },
        "TokenRequest": {
            "type": "object",
            "required": ["grant_type", "client_assertion_type", "client_assertion"],
            "properties": {
                "grant_type": {"const": "client_credentials"},
                "client_assertion_type": {
                    "const": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
                },
                "client_assertion": string,
            },
        },
        "TokenResponse": {
            "type": "object",
            "required": ["access_token", "token_type", "expires_in"],
            "properties": {
                "access_token": string,
                "token_type": {"const": "Bearer"},
                "expires_in": {"type": "integer"},
            },
        },
        "SubmissionOutcome": {
            "type": "object",
            "required": ["request_id", "message_id", "message_sha256", "outcome"],
            "properties": {
                "request_id": string,
                "message_id": string,
                "message_sha256": string,
                "outcome": {"enum": ["accepted", "duplicate-already-accepted"]},
                "receipt": {"$ref": "#/components/schemas/Evidence"},
                "translation": {
                    "enum": ["available", "unavailable", "not-needed"],
                    "description": "unavailable: no installed engine serves the pair; the "
                    "request is delivered untranslated and marked so.",
                },
                "upload_token": {
                    "type": "string",
                    "description": "Only while large attachments are awaited: send it as "
                    "the Upload-Token header of each attachment PUT",
                },
                "upload_token_expires_at": string,
                "warnings": {
                    "type": "array",
                    "description": "Pre-flight warnings (never a refusal): path, code, message",
                    "items": {"type": "object"},
                },
            },
        },
        "InboxItem": {
            "type": "object",
            "properties": {
                "request_id": string,
                "request_type": string,
                "issuing_authority": string,
                "state": {"enum": ["available", "retrieved"]},
                "message_sha256": string,
                "received_at": string,
                "deadline": {"type": ["string", "null"]},
                "translation_versions": {"type": "array", "items": {"type": "integer"}},
            },
        },
        "Lease": {
            "type": "object",
            "properties": {
                "request_id": string,
                "lease_token": string,
                "expires_at": string,
                "package_url": string,
            },
        },
        "Event": {
            "type": "object",
            "properties": {
                "index": {"type": "integer"},
                "event": string,
                "actor": string,
                "time": string,
                "artefacts": {"type": "object"},
                "detail": {"type": "object"},
            },
        },
        "Evidence": {
            "type": "object",
            "properties": {
                "kind": string,
                "sha256": string,
                "evidence": {"type": "string", "contentEncoding": "base64"},
                "content": {"type": "object"},
                "audit": {"type": "object"},
            },
        },
    }
