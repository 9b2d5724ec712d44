"""DKIM key records and private keys, read with our own parser and ``cryptography``.

dkimpy 1.1.8 (``dkim.evaluate_pk``) ignores the ``t=`` flags entirely and reports an empty
``p=`` as a generic ``KeyFormatError("could not parse RSA public key (b''): ...")``, so the
record is parsed here with ``dkim.util.parse_tag_value`` to say "testing" and "revoked"
plainly; dkimpy is still used to sign and verify a test message.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from dkim.util import InvalidTagValueList, parse_tag_value

PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey
PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


@dataclass
class KeyRecord:
    """A parsed ``<selector>._domainkey.<domain>`` TXT record."""

    raw: str
    tags: dict[str, str] = field(default_factory=dict)
    key_type: str = "rsa"
    testing: bool = False  # t=y
    strict: bool = False  # t=s
    revoked: bool = False  # p= present and empty
    public_key: PublicKey | None = None
    bits: int | None = None
    error: str | None = None

    def summary(self) -> str:
        """``RSA 2048 bits`` / ``ed25519``."""
        if self.key_type == "ed25519":
            return "ed25519"
        return f"RSA {self.bits} bits" if self.bits else self.key_type


def looks_like_key_record(text: str) -> bool:
    """A TXT string that is meant as a DKIM key (has a ``p=`` tag)."""
    return re.search(r"(^|;)\s*p\s*=", text) is not None


def parse_key_record(text: str) -> KeyRecord:
    """Parse a key record; problems are reported in ``error``/``revoked``, never raised."""
    record = KeyRecord(raw=text)
    try:
        raw_tags = parse_tag_value(text.encode("utf-8", errors="replace"))
    except (InvalidTagValueList, ValueError) as exc:
        record.error = f"malformed tag list: {type(exc).__name__} {exc}"
        return record
    tags = {
        k.decode("ascii", errors="replace"): v.decode("utf-8", errors="replace")
        for k, v in raw_tags.items()
    }
    record.tags = tags
    version = tags.get("v")
    if version is not None and version != "DKIM1":
        record.error = f"v={version}, expected DKIM1"
        return record
    record.key_type = tags.get("k", "rsa").strip().lower() or "rsa"
    flags = {f.strip().lower() for f in tags.get("t", "").split(":")}
    record.testing = "y" in flags
    record.strict = "s" in flags
    if "p" not in tags:
        record.error = "no p= tag (no public key)"
        return record
    key_b64 = re.sub(r"\s+", "", tags["p"])
    if not key_b64:
        record.revoked = True
        return record
    try:
        key_bytes = base64.b64decode(key_b64, validate=True)
    except (binascii.Error, ValueError):
        record.error = "p= is not valid base64"
        return record
    if record.key_type == "rsa":
        try:
            key = load_rsa_public_der(key_bytes)
        except ValueError as exc:
            record.error = f"p= is not an RSA public key: {exc}"
            return record
        record.public_key = key
        record.bits = key.key_size
    elif record.key_type == "ed25519":
        try:
            record.public_key = ed25519.Ed25519PublicKey.from_public_bytes(key_bytes)
        except ValueError as exc:
            record.error = f"p= is not an ed25519 public key: {exc}"
            return record
        record.bits = 256
    else:
        record.error = f"unknown key type k={record.key_type}"
    return record


def load_rsa_public_der(data: bytes) -> rsa.RSAPublicKey:
    """An RSA public key from SubjectPublicKeyInfo DER, or bare PKCS#1 ``RSAPublicKey`` DER
    (both appear in the wild)."""
    try:
        key = serialization.load_der_public_key(data)
    except UnsupportedAlgorithm as exc:
        # A well-formed key of an algorithm or curve cryptography does not know.
        raise ValueError(f"unsupported key algorithm ({exc})") from None
    except (ValueError, TypeError):
        key = None
    if key is not None:
        if isinstance(key, rsa.RSAPublicKey):
            return key
        raise ValueError(f"a {type(key).__name__}, not RSA")
    pem = (
        b"-----BEGIN RSA PUBLIC KEY-----\n"
        + base64.encodebytes(data)
        + b"-----END RSA PUBLIC KEY-----\n"
    )
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ValueError("neither SubjectPublicKeyInfo nor PKCS#1 DER") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA key")
    return key


def load_private_key(text: str | bytes) -> PrivateKey:
    """A private key from PEM (PKCS#1 or PKCS#8), from bare base64 DER as some databases
    store it, or from a base64 32-byte ed25519 seed (dkimpy's format). Raises ValueError."""
    data = text.encode("ascii", errors="replace") if isinstance(text, str) else bytes(text)
    data = data.strip()
    candidates: list[bytes] = []
    if b"-----BEGIN" in data:
        candidates.append(data)
    else:
        body = re.sub(rb"\s+", b"", data)
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("neither PEM nor base64") from None
        if len(raw) == 32:
            return ed25519.Ed25519PrivateKey.from_private_bytes(raw)
        wrapped = base64.encodebytes(raw)
        for label in (b"PRIVATE KEY", b"RSA PRIVATE KEY"):
            candidates.append(
                b"-----BEGIN " + label + b"-----\n" + wrapped + b"-----END " + label + b"-----\n"
            )
    last: Exception | None = None
    for pem in candidates:
        try:
            key: Any = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            last = exc
            continue
        if isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
            return key
        raise ValueError(f"unsupported key type {type(key).__name__}")
    raise ValueError(f"unreadable private key: {last}")


def public_der(key: PublicKey) -> bytes:
    """SubjectPublicKeyInfo DER, for comparing two public keys."""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def keys_match(private_key: PrivateKey, public_key: PublicKey) -> bool:
    """Whether ``public_key`` is the public half of ``private_key``."""
    return public_der(private_key.public_key()) == public_der(public_key)


def signing_pem(private_key: PrivateKey) -> bytes:
    """The key in a form dkimpy signs with: traditional PEM for RSA, the base64 seed for
    ed25519."""
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        raw = private_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return base64.b64encode(raw)
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def dns_record_for(private_key: PrivateKey, *, testing: bool = False) -> str:
    """The TXT record that publishes the public half of ``private_key``."""
    public = private_key.public_key()
    if isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        key_type = "ed25519"
    else:
        raw = public_der(public)
        key_type = "rsa"
    flags = "; t=y" if testing else ""
    return f"v=DKIM1; k={key_type}{flags}; p={base64.b64encode(raw).decode('ascii')}"
