"""The KEK in a real PKCS#11 token (SoftHSM2, created by the test): it never leaves the
token, and `rotate-kek` moves it from a file into the token and back."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pkcs11
import pytest
from ops_support import Cli, audit_events
from pkcs11 import Attribute, KeyType, ObjectClass
from pkcs11.exceptions import AttributeSensitive

from gateway.config import Settings, load_settings
from gateway.crypto import InvalidEnvelope
from gateway.crypto.at_rest import FileKek, new_data_key
from gateway.crypto.keyfiles import write_private_file
from gateway.crypto.pkcs11_kek import Pkcs11Kek, TokenLocation, generate_token_kek
from gateway.persistence.db import transaction
from gateway.runtime.container import build_runtime, load_kek

LIBRARY = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "246810"


@pytest.fixture
def token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TokenLocation:
    """A fresh SoftHSM2 token in a temporary directory."""
    tokens = tmp_path / "softhsm-tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    label = f"rogatory-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", label,
         "--pin", PIN, "--so-pin", "13579111"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    pkcs11.lib(LIBRARY).reinitialize()  # SoftHSM2 reads SOFTHSM2_CONF when initialised
    return TokenLocation(LIBRARY, label, "rogatory-kek")


def test_token_kek_wraps_inside_the_token_and_its_value_never_comes_out(
    token: TokenLocation,
) -> None:
    assert generate_token_kek(token, PIN) is True
    assert generate_token_kek(token, PIN) is False  # the same label is never made twice
    kek = Pkcs11Kek(token, PIN)
    dek = new_data_key()
    wrapped = kek.wrap(dek)
    assert len(wrapped) == 41
    assert wrapped != kek.wrap(new_data_key())
    assert kek.unwrap(wrapped) == dek
    tampered = bytearray(wrapped)
    tampered[5] ^= 1
    with pytest.raises(InvalidEnvelope):
        kek.unwrap(bytes(tampered))
    with pytest.raises(InvalidEnvelope):
        FileKek(os.urandom(32)).unwrap(wrapped)  # not a key any file holds
    library = pkcs11.lib(LIBRARY)
    with library.get_token(token_label=token.token_label).open() as session:  # kek logged in
        key = session.get_key(
            object_class=ObjectClass.SECRET_KEY, key_type=KeyType.AES, label=token.key_label
        )
        assert key[Attribute.SENSITIVE] is True
        assert key[Attribute.EXTRACTABLE] is False
        with pytest.raises(AttributeSensitive):
            key[Attribute.VALUE]
    assert kek.key_id.startswith("pkcs11:")
    assert Pkcs11Kek(token, PIN).key_id == kek.key_id


def test_wrong_pin_or_missing_key_is_a_clear_error(token: TokenLocation) -> None:
    with pytest.raises(ValueError, match="no single AES key"):
        Pkcs11Kek(token, PIN)
    generate_token_kek(token, PIN)
    with pytest.raises(ValueError, match=token.token_label):
        Pkcs11Kek(token, "000000")


def _store(settings: Settings) -> dict[str, bytes]:
    runtime = build_runtime(settings)
    contents = {f"doc-{i}": os.urandom(500 + i * 40_000) for i in range(3)}
    with transaction(runtime.engine) as conn:
        ids = {
            runtime.blobs.put(
                conn, request_id=None, kind="test", name=name, media_type="text/plain", data=data
            ).id: data
            for name, data in contents.items()
        }
    runtime.close()
    return ids


def _read_all(settings: Settings, ids: dict[str, bytes]) -> None:
    runtime = build_runtime(settings)
    try:
        with transaction(runtime.engine) as conn:
            for object_id, data in ids.items():
                assert runtime.blobs.read(conn, object_id) == data
    finally:
        runtime.close()


def test_rotate_kek_moves_file_to_token_and_back(
    token: TokenLocation,
    make_settings: Callable[..., Settings],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    settings = make_settings()
    stored = _store(settings)
    file_kek_id = load_kek(settings).key_id
    monkeypatch.setenv("ROGATORY_PKCS11_PIN", PIN)
    monkeypatch.setenv("ROGATORY_PKCS11_TOKEN_LABEL", token.token_label)
    cli = Cli(settings.data_dir, capsys)

    code, out, err = cli("keys", "rotate-kek", "--to-token")
    assert code == 0, out + err
    assert f"created in token '{token.token_label}'" in out
    assert not (settings.keys_dir / "kek.b64").exists()
    assert json.loads((settings.keys_dir / "kek-pkcs11.json").read_text()) == {
        "library": LIBRARY, "token_label": token.token_label, "key_label": "rogatory-kek"
    }  # fmt: skip
    retired = list(settings.keys_dir.glob("kek.b64.retired-*"))
    assert len(retired) == 1
    in_token = load_settings(
        {"ROGATORY_PKCS11_PIN": PIN}, overrides={"data_dir": str(settings.data_dir)}
    )
    token_kek = load_kek(in_token)
    assert isinstance(token_kek, Pkcs11Kek)
    _read_all(in_token, stored)
    with pytest.raises(Exception, match="pkcs11_pin"):
        load_kek(load_settings({}, overrides={"data_dir": str(settings.data_dir)}))

    back = tmp_path / "back.b64"
    write_private_file(back, base64.b64encode(os.urandom(32)) + b"\n")
    code, out, err = cli("keys", "rotate-kek", "--new-kek", back)
    assert code == 0, out + err
    assert "3 data keys re-wrapped" in out
    assert not (settings.keys_dir / "kek-pkcs11.json").exists()
    assert list(settings.keys_dir.glob("kek-pkcs11.json.retired-*"))
    file_kek = load_kek(in_token)
    assert isinstance(file_kek, FileKek)
    assert file_kek.key_id not in {file_kek_id, token_kek.key_id}
    _read_all(settings, stored)
    assert audit_events(settings.database_url).count("key_rotation") == 2


def test_init_again_after_moving_to_the_token_creates_no_file_kek(
    token: TokenLocation,
    make_settings: Callable[..., Settings],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make_settings()
    monkeypatch.setenv("ROGATORY_PKCS11_PIN", PIN)
    cli = Cli(settings.data_dir, capsys)
    code, out, err = cli("keys", "rotate-kek", "--to-token", "--token-label", token.token_label)
    assert code == 0, out + err
    code, out, err = cli("init")
    assert code == 0, err
    assert "KEK created" not in out
    assert not (settings.keys_dir / "kek.b64").exists()
    assert isinstance(load_kek(load_settings(
        {"ROGATORY_PKCS11_PIN": PIN}, overrides={"data_dir": str(settings.data_dir)}
    )), Pkcs11Kek)  # fmt: skip


FORK_PROBE = """
import os, sys
from gateway.crypto.pkcs11_kek import Pkcs11Kek, TokenLocation
kek = Pkcs11Kek(TokenLocation(*sys.argv[1:4]), sys.argv[4])
wrapped = kek.wrap(bytes(range(32)))
pid = os.fork()
if pid == 0:  # a prefork worker child: the inherited session is unusable, it opens its own
    os._exit(0 if kek.unwrap(wrapped) == bytes(range(32)) else 3)
_, status = os.waitpid(pid, 0)
assert kek.unwrap(kek.wrap(bytes(32))) == bytes(32)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_a_forked_child_unwraps_with_its_own_token_session(token: TokenLocation) -> None:
    import sys

    generate_token_kek(token, PIN)
    result = subprocess.run(
        [sys.executable, "-c", FORK_PROBE, token.library, token.token_label, token.key_label, PIN],
        capture_output=True, text=True, timeout=120, check=False, env=dict(os.environ),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
