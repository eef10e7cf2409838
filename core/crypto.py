"""Field encryption for personal data at rest, and keyed hashes to find it again.

Customer numbers and bank accounts are stored as Fernet tokens (AES-128-CBC + HMAC) and
looked up by an HMAC-SHA256 of the normalised value, so equality search needs no decryption
and the hash is useless without the key.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class FieldCipher:
    def __init__(self, encryption_keys: str, hash_key: str) -> None:
        keys = [k.strip() for k in encryption_keys.split(",") if k.strip()]
        if not keys:
            raise ValueError("FIELD_ENCRYPTION_KEY is empty")
        if not hash_key:
            raise ValueError("FIELD_HASH_KEY is empty")
        # First key encrypts; all keys decrypt (key rotation).
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        self._hash_key = hash_key.encode()

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:  # wrong key or tampered value
            raise ValueError("cannot decrypt field") from exc

    def keyed_hash(self, value: str, purpose: str = "") -> str:
        msg = f"{purpose}\x1f{value}".encode()
        return hmac.new(self._hash_key, msg, hashlib.sha256).hexdigest()


class MissingCipher:
    """Stands in when no keys are configured, so commands like `gen-keys` still start; any
    attempt to touch personal data fails loudly instead of storing it unprotected."""

    def _fail(self, *_a, **_k):
        raise RuntimeError("FIELD_ENCRYPTION_KEY and FIELD_HASH_KEY are not set "
                           "(`flask --app webhooks cpoint gen-keys` prints new ones)")

    encrypt = decrypt = keyed_hash = _fail


def generate_key() -> str:
    return Fernet.generate_key().decode()


def generate_hash_key() -> str:
    import os

    return base64.urlsafe_b64encode(os.urandom(32)).decode()
