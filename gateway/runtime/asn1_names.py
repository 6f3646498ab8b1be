"""Register every ASN.1 name our libraries add to asn1crypto, before anything parses.

pyHanko adds CMS attribute and extension names to asn1crypto's tables when imported;
asn1crypto caches its name -> OID table on first use, so a process that used asn1crypto
first (e.g. packaging) could not later build pyHanko's attributes (rendering):
`ValueError: invalid literal for int() ... 'signing_certificate_v2'`. Importing them at
process start, and rebuilding any cache built before, makes the order irrelevant.
"""

from __future__ import annotations

import pyhanko.pdf_utils.crypt
import pyhanko.sign.ades.asn1_util
import pyhanko.sign.signers  # noqa: F401  (registers signing attribute names)
import pyhanko_certvalidator.asn1_types  # noqa: F401  (registers extension names)
from asn1crypto.core import ObjectIdentifier


def register_asn1_names() -> None:
    """The names are registered by the imports above; rebuild caches made before them."""
    pending: list[type[ObjectIdentifier]] = [ObjectIdentifier]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        mapping = cls.__dict__.get("_map")
        if mapping is not None and cls.__dict__.get("_reverse_map") is not None:
            # a cache built before the names were added: rebuild it from `_map`
            cls._reverse_map = {value: key for key, value in mapping.items()}
