"""Intake's checks of a submission's authorities and signer, read in one statement, on
SQLite and PostgreSQL: an unknown authority (the issuing one named first), a disabled
one, and a signer registered for the executing authority but not for the issuer are each
refused with their own code; nothing is stored for them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from cryptography import x509
from foundation_support import intake, mla_form, sealed_submission

from gateway.config import Settings
from gateway.persistence import authorities_store
from gateway.persistence.db import transaction
from gateway.persistence.tables import requests
from gateway.runtime.container import Runtime, build_runtime
from gateway.services.intake import IntakeRefused

ISSUER, EXECUTOR = "nl-om-rotterdam", "es-fiscalia-madrid"  # the demo magistrates sign for NL


@pytest.fixture(params=["sqlite", "postgresql"])
def rt(request: pytest.FixtureRequest, make_settings: Callable[..., Settings]) -> Iterator[Runtime]:
    if request.param == "sqlite":
        settings = make_settings()
    else:
        settings = make_settings(database_url=request.getfixturevalue("fresh_postgres_url"))
    runtime = build_runtime(settings)
    yield runtime
    runtime.close()


def _refusal(rt: Runtime, form: dict[str, object]) -> IntakeRefused:
    with pytest.raises(IntakeRefused) as refused:
        intake(rt, sealed_submission(rt.settings, form))
    with transaction(rt.engine) as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(requests)).scalar() == 0
    return refused.value


def test_unknown_issuing_authority_is_named_first(rt: Runtime) -> None:
    refused = _refusal(rt, mla_form(issuing_authority="xx-nowhere", executing_authority="yy-none"))
    assert (refused.code, refused.status) == ("unknown-authority", 422)
    assert "xx-nowhere" in refused.message


def test_unknown_executing_authority(rt: Runtime) -> None:
    refused = _refusal(rt, mla_form(issuing_authority=ISSUER, executing_authority="yy-none"))
    assert (refused.code, refused.status) == ("unknown-authority", 422)
    assert "yy-none" in refused.message


def test_disabled_executing_authority(rt: Runtime) -> None:
    with transaction(rt.engine) as conn:
        authorities_store.set_enabled(conn, EXECUTOR, False)
    refused = _refusal(rt, mla_form(issuing_authority=ISSUER, executing_authority=EXECUTOR))
    assert (refused.code, refused.status) == ("authority-disabled", 422)


def test_signer_registered_for_the_executing_authority_only(rt: Runtime) -> None:
    refused = _refusal(rt, mla_form(issuing_authority=EXECUTOR, executing_authority=ISSUER))
    assert (refused.code, refused.status) == ("signer-not-authorised", 403)


def test_retired_signing_certificate_is_refused(rt: Runtime) -> None:
    accepted = intake(rt, sealed_submission(rt.settings))  # the demo form: NL to ES
    assert not accepted.duplicate
    pem = (rt.settings.keys_dir / "dev-pki" / "magistrate-rsa.pem").read_bytes()
    digest = authorities_store.fingerprint(x509.load_pem_x509_certificate(pem))
    with transaction(rt.engine) as conn:
        authorities_store.retire_certificate(conn, ISSUER, digest)
    with pytest.raises(IntakeRefused) as refused:
        intake(rt, sealed_submission(rt.settings))
    assert refused.value.code == "signer-not-authorised"
