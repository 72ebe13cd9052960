"""The applicant's receipt: a short public reference and a query code, to track without login."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date

# Crockford's base32 without I, L, O, U: nothing a citizen could misread or mistype.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ_AS = str.maketrans("OIL", "011")


def new_reference(day: date) -> str:
    """e.g. 261126-7K3F-9QX2: the filing day, then 8 random characters (collisions: ~1 in 10^12)."""
    tail = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{day:%y%m%d}-{tail[:4]}-{tail[4:]}"


def query_code(reference: str, secret: str) -> str:
    """The reference's six-digit query code: derived with the hub's secret key, never stored,
    so a repeated filing request can print the same receipt again."""
    digest = hmac.new(secret.encode(), f"query-code:{reference}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**6:06d}"


def code_matches(reference: str, code: str, secret: str) -> bool:
    """Whether a query code is the reference's, compared in constant time."""
    return hmac.compare_digest(query_code(reference, secret).encode(), code.strip().encode())


def normalize_reference(value: str) -> str:
    """Upper-case, with the characters people confuse read as the ones meant (O→0, I/L→1)."""
    return value.strip().upper().translate(_READ_AS)
