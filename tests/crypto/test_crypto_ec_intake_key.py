"""A second intake key, EC P-256, issued from the dev PKI's CA (bench_exchange uses it).

openssl-made envelopes to it (ECDH key agreement) open with the gateway's keyring beside
the RSA-3072 key, and envelopes to the RSA key still do.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from crypto_support import OAEP_SHA256, openssl_encrypt, openssl_sign
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.config import load_settings
from gateway.crypto import open_submission
from gateway.crypto.devpki import DevPki, add_ec_intake_key
from gateway.crypto.errors import UNDECRYPTABLE, CryptoError
from gateway.crypto.keyfiles import load_certificate, load_private_key
from gateway.runtime.key_import import KeyImporter
from gateway.runtime.keyring import load_keyring
from gateway.runtime.setup import initialise


@pytest.fixture
def pki_copy(pki: DevPki, tmp_path: Path) -> Path:
    """The session PKI's files in a directory of this test's own (it adds files)."""
    return Path(shutil.copytree(pki.directory, tmp_path / "dev-pki"))


def test_the_ec_intake_certificate_is_a_key_agreement_certificate_of_the_dev_ca(
    pki_copy: Path,
) -> None:
    pair = add_ec_intake_key(pki_copy)
    cert, ca = load_certificate(pair.cert), load_certificate(pki_copy / "ca.pem")
    key = load_private_key(pair.key)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert isinstance(key.curve, ec.SECP256R1)
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_agreement
    assert not usage.key_encipherment
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)
    assert oct(pair.key.stat().st_mode & 0o777) == "0o600"


def test_envelopes_to_either_intake_key_open_once_both_are_imported(tmp_path: Path) -> None:
    settings = load_settings({}, overrides={"data_dir": tmp_path / "data"})
    for _line in initialise(settings, dev_pki=True, demo_authorities=False):
        pass
    pki = settings.keys_dir / "dev-pki"
    pair = add_ec_intake_key(pki)  # what bench_exchange does
    list(KeyImporter(settings.keys_dir).intake([(pair.key, pair.cert)], replace=False))
    keyring = load_keyring(settings.keys_dir)
    rsa_cert = load_certificate(pki / "gateway-intake.pem")
    assert [k.certificate for k in keyring.intake] == [rsa_cert, load_certificate(pair.cert)]
    trust = keyring.trust(allow_stale_crl=False, max_skew_seconds=600)

    content = tmp_path / "request.bin"
    content.write_bytes(b"%PDF-1.7 a request for the EC intake key")
    signed = tmp_path / "signed.der"
    openssl_sign(content, pki / "magistrate-ec.pem", pki / "magistrate-ec.key", signed)
    for recipient, keyopts in ((pair.cert, None), (pki / "gateway-intake.pem", OAEP_SHA256)):
        out = tmp_path / f"{recipient.stem}.p7m"
        envelope = openssl_encrypt(signed, recipient, out, keyopts=keyopts)
        opened = open_submission(envelope, keyring.intake, trust, now=datetime.now(UTC))
        assert opened.content == content.read_bytes()

    # the RSA key alone does not open what was made to the EC one
    envelope = (tmp_path / f"{pair.cert.stem}.p7m").read_bytes()
    with pytest.raises(CryptoError) as refused:
        open_submission(envelope, keyring.intake[:1], trust, now=datetime.now(UTC))
    assert refused.value.code == UNDECRYPTABLE
