"""Atomic file writes: a file appears complete, or not at all.

A task whose asset is ``Asset(path, path.is_file)`` is ready as soon as the file exists, and a
file exists as soon as someone starts writing it. :func:`atomic` gives the writer a temporary
name in the same directory and moves the finished file into place with one ``os.replace``,
which is atomic within a file system: a reader (or the next run) sees the old file or the new
one, never a half-written one.

Before the rename the data is flushed to disk (``fsync``), so after a power loss the new name
never points at missing data; on POSIX the directory is flushed after the rename, so the rename
itself is durable once the ``with`` block is left.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Directory fsync is not supported everywhere (some network and FUSE file systems); there the
# rename is as durable as the file system makes it, and we do not fail a finished write for it.
_DIR_FSYNC_UNSUPPORTED = {errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF}


@contextmanager
def atomic(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Write ``path`` atomically through the temporary path this yields.

    The temporary file is created empty (with the permissions a new file gets from the umask)
    next to ``path``, whose missing parent directories are created. If the block succeeds the
    temporary file is flushed to disk and renamed over ``path``; if it raises, the temporary
    file is removed, ``path`` is left as it was, and the exception propagates.

    Example:
        >>> with atomic(out) as partial:  # doctest: +SKIP
        ...     partial.write_text(render())
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = _reserve(target)
    try:
        yield partial
        _fsync_file(partial)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def _reserve(target: Path) -> Path:
    """Create a new, empty file with a unique hidden name next to ``target``."""
    while True:
        partial = target.with_name(f".{target.name}.{os.urandom(4).hex()}.partial")
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - 32 random bits make this rare
            continue
        os.close(fd)
        return partial


def _fsync_file(path: Path) -> None:
    # Windows needs a writable descriptor to flush; POSIX does not (and the user may have
    # made the file read-only).
    fd = os.open(path, os.O_RDONLY if os.name == "posix" else os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _DIR_FSYNC_UNSUPPORTED:
            raise
    finally:
        os.close(fd)
