"""The only CMS code that touches hazmat primitives: key transport, key agreement, AEAD.

Every function here either returns bytes or raises ``ValueError`` /
``InvalidUnwrap`` / ``InvalidTag``; callers translate those into one opaque error.
"""

from __future__ import annotations

from typing import Final

from cryptography.hazmat.primitives import hashes, keywrap, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.ciphers import (
    AEADDecryptionContext,
    AEADEncryptionContext,
    Cipher,
    algorithms,
    modes,
)
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

from gateway.crypto._asn1 import EccCmsSharedInfo, KeyWrapAlgorithm

HASHES: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def new_hash(name: str) -> hashes.HashAlgorithm:
    return HASHES[name]()


def oaep_padding(hash_name: str) -> asym_padding.OAEP:
    algorithm = new_hash(hash_name)
    return asym_padding.OAEP(mgf=asym_padding.MGF1(algorithm), algorithm=algorithm, label=None)


def rsa_oaep_unwrap(key: rsa.RSAPrivateKey, encrypted_key: bytes, hash_name: str) -> bytes:
    return key.decrypt(encrypted_key, oaep_padding(hash_name))


def rsa_oaep_wrap(key: rsa.RSAPublicKey, content_key: bytes, hash_name: str = "sha256") -> bytes:
    return key.encrypt(content_key, oaep_padding(hash_name))


def _ecdh_kek(
    shared_secret: bytes,
    hash_name: str,
    wrap_algorithm_der: bytes,
    kek_size: int,
    ukm: bytes | None,
) -> bytes:
    shared_info = EccCmsSharedInfo(
        {
            "key_info": KeyWrapAlgorithm.load(wrap_algorithm_der),
            "entity_u_info": ukm,
            "supp_pub_info": (kek_size * 8).to_bytes(4, "big"),
        }
    ).dump()
    kdf = X963KDF(algorithm=new_hash(hash_name), length=kek_size, sharedinfo=shared_info)
    return kdf.derive(shared_secret)


def ecdh_unwrap(
    key: ec.EllipticCurvePrivateKey,
    originator_point: bytes,
    *,
    hash_name: str,
    wrap_algorithm_der: bytes,
    kek_size: int,
    ukm: bytes | None,
    encrypted_key: bytes,
) -> bytes:
    """RFC 5753 single-pass ECDH: derive the KEK, then AES-unwrap the content key."""
    peer = ec.EllipticCurvePublicKey.from_encoded_point(key.curve, originator_point)
    shared = key.exchange(ec.ECDH(), peer)
    kek = _ecdh_kek(shared, hash_name, wrap_algorithm_der, kek_size, ukm)
    return keywrap.aes_key_unwrap(kek, encrypted_key)


def ecdh_wrap(
    recipient: ec.EllipticCurvePublicKey,
    content_key: bytes,
    *,
    hash_name: str,
    wrap_algorithm_der: bytes,
    kek_size: int,
) -> tuple[bytes, bytes]:
    """Return (ephemeral public point, wrapped content key) for one recipient."""
    ephemeral = ec.generate_private_key(recipient.curve)
    shared = ephemeral.exchange(ec.ECDH(), recipient)
    kek = _ecdh_kek(shared, hash_name, wrap_algorithm_der, kek_size, None)
    point = ephemeral.public_key().public_bytes(
        encoding=serialization.Encoding.X962,
        format=serialization.PublicFormat.UncompressedPoint,
    )
    return point, keywrap.aes_key_wrap(kek, content_key)


def gcm_decrypt(key: bytes, nonce: bytes, ciphertext: bytes, tag: bytes, aad: bytes) -> bytes:
    decryptor = Cipher(
        algorithms.AES(key), modes.GCM(nonce, tag, min_tag_length=len(tag))
    ).decryptor()
    if aad:
        decryptor.authenticate_additional_data(aad)
    return decryptor.update(ciphertext) + decryptor.finalize()


def gcm_encrypt(key: bytes, nonce: bytes, plaintext: bytes) -> tuple[bytes, bytes]:
    encryptor = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    return ciphertext, encryptor.tag


def gcm_stream_decryptor(key: bytes, nonce: bytes, tag_length: int) -> AEADDecryptionContext:
    """A GCM decryptor fed chunk by chunk and checked with ``finalize_with_tag`` at the end."""
    return Cipher(algorithms.AES(key), modes.GCM(nonce, min_tag_length=tag_length)).decryptor()


def cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def gcm_stream_encryptor(key: bytes, nonce: bytes) -> AEADEncryptionContext:
    """A GCM encryptor fed chunk by chunk; its ``tag`` is read after ``finalize``."""
    return Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
