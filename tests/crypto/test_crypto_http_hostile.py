"""Hostile submissions over real HTTP: a clean problem+json each, nothing stored but a rejection.

Refusals before a signer is verified go to the bounded rejection record; those a verified
signer answers for (replayed, signer-not-authorised, ...) to the audit log as `rejected`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from crypto_support import openssl
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from upload_support import audit_events, mla_form, row_counts

from gateway.config import Settings
from gateway.crypto import encrypt_envelope, sign
from gateway.crypto.keyfiles import load_certificate, load_private_key
from gateway.domain.submission import build_submission
from gateway.runtime.container import build_runtime
from gateway.services import rejections
from gateway.services.intake import IntakeRefused, accept_submission

CMS = {"Content-Type": "application/pkcs7-mime"}
KNOWN_CODES = {
    "undecryptable",
    "malformed",
    "unsupported-algorithm",
    "signature-invalid",
    "certificate-expired",
    "certificate-revoked",
    "untrusted-signer",
    "signer-not-authorised",
    "wrong-recipient",
    "stale",
    "replayed",
}
DECRYPTION_FAILURE = (400, "undecryptable")


def _content(settings: Settings, message_id: str | None = None) -> bytes:
    return build_submission(
        gateway=settings.gateway_id,
        message_id=message_id or f"msg-{uuid.uuid4().hex}",
        created=datetime.now(UTC),
        request=mla_form(),
        attachments=[],
    )


def _signed(settings: Settings, signer: str = "magistrate-rsa", content: bytes = b"") -> bytes:
    pki = settings.keys_dir / "dev-pki"
    key = load_private_key(pki / f"{signer}.key")
    cert = load_certificate(pki / f"{signer}.pem")
    return sign(content or _content(settings), key, cert)  # type: ignore[arg-type]


def _to_gateway(settings: Settings, signed: bytes) -> bytes:
    intake = load_certificate(settings.keys_dir / "dev-pki" / "gateway-intake.pem")
    return encrypt_envelope(signed, [intake])


def _flip(data: bytes, at: int) -> bytes:
    changed = bytearray(data)
    changed[at] ^= 0x01
    return bytes(changed)


def flipped_ciphertext_byte(s: Settings) -> bytes:
    envelope = _to_gateway(s, _signed(s))
    return _flip(envelope, len(envelope) - 200)  # inside the encrypted content


def flipped_gcm_tag(s: Settings) -> bytes:
    envelope = _to_gateway(s, _signed(s))
    return _flip(envelope, len(envelope) - 3)


def flipped_wrapped_key(s: Settings) -> bytes:
    envelope = _to_gateway(s, _signed(s))
    return _flip(envelope, 400)  # inside the RSA-OAEP encrypted content key


def flipped_signed_attribute(s: Settings) -> bytes:
    content = _content(s)
    signed = _signed(s, content=content)
    digest_at = signed.index(hashlib.sha256(content).digest())  # messageDigest attribute
    return _to_gateway(s, _flip(signed, digest_at + 5))


def wrong_recipient(s: Settings) -> bytes:
    other = load_certificate(s.keys_dir / "dev-pki" / "authority-b-enc.pem")
    return encrypt_envelope(_signed(s), [other])


def expired_signer(s: Settings) -> bytes:
    return _to_gateway(s, _signed(s, "magistrate-expired"))


def revoked_signer(s: Settings) -> bytes:
    return _to_gateway(s, _signed(s, "magistrate-revoked"))


def unregistered_signer(s: Settings) -> bytes:
    return _to_gateway(s, _signed(s, "authority-b-sign"))  # valid, but signs for Madrid


def untrusted_signer(s: Settings) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Self-made magistrate")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return _to_gateway(s, sign(_content(s), key, cert))


def pkcs1_v15_key_transport(s: Settings) -> bytes:
    tmp = s.data_dir / "pkcs1"
    tmp.mkdir(exist_ok=True)
    (tmp / "signed.der").write_bytes(_signed(s))
    return openssl(
        "cms", "-encrypt", "-binary", "-aes-256-gcm",
        "-recip", s.keys_dir / "dev-pki" / "gateway-intake.pem",
        "-keyopt", "rsa_padding_mode:pkcs1",
        "-in", tmp / "signed.der", "-outform", "DER",
    )  # fmt: skip


def truncated_der(s: Settings) -> bytes:
    envelope = _to_gateway(s, _signed(s))
    return envelope[: len(envelope) // 2]


def length_bomb(s: Settings) -> bytes:
    return b"\x30\x84\x7f\xff\xff\xff\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x03" + b"\x00" * 64


def deep_nesting(s: Settings) -> bytes:
    return b"\x30\x80" * 20_000 + b"\x00\x00" * 20_000


def random_bytes(s: Settings) -> bytes:
    return hashlib.sha512(b"not a message").digest() * 40


HOSTILE: dict[str, tuple[Callable[[Settings], bytes], int, str]] = {
    "flipped-ciphertext-byte": (flipped_ciphertext_byte, *DECRYPTION_FAILURE),
    "flipped-gcm-tag": (flipped_gcm_tag, *DECRYPTION_FAILURE),
    "flipped-wrapped-key": (flipped_wrapped_key, *DECRYPTION_FAILURE),
    "wrong-recipient": (wrong_recipient, *DECRYPTION_FAILURE),
    "flipped-signed-attribute": (flipped_signed_attribute, 403, "signature-invalid"),
    "expired-signer": (expired_signer, 403, "certificate-expired"),
    "revoked-signer": (revoked_signer, 403, "certificate-revoked"),
    "untrusted-signer": (untrusted_signer, 403, "untrusted-signer"),
    "unregistered-signer": (unregistered_signer, 403, "signer-not-authorised"),
    "pkcs1-v1.5-key-transport": (pkcs1_v15_key_transport, 400, "unsupported-algorithm"),
    "truncated-der": (truncated_der, 400, "malformed"),
    "length-bomb": (length_bomb, 400, "malformed"),
    "deep-nesting": (deep_nesting, 400, "malformed"),
    "random-bytes": (random_bytes, 400, "malformed"),
}


def _post(url: str, body: bytes) -> httpx.Response:
    return httpx.post(f"{url}/api/v1/submissions", content=body, headers=CMS, timeout=60)


def _rejections(settings: Settings) -> int:
    runtime = build_runtime(settings)
    try:
        return sum(count.count for count in rejections.counts(runtime.engine))
    finally:
        runtime.engine.dispose()


def _refusal(gw, body: bytes) -> httpx.Response:
    before, audit_before = row_counts(gw.settings), audit_events(gw.settings)
    rejections_before = _rejections(gw.settings)
    response = _post(gw.url, body)
    assert response.headers["content-type"] == "application/problem+json"
    assert row_counts(gw.settings) == before
    new_entries = audit_events(gw.settings)[len(audit_before) :]
    if response.json()["code"] in rejections.ANONYMOUS_CODES:
        # no verified signer: the bounded rejection record, never the permanent log
        assert new_entries == []
        assert _rejections(gw.settings) == rejections_before + 1
    else:  # a verified signer answers for it: it stays in the log
        assert new_entries == [(None, "rejected")]
    return response


def test_every_hostile_submission_gets_its_code_and_stores_only_a_rejection(live_gateway):
    outcomes = {}
    for case, (build, _status, _code) in HOSTILE.items():
        response = _refusal(live_gateway, build(live_gateway.settings))
        outcomes[case] = (response.status_code, response.json()["code"])
    assert outcomes == {case: (status, code) for case, (_, status, code) in HOSTILE.items()}


def test_decryption_failures_are_indistinguishable_to_the_sender(live_gateway):
    kinds = ("flipped-ciphertext-byte", "flipped-gcm-tag", "flipped-wrapped-key", "wrong-recipient")
    answers = set()
    for kind in kinds:
        response = _refusal(live_gateway, HOSTILE[kind][0](live_gateway.settings))
        answers.add((response.status_code, response.content))
    assert len(answers) == 1


def test_replayed_message_id_with_other_bytes_is_refused(live_gateway):
    s = live_gateway.settings
    message_id = f"msg-{uuid.uuid4().hex}"
    first = _post(live_gateway.url, _to_gateway(s, _signed(s, content=_content(s, message_id))))
    assert first.status_code == 202, first.text
    replay = _refusal(live_gateway, _to_gateway(s, _signed(s, content=_content(s, message_id))))
    assert (replay.status_code, replay.json()["code"]) == (409, "replayed")


def test_empty_body_is_refused_and_stores_nothing_but_a_rejection(live_gateway):
    before = row_counts(live_gateway.settings)
    audit_before = audit_events(live_gateway.settings)
    response = _post(live_gateway.url, b"")
    assert (response.status_code, response.json()["code"]) == (400, "malformed")
    assert row_counts(live_gateway.settings) == before
    assert audit_events(live_gateway.settings)[len(audit_before) :] == []
    assert _rejections(live_gateway.settings) == 1


def test_mutated_valid_messages_get_only_clean_refusals(make_settings):
    settings = make_settings()
    runtime = build_runtime(settings)
    keys = runtime.keys
    trust = keys.trust(allow_stale_crl=False, max_skew_seconds=600)
    valid = _to_gateway(settings, _signed(settings))
    accept_submission(
        runtime.engine, runtime.blobs, settings, valid, recipient_keys=keys.intake, trust=trust
    )

    @given(
        st.lists(
            st.tuples(st.integers(0, len(valid) - 1), st.integers(1, 255)), min_size=1, max_size=4
        ),
        st.integers(0, len(valid)),
    )
    @hypothesis_settings(
        max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    def mutate(flips: list[tuple[int, int]], keep: int) -> None:
        changed = bytearray(valid[:keep] if keep < len(valid) // 2 else valid)
        for at, mask in flips:
            if at < len(changed):
                changed[at] ^= mask
        outcome: object
        try:
            outcome = accept_submission(
                runtime.engine,
                runtime.blobs,
                settings,
                bytes(changed),
                recipient_keys=keys.intake,
                trust=trust,
            )
        except IntakeRefused as refused:
            outcome = refused
        if isinstance(outcome, IntakeRefused):
            assert outcome.status in (400, 403, 409, 422)
            assert outcome.code in KNOWN_CODES
        else:  # only changes to unauthenticated framing can get through: the same message
            assert outcome.duplicate  # type: ignore[attr-defined]

    try:
        mutate()
    finally:
        runtime.engine.dispose()
