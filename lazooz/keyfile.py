"""A node's identity key on disk: the shell side of ``protocol.identity``.

File format (version 1), exactly 88 bytes of ASCII::

    lazooz-ed25519-seed-v1\\n
    <64 lowercase hex digits: the 32-byte Ed25519 seed>\\n

The seed is the whole secret: the public key and member id derive from it.
The file must be a regular file, not a symbolic link, that only its owner can
read or write (mode 0600, as ``ssh`` demands of private keys); a link is
refused because whoever can change where it points can swap the key. A key is
written once and never overwritten: losing it loses the member's identity and
its ledger history. POSIX only.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from protocol.errors import ConfigError, describe
from protocol.identity import SEED_BYTES, Identity

#: The identity key's file name inside a node's data directory.
KEY_FILE = "identity.key"
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
        raise _wrong_size(path, len(data))
    if not data.startswith(HEADER):
        raise ConfigError(
            describe("key file", str(path), f"does not start with {HEADER.decode().strip()!r}")
        )
    if not data.endswith(b"\n"):
        raise ConfigError(describe("key file", str(path), "does not end with a newline"))
    digits = data[len(HEADER) : -1]
    if not all(c in b"0123456789abcdef" for c in digits):
        raise ConfigError(describe("key file", str(path), "seed is not lowercase hex"))
    return Identity.from_seed(bytes.fromhex(digits.decode("ascii")))


def _wrong_size(path: Path, size: int) -> ConfigError:
    return ConfigError(
        describe(
            "key file",
            str(path),
            f"is {size} bytes, a key file is {FILE_BYTES}: restore it from your backup",
        )
    )


def save(path: Path, identity: Identity) -> None:
    """Write ``identity`` to a new key file at ``path``, mode 0600, atomically.

    The key goes to a temporary file beside ``path`` (created 0600, so the
    secret is never readable by others even for a moment), is fsynced, and is
    then hard-linked into place: unlike a rename, the link fails if a key
    appeared at ``path`` meanwhile, so no existing key is ever replaced.
    """
    if not _write_new(path, encode(identity)):
        raise ConfigError(
            describe(
                "key file",
                str(path),
                "already exists; refusing to overwrite a key (move it away first)",
            )
        )


def load(path: Path) -> Identity:
    """The identity stored at ``path``; ``ConfigError`` if missing, exposed or malformed."""
    try:
        # O_NOFOLLOW: a link is refused (module docstring). O_NONBLOCK: opening a
        # FIFO would otherwise wait for a writer; fstat below then refuses it.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ConfigError(
            describe(
                "key file",
                str(path),
                "does not exist: create one with `load_or_create`, or restore your backup",
            )
        ) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ConfigError(
                describe(
                    "key file",
                    str(path),
                    "is a symbolic link; give the path of the key file itself",
                )
            ) from None
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
        if st.st_size != FILE_BYTES:
            # Checked here too so the message gives the real size, not what was read.
            raise _wrong_size(path, st.st_size)
        data = _read_at_most(fd, FILE_BYTES + 1)
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
    if not _write_new(path, encode(identity)):
        # Another process created the key first; theirs is the one to use.
        return load(path)
    return identity


def _write_new(path: Path, data: bytes) -> bool:
    """Create ``path`` holding ``data`` durably; ``False`` if ``path`` already exists.

    Any other failure is a ``ConfigError`` naming ``path``, and leaves no file behind.
    """
    if path.exists() or path.is_symlink():
        return False
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        # FileExistsError here means a *file* is in the way of the directory.
        raise ConfigError(
            describe("key file", str(path), f"cannot create its directory: {exc.strerror}")
        ) from None
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, _MODE)
        try:
            try:
                # The umask may have taken bits off _MODE; the format says 0600 exactly.
                os.fchmod(fd, _MODE)
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
    except FileExistsError:
        # Only os.link can meet an existing name: a key appeared at ``path`` meanwhile.
        return False
    except OSError as exc:
        raise ConfigError(
            describe("key file", str(path), f"cannot write: {exc.strerror}")
        ) from None
    return True


def _read_at_most(fd: int, limit: int) -> bytes:
    """Up to ``limit`` bytes from ``fd``, fewer only at end of file."""
    chunks: list[bytes] = []
    remaining = limit
    while remaining:
        chunk = os.read(fd, remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _fsync_dir(directory: Path) -> None:
    # Makes the new directory entry itself durable, not only the file's bytes.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
