"""openssl as independent producer (intake) and consumer (sealed delivery)."""

from __future__ import annotations

import io
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from asn1crypto import cms
from crypto_support import (
    OAEP_SHA256,
    Signer,
    load_signer,
    openssl,
    openssl_encrypt,
    openssl_sign,
    self_signed_ec_recipient,
)
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.crypto import (
    CryptoError,
    RecipientKey,
    TrustConfig,
    decrypt_envelope,
    encrypt_envelope,
    open_submission,
    seal,
    sign,
)
from gateway.crypto.devpki import DevPki
from gateway.crypto.keyfiles import load_certificate, load_private_key

REQUEST = b"%PDF-1.7\n% request for mutual legal assistance\n" + bytes(range(256)) * 8


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("interop")
    (path / "request.pdf").write_bytes(REQUEST)
    return path


@pytest.fixture(scope="module")
def openssl_signed(workdir: Path, pki: DevPki) -> Path:
    magistrate = pki.magistrates["rsa"]
    openssl_sign(workdir / "request.pdf", magistrate.cert, magistrate.key, workdir / "signed.der")
    return workdir / "signed.der"


@pytest.fixture(scope="module")
def ec_recipients(workdir: Path) -> dict[str, tuple[RecipientKey, Path]]:
    recipients = {}
    for label, curve in (("p256", ec.SECP256R1()), ("p384", ec.SECP384R1())):
        key, cert, path = self_signed_ec_recipient(workdir, curve, f"gateway-{label}")
        recipients[label] = (RecipientKey(key, cert), path)
    return recipients


def test_openssl_rsa_oaep_gcm_submission_opens_and_verifies(
    workdir: Path,
    pki: DevPki,
    openssl_signed: Path,
    intake_keys: list[RecipientKey],
    trust: TrustConfig,
    now: datetime,
) -> None:
    envelope = openssl_encrypt(
        openssl_signed, pki.intake.cert, workdir / "rsa.der", keyopts=OAEP_SHA256
    )
    verified = open_submission(envelope, intake_keys, trust, now=now)
    assert verified.content == REQUEST
    assert verified.signer.subject.rfc4514_string().startswith("CN=magistrate-rsa")
    assert verified.signed_data_der == openssl_signed.read_bytes()
    assert verified.chain[-1] == trust.anchors[0]


@pytest.mark.parametrize("curve", ["p256", "p384"])
@pytest.mark.parametrize(
    ("kdf_keyopts", "kdf_oid"),
    [
        (["-keyopt", "ecdh_kdf_md:sha256"], "1.3.132.1.11.1"),
        ([], "1.3.133.16.840.63.0.2"),  # openssl's default SHA-1 X9.63 KDF
    ],
    ids=["sha256-kdf", "default-sha1-kdf"],
)
def test_openssl_ecdh_gcm_submission_opens_and_verifies(
    workdir: Path,
    openssl_signed: Path,
    ec_recipients: dict[str, tuple[RecipientKey, Path]],
    trust: TrustConfig,
    now: datetime,
    curve: str,
    kdf_keyopts: list[str],
    kdf_oid: str,
) -> None:
    recipient_key, recipient_cert = ec_recipients[curve]
    out = workdir / f"ecdh-{curve}-{kdf_oid}.der"
    envelope = openssl_encrypt(openssl_signed, recipient_cert, out, keyopts=kdf_keyopts)
    kari = cms.ContentInfo.load(envelope)["content"]["recipient_infos"][0].chosen
    assert kari["key_encryption_algorithm"]["algorithm"].dotted == kdf_oid
    verified = open_submission(envelope, [recipient_key], trust, now=now)
    assert verified.content == REQUEST


def test_openssl_ec_magistrate_signature_verifies(
    workdir: Path, pki: DevPki, intake_keys: list[RecipientKey], trust: TrustConfig, now: datetime
) -> None:
    magistrate = pki.magistrates["ec"]
    signed = workdir / "signed-ec.der"
    openssl_sign(workdir / "request.pdf", magistrate.cert, magistrate.key, signed)
    envelope = openssl_encrypt(signed, pki.intake.cert, workdir / "ec-sig.der", keyopts=OAEP_SHA256)
    assert open_submission(envelope, intake_keys, trust, now=now).content == REQUEST


def test_openssl_cbc_enveloped_data_is_refused_unless_legacy_enabled(
    workdir: Path,
    pki: DevPki,
    openssl_signed: Path,
    intake_keys: list[RecipientKey],
    trust: TrustConfig,
    now: datetime,
) -> None:
    envelope = openssl_encrypt(
        openssl_signed,
        pki.intake.cert,
        workdir / "cbc.der",
        cipher="-aes-256-cbc",
        keyopts=OAEP_SHA256,
    )
    with pytest.raises(CryptoError) as refused:
        open_submission(envelope, intake_keys, trust, now=now)
    assert refused.value.code == "unsupported-algorithm"
    verified = open_submission(envelope, intake_keys, trust, now=now, allow_legacy_cbc=True)
    assert verified.content == REQUEST


def test_openssl_streamed_small_envelope_also_opens_in_memory(
    workdir: Path, pki: DevPki, openssl_signed: Path, intake_keys: list[RecipientKey]
) -> None:
    envelope = openssl_encrypt(
        openssl_signed,
        pki.intake.cert,
        workdir / "streamed.der",
        keyopts=OAEP_SHA256,
        stream=True,
    )
    assert envelope[1] == 0x80  # indefinite length BER
    assert decrypt_envelope(envelope, intake_keys) == openssl_signed.read_bytes()


@pytest.mark.parametrize("authority", ["authority-a", "authority-b"])
def test_sealed_package_decrypts_and_verifies_with_openssl(
    workdir: Path, pki: DevPki, authority: str
) -> None:
    seal_signer = load_signer(pki.seal.cert, pki.seal.key)
    recipients = [load_certificate(pki.authorities[a]["encryption"].cert) for a in pki.authorities]
    package = b'{"submission": "original bytes untouched"}' + REQUEST
    sealed = workdir / f"sealed-{authority}.der"
    sealed.write_bytes(seal(package, seal_signer.key, seal_signer.cert, recipients))
    enc = pki.authorities[authority]["encryption"]
    inner = workdir / f"inner-{authority}.der"
    openssl(
        "cms",
        "-decrypt",
        "-binary",
        "-inform",
        "DER",
        "-in",
        sealed,
        "-recip",
        enc.cert,
        "-inkey",
        enc.key,
        "-out",
        inner,
    )
    content = openssl(
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        inner,
        "-CAfile",
        pki.ca.cert,
        "-purpose",
        "any",
    )
    assert content == package
    smime_purpose = openssl(
        "cms", "-verify", "-binary", "-inform", "DER", "-in", inner, "-CAfile", pki.ca.cert
    )
    assert smime_purpose == package


def test_client_output_has_the_shape_openssl_produces(
    workdir: Path, pki: DevPki, openssl_signed: Path, magistrate: Signer
) -> None:
    ours_signed = cms.ContentInfo.load(sign(REQUEST, magistrate.key, magistrate.cert))
    theirs_signed = cms.ContentInfo.load(openssl_signed.read_bytes())
    assert _signed_shape(ours_signed) == _signed_shape(theirs_signed)
    intake_cert = load_certificate(pki.intake.cert)
    ours = cms.ContentInfo.load(encrypt_envelope(openssl_signed.read_bytes(), [intake_cert]))
    theirs = cms.ContentInfo.load(
        openssl_encrypt(openssl_signed, pki.intake.cert, workdir / "shape.der", keyopts=OAEP_SHA256)
    )
    assert _envelope_shape(ours) == _envelope_shape(theirs)


def test_openssl_decrypts_our_ecdh_envelope_for_p384(
    workdir: Path, ec_recipients: dict[str, tuple[RecipientKey, Path]]
) -> None:
    recipient_key, recipient_cert = ec_recipients["p384"]
    key_path = workdir / "p384.key"
    from gateway.crypto.keyfiles import write_private_key

    write_private_key(key_path, recipient_key.private_key)
    assert load_private_key(key_path) is not None
    envelope = workdir / "ours-p384.der"
    envelope.write_bytes(encrypt_envelope(REQUEST, [recipient_key.certificate]))
    plaintext = openssl(
        "cms",
        "-decrypt",
        "-binary",
        "-inform",
        "DER",
        "-in",
        envelope,
        "-recip",
        recipient_cert,
        "-inkey",
        key_path,
    )
    assert plaintext == REQUEST


def _signed_shape(info: cms.ContentInfo) -> tuple[object, ...]:
    signed = info["content"]
    signer = signed["signer_infos"][0]
    attr_types = {attr["type"].native for attr in signer["signed_attrs"]}
    return (
        info["content_type"].native,
        signed["version"].native,
        [alg["algorithm"].native for alg in signed["digest_algorithms"]],
        signed["encap_content_info"]["content_type"].native,
        signer["sid"].name,
        signer["digest_algorithm"]["algorithm"].native,
        signer["signature_algorithm"]["algorithm"].native,
        {"content_type", "signing_time", "message_digest"} <= attr_types,
    )


def _envelope_shape(info: cms.ContentInfo) -> tuple[object, ...]:
    env = info["content"]
    ktri = env["recipient_infos"][0].chosen
    eci = env["auth_encrypted_content_info"]
    algorithm = eci["content_encryption_algorithm"]
    return (
        info["content_type"].native,
        env["version"].native,
        ktri["rid"].name,
        ktri["key_encryption_algorithm"].native,
        eci["content_type"].native,
        algorithm["algorithm"].dotted,
        len(algorithm["parameters"].contents),
        len(env["mac"].native),
    )


def test_openssl_decrypt_writes_output_even_when_the_tag_fails(workdir: Path, pki: DevPki) -> None:
    """Why keys/README.md tells counterparts to check openssl's exit code."""
    seal_signer = load_signer(pki.seal.cert, pki.seal.key)
    enc = pki.authorities["authority-a"]["encryption"]
    sealed = seal(REQUEST, seal_signer.key, seal_signer.cert, [load_certificate(enc.cert)])
    forged = workdir / "forged.der"
    forged.write_bytes(sealed[:-1] + bytes([sealed[-1] ^ 1]))  # last byte = GCM tag
    out = workdir / "forged-out.der"
    result = subprocess.run(
        [
            "openssl",
            "cms",
            "-decrypt",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(forged),
            "-recip",
            str(enc.cert),
            "-inkey",
            str(enc.key),
            "-out",
            str(out),
        ],
        capture_output=True,
        check=False,
    )
    assert result.returncode == 4
    assert out.stat().st_size > 0


@pytest.mark.parametrize("segments", [[], [5], [1024 * 1024, 1024 * 1024, 17], [300] * 4])
def test_streamed_envelope_has_its_announced_length_and_opens_with_openssl(
    workdir: Path, pki: DevPki, intake_keys: list[RecipientKey], segments: list[int]
) -> None:
    """What `rogatory client upload` sends with a Content-Length: the length computed
    before the first byte is the length written, and openssl decrypts it."""
    from gateway.crypto import EnvelopeWriter, open_attachment_stream

    content = REQUEST * (sum(segments) // len(REQUEST) + 1)
    pieces: list[bytes] = []
    writer = EnvelopeWriter(pieces.append, [load_certificate(pki.intake.cert)])
    at = 0
    for size in segments:
        writer.segment(memoryview(content)[at : at + size])
        at += size
    writer.finish()
    envelope = b"".join(pieces)
    assert len(envelope) == writer.total_size(segments)
    (workdir / "streamed.der").write_bytes(envelope)
    plaintext = openssl(
        "cms", "-decrypt", "-binary", "-inform", "DER", "-in", workdir / "streamed.der",
        "-recip", pki.intake.cert, "-inkey", pki.intake.key,
    )  # fmt: skip
    assert plaintext == content[:at]
    received: list[bytes] = []
    result = open_attachment_stream(io.BytesIO(envelope), intake_keys, received.append)
    assert (b"".join(received), result.size) == (content[:at], at)
