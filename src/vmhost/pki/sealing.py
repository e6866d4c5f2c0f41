"""Private keys (and other host secrets) encrypted at rest with the manager's secret.

The manager secret is a Fernet key (AES-128-CBC + HMAC-SHA256) in a file of the data directory,
created with mode 600 on first start. A database dump alone then reveals no private key.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from .errors import SealError

SECRET_FILE_NAME = "secret.key"  # noqa: S105 (a file name, not a secret)


def load_or_create_secret(path: str | os.PathLike[str]) -> bytes:
    """The manager secret at ``path``; created (mode 600, parent 700) when absent.

    Refuses a file that others can read or that does not hold a valid key: silently
    replacing it would make every sealed secret unreadable.
    """
    file = Path(path)
    if not file.exists():
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = Fernet.generate_key()
        try:
            fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it meanwhile: use theirs
            return load_or_create_secret(file)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
            f.flush()
            os.fsync(f.fileno())
        return key
    mode = stat.S_IMODE(file.stat().st_mode)
    if mode & 0o077:
        raise SealError(
            f"the manager secret {file} can be read by other users (mode {mode:o}); "
            f"run `chmod 600 {file}`"
        )
    key = file.read_bytes().strip()
    try:
        Fernet(key)
    except ValueError:
        raise SealError(f"the manager secret {file} is not a valid key") from None
    return key


def seal(plaintext: str, key: bytes) -> str:
    """Encrypt ``plaintext`` with the manager secret; the token is ASCII, safe for a DB column."""
    return Fernet(key).encrypt(plaintext.encode("utf-8")).decode("ascii")


def unseal(token: str, key: bytes) -> str:
    """Decrypt a token made by ``seal`` with the same key."""
    try:
        return Fernet(key).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise SealError(
            "a stored secret cannot be decrypted: the manager secret key is not the one it "
            "was sealed with, or the stored value is corrupt"
        ) from None
