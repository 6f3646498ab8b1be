"""Hostile intake: every bad message maps to its stable code, never to a stray exception."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import cms
from crypto_support import Signer, flip_byte, load_recipient, load_signer, openssl_encrypt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.crypto import (
    CryptoError,
    InvalidEnvelope,
    RecipientKey,
    TrustConfig,
    encrypt_envelope,
    open_submission,
    sign,
    verify_signed,
)
from gateway.crypto.der_guard import check_ber_structure
from gateway.crypto.devpki import DevPki
from gateway.crypto.errors import ERROR_CODES
from gateway.crypto.keyfiles import load_certificate

CONTENT = b"%PDF-1.7 hostile-input fixture"


@dataclass(frozen=True)
class Ctx:
    pki: DevPki
    other_pki: DevPki
    intake_cert_path: Path
    signed: bytes
    envelope: bytes
    workdir: Path

    def signer(self, pki: DevPki, name: str) -> Signer:
        return load_signer(pki.magistrates[name].cert, pki.magistrates[name].key)

    def to_intake(self, signed: bytes) -> bytes:
        return encrypt_envelope(signed, [load_certificate(self.intake_cert_path)])


@pytest.fixture(scope="module")
def ctx(
    pki: DevPki, other_pki: DevPki, magistrate: Signer, tmp_path_factory: pytest.TempPathFactory
) -> Ctx:
    signed = sign(CONTENT, magistrate.key, magistrate.cert)
    envelope = encrypt_envelope(signed, [load_certificate(pki.intake.cert)])
    return Ctx(pki, other_pki, pki.intake.cert, signed, envelope, tmp_path_factory.mktemp("bad"))


def _flip_ciphertext(c: Ctx) -> bytes:
    eci = cms.ContentInfo.load(c.envelope)["content"]["auth_encrypted_content_info"]
    return flip_byte(c.envelope, c.envelope.index(eci["encrypted_content"].native) + 100)


def _flip_signed_attribute(c: Ctx) -> bytes:
    signer_info = cms.ContentInfo.load(c.signed)["content"]["signer_infos"][0]
    attrs = signer_info["signed_attrs"].dump()
    start = c.signed.index(attrs)
    time_at = start + attrs.index(b"\x17\x0d") + 2 + 11  # last digit of the seconds
    mutated = bytearray(c.signed)
    mutated[time_at] = ord("0") + (mutated[time_at] - ord("0") + 1) % 10
    return c.to_intake(bytes(mutated))


def _wrong_recipient(c: Ctx) -> bytes:
    other = load_certificate(c.pki.authorities["authority-a"]["encryption"].cert)
    return encrypt_envelope(c.signed, [other])


def _signed_by(pki_attr: str, name: str) -> Callable[[Ctx], bytes]:
    def build(c: Ctx) -> bytes:
        signer = c.signer(getattr(c, pki_attr), name)
        return c.to_intake(sign(CONTENT, signer.key, signer.cert))

    return build


def _signed_by_encryption_cert(c: Ctx) -> bytes:
    enc = c.pki.authorities["authority-a"]["encryption"]
    signer = load_signer(enc.cert, enc.key)
    return c.to_intake(sign(CONTENT, signer.key, signer.cert))


def _signed_an_hour_ago(c: Ctx) -> bytes:
    signer = c.signer(c.pki, "rsa")
    then = datetime.now().astimezone() - timedelta(hours=1)
    return c.to_intake(sign(CONTENT, signer.key, signer.cert, signing_time=then))


def _pkcs1v15_transport(c: Ctx) -> bytes:
    (c.workdir / "signed.der").write_bytes(c.signed)
    return openssl_encrypt(c.workdir / "signed.der", c.intake_cert_path, c.workdir / "v15.der")


def _length_bomb(c: Ctx) -> bytes:
    return b"\x30\x88\x7f\xff\xff\xff\xff\xff\xff\xff" + c.envelope[4:]


def _inner_length_bomb(c: Ctx) -> bytes:
    return c.to_intake(b"\x30\x84\x7f\xff\xff\xff\x04\x84\x7f\xff\xff\xf0")


HOSTILE_CASES: list[tuple[str, Callable[[Ctx], bytes], str]] = [
    ("flipped-ciphertext-byte", _flip_ciphertext, "undecryptable"),
    ("flipped-mac-byte", lambda c: flip_byte(c.envelope, len(c.envelope) - 1), "undecryptable"),
    ("flipped-signed-attribute-byte", _flip_signed_attribute, "signature-invalid"),
    ("wrong-recipient", _wrong_recipient, "undecryptable"),
    ("expired-signer", _signed_by("pki", "expired"), "certificate-expired"),
    ("revoked-signer", _signed_by("pki", "revoked"), "certificate-revoked"),
    ("untrusted-signer", _signed_by("other_pki", "rsa"), "untrusted-signer"),
    ("signer-without-signing-key-usage", _signed_by_encryption_cert, "signer-not-authorised"),
    ("signing-time-outside-skew", _signed_an_hour_ago, "stale"),
    ("pkcs1-v1.5-key-transport", _pkcs1v15_transport, "unsupported-algorithm"),
    ("truncated-der", lambda c: c.envelope[: len(c.envelope) // 2], "malformed"),
    ("length-bomb", _length_bomb, "malformed"),
    ("inner-length-bomb", _inner_length_bomb, "malformed"),
    ("deep-nesting", lambda c: b"\x30\x80" * 50_000 + b"\x00\x00" * 50_000, "malformed"),
    ("empty-body", lambda c: b"", "malformed"),
    ("random-bytes", lambda c: random.Random(5).randbytes(4096), "malformed"),
    ("inner-not-signed-data", lambda c: c.to_intake(b"plain text, no CMS"), "malformed"),
    ("trailing-garbage", lambda c: c.envelope + b"\x00", "malformed"),
]


@pytest.mark.parametrize(
    ("build", "code"),
    [(build, code) for _, build, code in HOSTILE_CASES],
    ids=[name for name, *_ in HOSTILE_CASES],
)
def test_hostile_submission_is_refused_with_its_code(
    ctx: Ctx,
    build: Callable[[Ctx], bytes],
    code: str,
    intake_keys: list[RecipientKey],
    trust: TrustConfig,
    now: datetime,
) -> None:
    with pytest.raises(CryptoError) as refused:
        open_submission(build(ctx), intake_keys, trust, now=now)
    assert refused.value.code == code
    assert refused.value.detail  # the precise reason exists, for logs


def test_valid_submission_passes_the_same_pipeline(
    ctx: Ctx, intake_keys: list[RecipientKey], trust: TrustConfig, now: datetime
) -> None:
    assert open_submission(ctx.envelope, intake_keys, trust, now=now).content == CONTENT


def test_stale_crl_fails_closed_unless_allowed(
    ctx: Ctx, intake_keys: list[RecipientKey], trust: TrustConfig
) -> None:
    next_update = trust.crls[0].next_update_utc
    assert next_update is not None
    after_crl_expiry = next_update + timedelta(hours=1)
    signer = ctx.signer(ctx.pki, "rsa")
    late = ctx.to_intake(sign(CONTENT, signer.key, signer.cert, signing_time=after_crl_expiry))
    with pytest.raises(CryptoError) as refused:
        open_submission(late, intake_keys, trust, now=after_crl_expiry)
    assert refused.value.code == "untrusted-signer"
    assert "CRL" in refused.value.detail
    lenient = replace(trust, allow_stale_crl=True)
    assert open_submission(late, intake_keys, lenient, now=after_crl_expiry).content == CONTENT


def test_missing_crl_fails_closed(
    ctx: Ctx, intake_keys: list[RecipientKey], trust: TrustConfig, now: datetime
) -> None:
    with pytest.raises(CryptoError) as refused:
        open_submission(ctx.envelope, intake_keys, replace(trust, crls=[]), now=now)
    assert refused.value.code == "untrusted-signer"


def _decryption_failures(ctx: Ctx, intake_keys: list[RecipientKey]) -> dict[str, CryptoError]:
    pki = ctx.pki
    info = cms.ContentInfo.load(ctx.envelope)
    wrapped = info["content"]["recipient_infos"][0].chosen["encrypted_key"].native
    ec_recipient = load_recipient(
        pki.authorities["authority-b"]["encryption"].cert,
        pki.authorities["authority-b"]["encryption"].key,
    )
    ec_envelope = encrypt_envelope(ctx.signed, [ec_recipient.certificate])
    kari = cms.ContentInfo.load(ec_envelope)["content"]["recipient_infos"][0].chosen
    ec_wrapped = kari["recipient_encrypted_keys"][0]["encrypted_key"].native
    a_cert = load_certificate(pki.authorities["authority-a"]["encryption"].cert)
    cases = {
        "bad-oaep": (flip_byte(ctx.envelope, ctx.envelope.index(wrapped) + 7), intake_keys),
        "bad-tag": (flip_byte(ctx.envelope, len(ctx.envelope) - 1), intake_keys),
        "bad-ciphertext": (_flip_ciphertext(ctx), intake_keys),
        "bad-aes-wrap": (flip_byte(ec_envelope, ec_envelope.index(ec_wrapped) + 3), [ec_recipient]),
        "wrong-key-for-certificate": (
            encrypt_envelope(ctx.signed, [a_cert]),
            [RecipientKey(intake_keys[0].private_key, a_cert)],
        ),
        "no-matching-recipient": (encrypt_envelope(ctx.signed, [a_cert]), intake_keys),
    }
    failures = {}
    for name, (data, keys) in cases.items():
        with pytest.raises(CryptoError) as caught:
            open_submission(data, keys, TrustConfig(anchors=[]), now=datetime.now().astimezone())
        failures[name] = caught.value
    return failures


def test_decryption_failures_are_indistinguishable(
    ctx: Ctx, intake_keys: list[RecipientKey]
) -> None:
    failures = _decryption_failures(ctx, intake_keys)
    assert {type(e) for e in failures.values()} == {InvalidEnvelope}
    assert {e.code for e in failures.values()} == {"undecryptable"}
    assert {str(e) for e in failures.values()} == {"undecryptable"}
    assert {repr(e) for e in failures.values()} == {"InvalidEnvelope('undecryptable')"}
    assert {e.args for e in failures.values()} == {("undecryptable",)}
    assert all(e.detail and e.detail not in str(e) for e in failures.values())


def _outcome(action: Callable[[], object]) -> object:
    """The action's result, or the code of the CryptoError it raised (anything else fails)."""
    try:
        return action()
    except CryptoError as exc:
        return exc.code


_MUTATIONS = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 64)),
)


def _mutate(data: bytes, mutation: tuple[str, int, int]) -> bytes:
    kind, position, value = mutation
    at = position % (len(data) + 1)
    if kind == "flip" and at < len(data):
        return data[:at] + bytes([data[at] ^ value]) + data[at + 1 :]
    if kind == "truncate":
        return data[:at]
    if kind == "insert":
        return data[:at] + bytes([value]) + data[at:]
    return data[:at] + data[at + value :]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations=st.lists(_MUTATIONS, min_size=1, max_size=3))
def test_mutated_envelope_raises_only_crypto_errors(
    ctx: Ctx,
    intake_keys: list[RecipientKey],
    trust: TrustConfig,
    mutations: list[tuple[str, int, int]],
) -> None:
    data = ctx.envelope
    for mutation in mutations:
        data = _mutate(data, mutation)
    outcome = _outcome(
        lambda: open_submission(data, intake_keys, trust, now=datetime.now().astimezone()).content
    )
    # GCM authenticates the content, so only header damage or encoding-neutral changes remain.
    assert outcome in {"undecryptable", "malformed", "unsupported-algorithm", CONTENT}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations=st.lists(_MUTATIONS, min_size=1, max_size=3))
def test_mutated_signed_data_raises_only_crypto_errors(
    ctx: Ctx, trust: TrustConfig, mutations: list[tuple[str, int, int]]
) -> None:
    data = ctx.signed
    for mutation in mutations:
        data = _mutate(data, mutation)
    outcome = _outcome(lambda: verify_signed(data, trust, now=datetime.now().astimezone()).content)
    assert outcome in ERROR_CODES or outcome == CONTENT


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=512))
def test_der_guard_accepts_or_refuses_as_malformed(data: bytes) -> None:
    assert _outcome(lambda: check_ber_structure(data, max_size=1024)) in {None, "malformed"}
