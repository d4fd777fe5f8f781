"""The control API's files in a node's data directory: the token and where the API listens.

- ``control.token`` (0600): the bearer token, 32 random bytes in URL-safe
  base64, written once by ``lazooz init`` or the daemon's first start
  (``load_or_create_token``) and kept across restarts, so a CLI or browser
  session survives them.
- ``control.json``: ``{"url", "host", "port", "pid"}`` of the API while it is
  served, written by ``server.serve`` once the socket is bound (the port may
  be 0 in the configuration) and removed when it stops; the CLI reads it.

Light on imports on purpose: the CLI reads these before every call.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import json
import os
import stat
from dataclasses import asdict, dataclass
from pathlib import Path

from protocol.errors import ConfigError, describe

TOKEN_FILE = "control.token"
CONTROL_FILE = "control.json"
_TOKEN_BYTES = 32
_MODE = 0o600


# -- the token


def new_token() -> str:
    return base64.urlsafe_b64encode(os.urandom(_TOKEN_BYTES)).rstrip(b"=").decode("ascii")


def load_or_create_token(data_dir: Path) -> str:
    """The token in ``data_dir/control.token``, writing a new one (0600) on first use."""
    path = data_dir / TOKEN_FILE
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, _MODE)
    except FileExistsError:
        return read_token(data_dir)
    except OSError as exc:
        raise ConfigError(
            describe("token file", str(path), f"cannot create: {exc.strerror}")
        ) from None
    token = new_token()
    try:
        os.fchmod(fd, _MODE)  # whatever the umask took off
        os.write(fd, (token + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return token


def read_token(data_dir: Path) -> str:
    """The token in ``data_dir/control.token``; refused if others may read it."""
    path = data_dir / TOKEN_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise ConfigError(
            describe(
                "token file", str(path), "does not exist: run `lazooz init` or start the daemon"
            )
        ) from None
    except OSError as exc:
        why = "is a symbolic link" if exc.errno == errno.ELOOP else f"cannot open: {exc.strerror}"
        raise ConfigError(describe("token file", str(path), why)) from None
    try:
        st = os.fstat(fd)
        if st.st_mode & 0o077:
            raise ConfigError(
                describe(
                    "token file",
                    str(path),
                    f"mode {stat.S_IMODE(st.st_mode):04o} gives group or others access; "
                    f"run `chmod 600 {path}`",
                )
            )
        text = os.read(fd, 1024).decode("ascii", "replace").strip()
    finally:
        os.close(fd)
    if len(text) < 16 or not text.isprintable() or " " in text:
        raise ConfigError(describe("token file", str(path), "does not hold a token"))
    return text


# -- where the API is


@dataclass(frozen=True, slots=True)
class ControlInfo:
    """What ``control.json`` holds while the API is served."""

    url: str
    host: str
    port: int
    pid: int

    @classmethod
    def read(cls, data_dir: Path) -> ControlInfo:
        """The ``control.json`` in ``data_dir``; ``OSError``/``ValueError`` if absent or torn."""
        data = json.loads((data_dir / CONTROL_FILE).read_text("utf-8"))
        return cls(str(data["url"]), str(data["host"]), int(data["port"]), int(data["pid"]))

    def write(self, data_dir: Path) -> None:
        path = data_dir / CONTROL_FILE
        tmp = path.with_name(f".{CONTROL_FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n", "utf-8")
        os.replace(tmp, path)  # readers see the old file or the whole new one


def remove_control_file(data_dir: Path) -> None:
    """Remove ``control.json`` if this process wrote it."""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        if ControlInfo.read(data_dir).pid == os.getpid():
            (data_dir / CONTROL_FILE).unlink()
