"""Encryption at rest of the secrets Lookout keeps: registry token passwords and webhook secrets.

Fernet (AES-128-CBC with HMAC-SHA256, from the ``cryptography`` package) under the key in
``LOOKOUT_ENCRYPTION_KEY``. Ciphertexts are url-safe base64 text, fit for a Table property.
"""

from __future__ import annotations

import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken

from shared.errors import ConfigurationError, LookoutError


def generate_key() -> str:
    """A fresh random key in the form ``LOOKOUT_ENCRYPTION_KEY`` expects."""
    return Fernet.generate_key().decode("ascii")


def new_webhook_secret() -> str:
    """A random, URL-safe secret of 256 bits for a webhook URL."""
    return secrets.token_urlsafe(32)


def secrets_equal(given: str, expected: str) -> bool:
    """Constant-time comparison of two secrets."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


class SecretBox:
    """Encrypts and decrypts short secrets with the app's key; never logs or returns plaintext otherwise."""

    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise ConfigurationError(
                "LOOKOUT_ENCRYPTION_KEY is not a valid key (url-safe base64 of 32 bytes); "
                "generate one with `lookout init-local-settings` or `python -c 'from cryptography.fernet "
                "import Fernet; print(Fernet.generate_key().decode())'`"
            ) from None

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    def encrypt(self, plaintext: str) -> str:
        """The ciphertext of ``plaintext`` as ASCII text."""
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        """The plaintext; raises a permanent :class:`LookoutError` when the key does not match."""
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise LookoutError(
                "a stored secret cannot be decrypted: LOOKOUT_ENCRYPTION_KEY changed since it was stored; "
                "set the registry token password again",
                code="secret-undecryptable",
            ) from None
