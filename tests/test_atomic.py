"""atomic(): a file appears complete or not at all."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from tasktronaut.atomic import atomic


def write(target: Path) -> None:
    with atomic(target) as partial:
        partial.write_text("x")


def write_then_fail(target: Path, error: BaseException) -> None:
    with atomic(target) as partial:
        partial.write_text("half")
        raise error


def test_success_puts_the_content_in_place(tmp_path):
    target = tmp_path / "out.txt"
    with atomic(target) as partial:
        assert partial.parent == target.parent
        assert partial != target
        partial.write_text("hello")
    assert target.read_text() == "hello"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_an_existing_file_is_replaced(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with atomic(str(target)) as partial:
        partial.write_text("new")
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_an_exception_leaves_the_original_intact_and_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("original")
    with pytest.raises(RuntimeError, match="boom"):
        write_then_fail(target, RuntimeError("boom"))
    assert target.read_text() == "original"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_an_exception_creates_nothing_when_there_was_no_file(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(KeyboardInterrupt):
        write_then_fail(target, KeyboardInterrupt())
    assert os.listdir(tmp_path) == []


def test_the_target_is_never_half_written(tmp_path):
    # Inside the block, whatever has been written so far lives under another name.
    target = tmp_path / "out.txt"
    target.write_text("old content")
    with atomic(target) as partial, partial.open("w") as f:
        f.write("first half, ")
        f.flush()
        assert target.read_text() == "old content"
        f.write("second half")
    assert target.read_text() == "first half, second half"


def test_a_new_target_does_not_exist_until_the_block_succeeds(tmp_path):
    target = tmp_path / "out.txt"
    with atomic(target) as partial:
        partial.write_text("partial")
        assert not target.exists()
    assert target.read_text() == "partial"


def test_concurrent_readers_see_whole_versions_only(tmp_path):
    # Every version is a whole file of one repeated letter; a torn read would mix letters or
    # come out short. (The test is deterministic in what it asserts, whatever the interleaving.)
    target = tmp_path / "out.txt"
    size, versions = 64 * 1024, [chr(ord("a") + i % 26) * (64 * 1024) for i in range(100)]
    target.write_text(versions[0])
    done = threading.Event()
    seen: list[str] = []

    def read() -> None:
        while not done.is_set():
            content = target.read_text()
            if len(content) != size or len(set(content)) != 1:
                seen.append(content[:20])

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for version in versions[1:]:
            with atomic(target) as partial, partial.open("w") as f:
                f.write(version[: size // 2])
                f.flush()
                f.write(version[size // 2 :])
    finally:
        done.set()
        reader.join()
    assert seen == []
    assert target.read_text() == versions[-1]


def test_missing_parent_directories_are_created(tmp_path):
    target = tmp_path / "a" / "b" / "out.txt"
    with atomic(target) as partial:
        partial.write_bytes(b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"


def test_an_unwritten_temporary_becomes_an_empty_file(tmp_path):
    target = tmp_path / "out.txt"
    with atomic(target):
        pass
    assert target.read_bytes() == b""


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_the_file_gets_the_permissions_of_a_normally_created_file(tmp_path):
    normal = tmp_path / "normal.txt"
    normal.write_text("x")
    target = tmp_path / "out.txt"
    with atomic(target) as partial:
        partial.write_text("x")
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(normal.stat().st_mode)


@pytest.mark.skipif(os.name != "posix", reason="directory fsync is POSIX only")
def test_file_and_directory_are_flushed(tmp_path, mocker):
    fsync = mocker.spy(os, "fsync")
    with atomic(tmp_path / "out.txt") as partial:
        partial.write_text("x")
    assert fsync.call_count == 2  # the temporary file before the rename, the folder after


def test_a_failed_rename_removes_the_temporary(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()
    (target / "inside").write_text("x")  # a non-empty directory cannot be replaced by a file
    with pytest.raises(OSError, match="taken"):
        write(target)
    assert sorted(os.listdir(tmp_path)) == ["taken"]
