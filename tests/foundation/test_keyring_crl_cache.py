"""Every submission checks revocation: CRL files are parsed once per file version, and
the refresh job's atomic replacement (a new file renamed over the old) is noticed."""

from __future__ import annotations

from collections.abc import Callable

from cryptography.hazmat.primitives import serialization

from gateway.config import Settings
from gateway.runtime.keyring import load_keyring


def test_crls_are_parsed_once_per_file_version_and_a_replaced_file_is_read_again(
    make_settings: Callable[..., Settings],
) -> None:
    keys = load_keyring(make_settings().keys_dir)
    assert keys.crl_paths
    first = keys.crls()
    assert [a is b for a, b in zip(first, keys.crls(), strict=True)] == [True] * len(first)
    path = keys.crl_paths[0]
    staging = path.with_name(path.name + ".new")  # as the refresh job does: a new file, renamed
    staging.write_bytes(first[0].public_bytes(serialization.Encoding.DER))
    staging.replace(path)
    again = keys.crls()
    assert again[0] is not first[0]
    assert again[0] == first[0]  # the same CRL, read from its new file
