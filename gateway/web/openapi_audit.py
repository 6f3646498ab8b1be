"""OpenAPI 3.1 paths and schemas of the audit log API (merged by gateway.web.openapi)."""

from __future__ import annotations

from typing import Any

PROBLEM = {"$ref": "#/components/responses/Problem"}
BEARER: list[dict[str, list[str]]] = [{"clientToken": []}]
SIZE = {"type": "integer", "minimum": 0, "maximum": 2**62 - 1}


def _query(name: str, required: bool) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": SIZE}


def _json(ref: str) -> dict[str, Any]:
    return {
        "description": "OK",
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


def audit_log_paths() -> dict[str, Any]:
    errors = {"400": PROBLEM, "404": PROBLEM, "422": PROBLEM}
    authed = {**errors, "401": PROBLEM}
    return {
        "/api/v1/log/checkpoint": {
            "get": {
                "summary": "Latest signed checkpoint (C2SP tlog-checkpoint) with cosignatures",
                "responses": {
                    "200": {
                        "description": "Signed note",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    "404": PROBLEM,
                },
            }
        },
        "/api/v1/log/proof/inclusion": {
            "get": {
                "summary": "Inclusion proof of one of the caller's own entries",
                "security": BEARER,
                "parameters": [_query("index", True), _query("size", False)],
                "responses": {"200": _json("InclusionProof"), **authed},
            }
        },
        "/api/v1/log/proof/consistency": {
            "get": {
                "summary": "Consistency proof between two tree sizes (RFC 9162)",
                "parameters": [_query("old", True), _query("new", False)],
                "responses": {"200": _json("ConsistencyProof"), **errors},
            }
        },
        "/api/v1/log/entries": {
            "get": {
                "summary": "Log entries: the caller's requests in full, others as leaf hashes",
                "security": BEARER,
                "parameters": [_query("start", True), _query("end", False)],
                "responses": {"200": _json("LogEntries"), **authed},
            }
        },
        "/api/v1/log/cosignatures": {
            "post": {
                "summary": "A witness of the caller's authority cosigns a checkpoint",
                "security": BEARER,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/CosignatureRequest"}
                        }
                    },
                },
                "responses": {
                    "201": _json("CosignatureAccepted"),
                    **authed,
                    "403": PROBLEM,
                    "413": PROBLEM,
                    "415": PROBLEM,
                },
            }
        },
    }


def audit_log_schemas() -> dict[str, Any]:
    string, integer = {"type": "string"}, {"type": "integer"}
    hashes = {"type": "array", "items": {"type": "string", "contentEncoding": "base64"}}
    nullable = {"type": ["string", "null"]}
    return {
        "InclusionProof": {
            "type": "object",
            "required": ["index", "tree_size", "leaf_hash", "entry", "inclusion_path"],
            "properties": {
                "index": integer,
                "tree_size": integer,
                "leaf_hash": string,
                "entry": string,
                "inclusion_path": hashes,
                "checkpoint": nullable,
                "proof_bundle": nullable,
            },
        },
        "ConsistencyProof": {
            "type": "object",
            "required": ["old", "new", "consistency_path"],
            "properties": {"old": integer, "new": integer, "consistency_path": hashes},
        },
        "LogEntries": {
            "type": "object",
            "required": ["start", "end", "tree_size", "items"],
            "properties": {
                "start": integer,
                "end": integer,
                "tree_size": integer,
                "items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["index", "leaf_hash"],
                        "properties": {"index": integer, "leaf_hash": string, "entry": string},
                    },
                },
            },
        },
        "CosignatureRequest": {
            "type": "object",
            "required": ["checkpoint", "cosignature"],
            "properties": {
                "checkpoint": {**string, "description": "the checkpoint note as served"},
                "cosignature": {**string, "description": "one tlog-cosignature/v1 line"},
            },
        },
        "CosignatureAccepted": {
            "type": "object",
            "properties": {"witness": string, "timestamp": integer, "checkpoint_size": integer},
        },
    }
