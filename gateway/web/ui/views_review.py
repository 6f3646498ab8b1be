"""The translator's workspace: review machine translation segment by segment, sign off.

Only accounts with the role `translator` get here, and only for requests their authority
sent or received; anything else is a 404, the same as a request that does not exist.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from flask import Response, abort, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup, escape

from gateway.domain.errors import DomainError
from gateway.persistence import authorities_store
from gateway.persistence.db import transaction
from gateway.services import accounts, review_queue, roles
from gateway.services import translation_review as review
from gateway.services.dispatch import flush_outbox
from gateway.web.ui import security, ui

MAX_XLIFF_UPLOAD = 20 * 1024 * 1024


def _runtime() -> Any:
    return current_app.extensions["rogatory"]


def translator_only(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """Signed in (password + TOTP) and role translator; other roles see nothing here."""

    @security.signed_in
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        if roles.get_role(security.engine(), g.username) != "translator":
            abort(404)
        user = accounts.get_user(security.engine(), g.username)
        g.reviewer = review.Reviewer(user.username, user.display_name, user.authority_id)
        return view(*args, **kwargs)

    return wrapper


@ui.get("/review")
@translator_only
def review_list() -> ResponseReturnValue:
    with transaction(security.engine()) as conn:
        names = {a.id: a.name for a in authorities_store.list_all(conn)}
    return render_template(
        "ui/review_list.html",
        items=review_queue.reviewable(security.engine(), g.reviewer.authority_id),
        names=names,
    )


@ui.get("/review/<request_id>")
@translator_only
def review_page(request_id: str) -> ResponseReturnValue:
    view = review.open_review(security.engine(), _runtime().blobs, g.reviewer, request_id)
    done, total = view.progress
    return render_template(
        "ui/review.html",
        view=view,
        done=done,
        total=total,
        highlight=_highlight,
        message=request.args.get("message"),
        error=request.args.get("error"),
    )


@ui.post("/review/<request_id>/segments/<segment_id>")
@translator_only
def review_decide(request_id: str, segment_id: str) -> ResponseReturnValue:
    action = request.form.get("action", "accept")
    target = request.form.get("target") if action == "edit" else None
    try:
        decision = review.decide_segment(
            security.engine(), _runtime().blobs, g.reviewer, request_id, segment_id, target
        )
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _back(request_id, segment_id, error=exc.message)
    after = request.form.get("next") or segment_id
    return _back(request_id, segment_id if decision.status == "flagged" else after)


@ui.post("/review/<request_id>/sign-off")
@translator_only
def review_sign_off(request_id: str) -> ResponseReturnValue:
    rt = _runtime()
    try:
        version = review.sign_off(security.engine(), rt.blobs, rt.sealer(), g.reviewer, request_id)
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _back(request_id, None, error=exc.message)
    flush_outbox(security.engine(), rt.sender)
    return _back(request_id, None, message=f"signed-off:{version}")


@ui.get("/review/<request_id>/xliff")
@translator_only
def review_xliff_export(request_id: str) -> ResponseReturnValue:
    data = review.export_for_review(security.engine(), _runtime().blobs, g.reviewer, request_id)
    response = Response(data, mimetype="application/xliff+xml")
    response.headers["Content-Disposition"] = f'attachment; filename="{request_id}.xlf"'
    response.headers["Cache-Control"] = "no-store"
    return response


@ui.post("/review/<request_id>/xliff")
@translator_only
def review_xliff_import(request_id: str) -> ResponseReturnValue:
    upload = request.files.get("xliff")
    if upload is None:
        return _back(request_id, None, error="choose an XLIFF file")
    data = upload.stream.read(MAX_XLIFF_UPLOAD + 1)
    try:
        report = review.import_review(
            security.engine(), _runtime().blobs, g.reviewer, request_id, data
        )
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _back(request_id, None, error=exc.message)
    summary = f"imported:{len(report.accepted)}/{len(report.edited)}/{len(report.flagged)}"
    return _back(request_id, None, message=summary)


def _back(
    request_id: str, anchor: str | None, *, message: str | None = None, error: str | None = None
) -> ResponseReturnValue:
    target = url_for("ui.review_page", request_id=request_id, message=message, error=error)
    return redirect(target + (f"#{anchor}" if anchor else ""), code=303)


def _highlight(text: str, terms: tuple[str, ...]) -> Markup:
    """The source with its glossary terms marked; every piece of text escaped."""
    wanted = sorted({t for t in terms if t}, key=len, reverse=True)
    if not wanted:
        return escape(text)
    pattern = re.compile("|".join(re.escape(t) for t in wanted))
    pieces: list[Markup] = []
    last = 0
    for match in pattern.finditer(text):
        pieces.append(escape(text[last : match.start()]))
        pieces.append(_MARK.format(match.group(0)))
        last = match.end()
    pieces.append(escape(text[last:]))
    return Markup("").join(pieces)


_MARK = Markup('<mark class="glossary">{}</mark>')
