"""The gateway's PAdES seal (baseline B-B) over a rendered PDF, with pyHanko."""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO

from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from workers.rendering.errors import SealError

SEAL_FIELD = "RogatoryGatewaySeal"


def seal_pdf(
    pdf: bytes, *, key_pem: bytes, cert_pem: bytes, chain_pems: Sequence[bytes] = ()
) -> bytes:
    """Sign `pdf` as an incremental update: PAdES B-B, SHA-256, certifying (no changes)."""
    try:
        key = load_private_key_from_pemder_data(key_pem, passphrase=None)
        (cert,) = list(load_certs_from_pemder_data(cert_pem))
        chain = [c for pem in chain_pems for c in load_certs_from_pemder_data(pem)]
    except (ValueError, TypeError) as exc:
        raise SealError("seal key or certificate cannot be read", code="seal-key-invalid") from exc
    signer = signers.SimpleSigner(
        signing_cert=cert,
        signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs([cert, *chain]),  # type: ignore[no-untyped-call]
    )
    metadata = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        reason="Sealed by the Rogatory gateway on delivery",
    )
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    output: BytesIO = signers.sign_pdf(writer, metadata, signer=signer)
    return output.getvalue()
