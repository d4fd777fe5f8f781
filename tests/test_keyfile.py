"""The node's key file (lazooz.keyfile): format, permissions, never overwriting a key."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lazooz import keyfile
from protocol.errors import ConfigError
from tests.strategies import ALICE, BOB

#: ALICE's key file, byte for byte as the module docstring documents it.
ALICE_FILE = b"lazooz-ed25519-seed-v1\n" + b"01" * 32 + b"\n"


def _config_error(path: Path) -> str:
    """The message of the ``ConfigError`` that loading ``path`` raises; it must name ``path``."""
    with pytest.raises(ConfigError) as caught:
        keyfile.load(path)
    message = str(caught.value)
    assert message.startswith(f"key file={str(path)!r}: "), message
    return message


def _write(path: Path, data: bytes, mode: int = 0o600) -> Path:
    path.write_bytes(data)
    path.chmod(mode)
    return path


# -- saving


def test_saved_key_file_is_exactly_the_documented_88_bytes(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    keyfile.save(path, ALICE)
    assert path.read_bytes() == ALICE_FILE
    assert keyfile.FILE_BYTES == len(ALICE_FILE) == 88


def test_saved_key_file_is_a_regular_file_of_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    keyfile.save(path, ALICE)
    mode = path.lstat().st_mode
    assert stat.S_ISREG(mode)
    assert stat.S_IMODE(mode) == 0o600


def test_saved_key_file_is_mode_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o277)  # would leave 0400 from a plain open(..., 0o600)
    try:
        keyfile.save(tmp_path / "node.key", ALICE)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "node.key").stat().st_mode) == 0o600


def test_save_creates_missing_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "node.key"
    keyfile.save(path, ALICE)
    assert keyfile.load(path).public_key == ALICE.public_key


def test_save_leaves_only_the_key_file_in_its_directory(tmp_path: Path) -> None:
    keyfile.save(tmp_path / "node.key", ALICE)
    assert [p.name for p in tmp_path.iterdir()] == ["node.key"]


def test_save_never_overwrites_an_existing_key(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    keyfile.save(path, ALICE)
    with pytest.raises(ConfigError) as caught:
        keyfile.save(path, BOB)
    assert str(caught.value) == (
        f"key file={str(path)!r}: already exists; refusing to overwrite a key (move it away first)"
    )
    assert path.read_bytes() == ALICE_FILE


def test_save_never_overwrites_a_file_that_is_not_a_key(tmp_path: Path) -> None:
    path = _write(tmp_path / "node.key", b"notes", mode=0o644)
    with pytest.raises(ConfigError, match="already exists"):
        keyfile.save(path, ALICE)
    assert path.read_bytes() == b"notes"


def test_save_does_not_write_through_a_dangling_symlink(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.key"
    (tmp_path / "node.key").symlink_to(target)
    with pytest.raises(ConfigError, match="already exists"):
        keyfile.save(tmp_path / "node.key", ALICE)
    assert not target.exists()


def test_key_that_appears_during_save_is_not_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another process wins the race between the existence check and the link.
    path = tmp_path / "node.key"
    real_link = os.link

    def link_after_rival(src: str | Path, dst: str | Path) -> None:
        _write(path, keyfile.encode(BOB))
        real_link(src, dst)

    monkeypatch.setattr(os, "link", link_after_rival)
    with pytest.raises(ConfigError, match="already exists"):
        keyfile.save(path, ALICE)
    assert path.read_bytes() == keyfile.encode(BOB)
    assert [p.name for p in tmp_path.iterdir()] == ["node.key"]


@pytest.mark.parametrize("failing", ["write", "fsync", "link"])
def test_failed_save_leaves_no_file_behind_and_names_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    def fail(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, fail)
    path = tmp_path / "node.key"
    with pytest.raises(ConfigError) as caught:
        keyfile.save(path, ALICE)
    monkeypatch.undo()
    assert str(caught.value) == f"key file={str(path)!r}: cannot write: No space left on device"
    assert list(tmp_path.iterdir()) == []


def test_short_writes_are_continued_until_the_whole_key_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write

    def one_byte_at_a_time(fd: int, data: bytes) -> int:
        return real_write(fd, bytes(data[:1]))

    monkeypatch.setattr(os, "write", one_byte_at_a_time)
    keyfile.save(tmp_path / "node.key", ALICE)
    monkeypatch.undo()
    assert (tmp_path / "node.key").read_bytes() == ALICE_FILE


def test_save_where_a_file_blocks_the_directory_says_so(tmp_path: Path) -> None:
    (tmp_path / "etc").write_bytes(b"")
    path = tmp_path / "etc" / "node.key"
    with pytest.raises(ConfigError) as caught:
        keyfile.save(path, ALICE)
    assert str(caught.value).startswith(f"key file={str(path)!r}: cannot create its directory")


# -- loading


def test_saved_key_loads_as_the_same_identity(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    identity = keyfile.generate()
    keyfile.save(path, identity)
    loaded = keyfile.load(path)
    assert loaded.seed == identity.seed
    assert loaded.member_id == identity.member_id


def test_hand_written_key_file_loads(tmp_path: Path) -> None:
    loaded = keyfile.load(_write(tmp_path / "node.key", ALICE_FILE))
    assert loaded.public_key == ALICE.public_key


def test_missing_key_file_is_a_config_error_saying_what_to_do(tmp_path: Path) -> None:
    assert _config_error(tmp_path / "node.key").endswith(
        "does not exist: create one with `load_or_create`, or restore your backup"
    )


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o606, 0o700 | 0o020])
def test_key_file_that_group_or_others_can_access_is_refused(tmp_path: Path, mode: int) -> None:
    path = _write(tmp_path / "node.key", ALICE_FILE, mode=mode)
    assert _config_error(path).endswith(
        f"mode {mode:04o} gives group or others access; run `chmod 600 {path}`"
    )


def test_read_only_key_file_is_accepted(tmp_path: Path) -> None:
    path = _write(tmp_path / "node.key", ALICE_FILE, mode=0o400)
    assert keyfile.load(path).public_key == ALICE.public_key


def test_symlink_to_a_key_file_is_refused(tmp_path: Path) -> None:
    target = _write(tmp_path / "real.key", ALICE_FILE)
    link = tmp_path / "node.key"
    link.symlink_to(target)
    assert _config_error(link).endswith("is a symbolic link; give the path of the key file itself")


def test_directory_is_not_a_key_file(tmp_path: Path) -> None:
    (tmp_path / "node.key").mkdir(mode=0o700)
    assert _config_error(tmp_path / "node.key").endswith("is not a regular file")


def test_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    os.mkfifo(path, 0o600)
    assert _config_error(path).endswith("is not a regular file")


@pytest.mark.parametrize(
    ("what", "data"),
    [
        ("empty", b""),
        ("no final newline", ALICE_FILE[:-1]),
        ("an extra byte", ALICE_FILE + b"\n"),
        ("CRLF line ends", ALICE_FILE.replace(b"\n", b"\r\n")),
        ("only the seed", b"01" * 32 + b"\n"),
    ],
)
def test_key_file_of_the_wrong_length_is_refused_naming_its_size(
    tmp_path: Path, what: str, data: bytes
) -> None:
    path = _write(tmp_path / "node.key", data)
    assert _config_error(path).endswith(
        f"is {len(data)} bytes, a key file is 88: restore it from your backup"
    )


def test_oversized_key_file_is_refused_naming_its_real_size(tmp_path: Path) -> None:
    path = _write(tmp_path / "node.key", ALICE_FILE * 100)
    assert _config_error(path).endswith(
        "is 8800 bytes, a key file is 88: restore it from your backup"
    )


def test_key_file_with_another_header_is_refused_naming_the_expected_one(tmp_path: Path) -> None:
    path = _write(tmp_path / "node.key", ALICE_FILE.replace(b"-v1", b"-v2"))
    assert _config_error(path).endswith("does not start with 'lazooz-ed25519-seed-v1'")


def test_key_file_without_its_final_newline_is_refused(tmp_path: Path) -> None:
    # Right length and header, but the last byte is a digit, not "\n".
    path = _write(tmp_path / "node.key", ALICE_FILE[:-1] + b"0")
    assert _config_error(path).endswith("does not end with a newline")


@pytest.mark.parametrize(
    ("what", "seed"),
    [
        ("upper-case hex", b"AB" * 32),
        ("not hex", b"zz" * 32),
        ("a space", b"01" * 31 + b" 1"),
        ("a sign", b"-1" + b"01" * 31),
    ],
)
def test_key_file_whose_seed_is_not_lowercase_hex_is_refused(
    tmp_path: Path, what: str, seed: bytes
) -> None:
    path = _write(tmp_path / "node.key", keyfile.HEADER + seed + b"\n")
    assert _config_error(path).endswith("seed is not lowercase hex")


# -- load_or_create


def test_load_or_create_creates_a_key_once_then_loads_the_same_identity(tmp_path: Path) -> None:
    path = tmp_path / "state" / "node.key"
    created = keyfile.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == keyfile.encode(created)
    again = keyfile.load_or_create(path)
    assert again.seed == created.seed


def test_load_or_create_gives_new_members_different_identities(tmp_path: Path) -> None:
    a = keyfile.load_or_create(tmp_path / "a.key")
    b = keyfile.load_or_create(tmp_path / "b.key")
    assert a.public_key != b.public_key


def test_load_or_create_refuses_an_exposed_key_instead_of_replacing_it(tmp_path: Path) -> None:
    path = _write(tmp_path / "node.key", ALICE_FILE, mode=0o644)
    with pytest.raises(ConfigError, match="gives group or others access"):
        keyfile.load_or_create(path)
    assert path.read_bytes() == ALICE_FILE


def test_load_or_create_refuses_a_dangling_symlink_instead_of_creating_through_it(
    tmp_path: Path,
) -> None:
    target = tmp_path / "elsewhere.key"
    (tmp_path / "node.key").symlink_to(target)
    with pytest.raises(ConfigError, match="is a symbolic link"):
        keyfile.load_or_create(tmp_path / "node.key")
    assert not target.exists()


def test_load_or_create_that_loses_a_race_uses_the_winners_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "node.key"
    real_link = os.link

    def link_after_rival(src: str | Path, dst: str | Path) -> None:
        _write(path, keyfile.encode(BOB))
        real_link(src, dst)

    monkeypatch.setattr(os, "link", link_after_rival)
    identity = keyfile.load_or_create(path)
    assert identity.public_key == BOB.public_key
    assert [p.name for p in tmp_path.iterdir()] == ["node.key"]


def test_generated_identities_are_distinct_32_byte_seeds() -> None:
    seeds = {keyfile.generate().seed for _ in range(8)}
    assert len(seeds) == 8
    assert {len(s) for s in seeds} == {32}
