"""A node's identity key on disk: the shell side of ``protocol.identity``.

File format (version 1), exactly 88 bytes of ASCII::

    lazooz-ed25519-seed-v1\\n
    <64 lowercase hex digits: the 32-byte Ed25519 seed>\\n

The seed is the whole secret: the public key and member id derive from it.
The file must be a regular file that only its owner can read or write (mode
0600, as ``ssh`` demands of private keys). A key is written once and never
overwritten: losing it loses the member's identity and its ledger history.
POSIX only.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from protocol.errors import ConfigError, describe
from protocol.identity import SEED_BYTES, Identity

HEADER = b"lazooz-ed25519-seed-v1\n"
FILE_BYTES = len(HEADER) + 2 * SEED_BYTES + 1
_MODE = 0o600


def generate() -> Identity:
    """A new identity from 32 bytes of the operating system's CSPRNG."""
    return Identity.from_seed(os.urandom(SEED_BYTES))


def encode(identity: Identity) -> bytes:
    """The key file's bytes for ``identity``."""
    return HEADER + identity.seed.hex().encode("ascii") + b"\n"


def decode(data: bytes, path: Path) -> Identity:
    """The identity in a key file's bytes; errors name ``path``."""
    if len(data) != FILE_BYTES:
        raise ConfigError(
            describe(
                "key file",
                str(path),
                f"is {len(data)} bytes, a key file is {FILE_BYTES}: restore it from your backup",
            )
        )
    if not data.startswith(HEADER) or not data.endswith(b"\n"):
        raise ConfigError(
            describe("key file", str(path), f"does not start with {HEADER.decode().strip()!r}")
        )
    digits = data[len(HEADER) : -1]
    if not all(c in b"0123456789abcdef" for c in digits):
        raise ConfigError(describe("key file", str(path), "seed is not lowercase hex"))
    return Identity.from_seed(bytes.fromhex(digits.decode("ascii")))


def save(path: Path, identity: Identity) -> None:
    """Write ``identity`` to a new key file at ``path``, mode 0600, atomically.

    The key goes to a temporary file beside ``path`` (created 0600, so the
    secret is never readable by others even for a moment), is fsynced, and is
    then hard-linked into place: unlike a rename, the link fails if a key
    appeared at ``path`` meanwhile, so no existing key is ever replaced.
    """
    try:
        _write_new(path, encode(identity))
    except FileExistsError:
        raise ConfigError(
            describe(
                "key file",
                str(path),
                "already exists; refusing to overwrite a key (move it away first)",
            )
        ) from None
    except OSError as exc:
        raise ConfigError(
            describe("key file", str(path), f"cannot write: {exc.strerror}")
        ) from None


def load(path: Path) -> Identity:
    """The identity stored at ``path``; ``ConfigError`` if missing, exposed or malformed."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise ConfigError(
            describe(
                "key file",
                str(path),
                "does not exist: create one with `load_or_create`, or restore your backup",
            )
        ) from None
    except OSError as exc:
        raise ConfigError(describe("key file", str(path), f"cannot open: {exc.strerror}")) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(describe("key file", str(path), "is not a regular file"))
        if st.st_mode & 0o077:
            raise ConfigError(
                describe(
                    "key file",
                    str(path),
                    f"mode {stat.S_IMODE(st.st_mode):04o} gives group or others access; "
                    f"run `chmod 600 {path}`",
                )
            )
        data = os.read(fd, FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(describe("key file", str(path), f"cannot read: {exc.strerror}")) from None
    finally:
        os.close(fd)
    return decode(data, path)


def load_or_create(path: Path) -> Identity:
    """The identity at ``path``, creating a new one there on first use."""
    if path.exists() or path.is_symlink():
        return load(path)
    identity = generate()
    try:
        _write_new(path, encode(identity))
    except FileExistsError:
        # Another process created the key first; theirs is the one to use.
        return load(path)
    except OSError as exc:
        raise ConfigError(
            describe("key file", str(path), f"cannot write: {exc.strerror}")
        ) from None
    return identity


def _write_new(path: Path, data: bytes) -> None:
    """Create ``path`` holding ``data`` durably, or raise ``FileExistsError``."""
    if path.exists() or path.is_symlink():
        raise FileExistsError(errno.EEXIST, "File exists", str(path))
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, _MODE)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    # Makes the new directory entry itself durable, not only the file's bytes.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
