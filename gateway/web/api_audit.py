"""Audit log API: signed checkpoints, inclusion and consistency proofs, entries, cosignatures.

Public: the checkpoint (C2SP tlog-checkpoint, text/plain) and consistency proofs.
Bearer token (see api_exchange): inclusion proofs and entries, filtered to the caller's
authority, and witness cosignatures.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, jsonify, request
from sqlalchemy.engine import Engine

from gateway.services import audit_log, tokens
from gateway.services.tokens import Caller
from gateway.web.app import runtime_of
from gateway.web.problem import problem

api_audit = Blueprint("api_audit", __name__, url_prefix="/api/v1/log")

PUBLIC_ENDPOINTS = frozenset({"api_audit.checkpoint", "api_audit.consistency"})
MAX_COSIGNATURE_REQUEST_BYTES = 64 * 1024


def _engine() -> Engine:
    return runtime_of(current_app).engine


def _caller() -> Caller:
    caller: Caller = g.caller
    return caller


@api_audit.before_request
def _authenticate() -> Response | None:
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
        return None
    try:
        g.caller = tokens.authenticate(_engine(), request.headers.get("Authorization"))
    except tokens.Unauthorised as exc:
        response = problem(401, exc.code, exc.message)
        response.headers["WWW-Authenticate"] = f'Bearer error="{exc.code}"'
        return response
    return None


def _optional(name: str) -> int | None:
    raw = request.args.get(name, "")
    return None if raw == "" else _parse(name, raw)


def _required(name: str) -> int:
    raw = request.args.get(name, "")
    if raw == "":
        raise audit_log.AuditRefused("bad-parameter", f"query parameter {name} is required")
    return _parse(name, raw)


def _parse(name: str, raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise audit_log.AuditRefused("bad-parameter", f"{name} must be a non-negative integer")
    return int(raw)


@api_audit.get("/checkpoint")
def checkpoint() -> Response:
    note = audit_log.latest_checkpoint(_engine())
    response = Response(note, mimetype="text/plain")  # charset=utf-8 is added
    response.headers["Cache-Control"] = "no-cache"
    return response


@api_audit.get("/proof/inclusion")
def inclusion() -> Response:
    proof = audit_log.inclusion_proof(_engine(), _caller(), _required("index"), _optional("size"))
    return jsonify(proof)


@api_audit.get("/proof/consistency")
def consistency() -> Response:
    proof = audit_log.consistency_proof(_engine(), _required("old"), _optional("new"))
    return jsonify(proof)


@api_audit.get("/entries")
def entries() -> Response:
    page = audit_log.entries(_engine(), _caller(), _required("start"), _optional("end"))
    return jsonify(page)


@api_audit.post("/cosignatures")
def cosignatures() -> Response | tuple[Response, int]:
    request.max_content_length = MAX_COSIGNATURE_REQUEST_BYTES
    if request.mimetype != "application/json":
        return problem(415, "unsupported-media-type", "send JSON {checkpoint, cosignature}")
    body = request.get_json(silent=True)
    checkpoint_text = body.get("checkpoint") if isinstance(body, dict) else None
    line = body.get("cosignature") if isinstance(body, dict) else None
    if not isinstance(checkpoint_text, str) or not isinstance(line, str):
        return problem(400, "malformed", "send JSON with string fields checkpoint and cosignature")
    accepted = audit_log.submit_cosignature(_engine(), _caller(), checkpoint_text, line)
    return jsonify(accepted), 201
