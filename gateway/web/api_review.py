"""Issue 19 routes on the exchange API: XLIFF export and signed XLIFF import of a request."""

from __future__ import annotations

from flask import Response, jsonify, request

from gateway.services import review_api
from gateway.services import translation_review as review
from gateway.web.api_exchange import _caller, _runtime, api_exchange
from gateway.web.problem import problem

MAX_XLIFF_BYTES = 20 * 1024 * 1024


@api_exchange.get("/requests/<request_id>/xliff")
def xliff_export(request_id: str) -> Response:
    """The request's segments as XLIFF 2.0, for a party to the request (others: 404)."""
    data = review.export_for_review(
        _runtime().engine, _runtime().blobs, review_api.api_reviewer(_caller()), request_id
    )
    response = Response(data, mimetype="application/xliff+xml")
    response.headers["Cache-Control"] = "no-store"
    return response


@api_exchange.post("/requests/<request_id>/xliff")
def xliff_import(request_id: str) -> Response | tuple[Response, int]:
    """CMS SignedData over the edited XLIFF, signed by the uploading authority."""
    request.max_content_length = MAX_XLIFF_BYTES
    if request.mimetype not in ("application/pkcs7-mime", "application/cms"):
        return problem(415, "unsupported-media-type", "send the XLIFF signed, as CMS")
    data = request.get_data(cache=False)
    if not data:
        return problem(400, "malformed", "the body is empty")
    rt = _runtime()
    report = review_api.import_signed_xliff(
        rt.engine, rt.blobs, _caller(), request_id, data, rt.trust()
    )
    return jsonify(accepted=report.accepted, edited=report.edited, flagged=report.flagged), 200
