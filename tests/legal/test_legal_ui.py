"""The magistrate's request page shows each legal clock: days left, overdue in red."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from legal_support import eio_form, issue, make_available, retrieve

from gateway.config import Settings
from gateway.web.app import runtime_of


@pytest.fixture
def app(make_settings: Callable[..., Settings]) -> Iterator[Flask]:
    from ui_support import make_app

    app = make_app(make_settings())
    yield app
    runtime_of(app).close()


def test_request_page_shows_days_left_and_an_overdue_clock_in_red(app: Flask) -> None:
    from ui_support import BASE_URL, add_user, client_for, sign_in

    rt = runtime_of(app)
    now = datetime.now(UTC)
    yesterday = (now - timedelta(days=1)).date().isoformat()
    request_id = issue(rt, eio_form(urgency="urgent", deadline=yesterday), now)
    make_available(rt, request_id)
    retrieve(rt, request_id, now)
    client = client_for(app)
    sign_in(client, "magistrate", add_user(app))
    page = client.get(f"/ui/requests/{request_id}", base_url=BASE_URL).text
    assert "Time limits set by law" in page
    pattern = r'<tr class="clock ([^"]*)" data-clock="([a-z]+)"'
    rows = {clock: classes for classes, clock in re.findall(pattern, page)}
    assert rows == {
        "acknowledgement": "clock-running",
        "recognition": "clock-running clock-overdue",
    }
    assert "7 days left" in re.sub(r"\s+", " ", page)
    assert "Directive 2014/41/EU Art 12(2)" in page
    assert '<strong class="clock-breach">overdue (1)</strong>' in page


def test_compose_offers_the_handling_labels_and_keeps_only_known_ones(app: Flask) -> None:
    from ui_support import BASE_URL, add_user, client_for, sign_in

    from gateway.web.ui import forms

    client = client_for(app)
    sign_in(client, "magistrate", add_user(app))
    page = client.get("/ui/compose/mla", base_url=BASE_URL).text
    for code in ("pull-only", "no-machine-translation", "speciality", "urgent"):
        assert f'name="handling" value="{code}"' in page
    post = {"case_reference": ["ROT-1"], "handling": ["speciality", "pull-only", "forward-all"]}
    built = forms.request_from_post(forms.schema_of("mla"), post, "nl-om-rotterdam")
    assert built["handling"] == ["pull-only", "speciality"]  # catalogue order, no stranger
