"""One lock per library folder, across threads and processes; files written under unique temporary names.

`FolderLock.hold()` takes a re-entrant thread lock and, for the outermost holder in this process, an
exclusive `flock` on `FOLDER/.lock` (the file beside index.json), so two `mogents library add` processes,
or a CLI add beside a server add, change the library one at a time. The lock is released when the holder
leaves (or dies: the kernel drops a dead process's flock). Windows has no flock; `msvcrt.locking` on the
lock file's first byte stands in.

`write_atomic` writes through a temporary file with a unique name in the target's folder, fsyncs it and
`os.replace`s it over the target, so a reader sees the old file or the new one, never a mix, and two
writers never share a temporary file.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".lock"


def lock_fd(fd: int, wait: bool = True) -> bool:
    """Lock an open file exclusively (against other processes and other open files); with `wait=False`
    return False at once when someone else holds it."""
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    import msvcrt

    while True:  # msvcrt has no waiting lock that waits for ever: poll
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            if not wait:
                return False
            time.sleep(0.05)


def unlock_fd(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return
    import msvcrt

    os.lseek(fd, 0, os.SEEK_SET)
    msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


class FolderLock:
    def __init__(self, folder: Path):
        self.folder = folder
        self._thread_lock = threading.RLock()
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        return self.folder / LOCK_FILE

    def _open(self, create: bool) -> int | None:
        if create:
            self.folder.mkdir(parents=True, exist_ok=True)
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except FileNotFoundError:
            return None  # no folder yet: nothing on disk to protect while reading
        except PermissionError:
            if create:
                raise
            try:  # a library in a read-only place: lock it for reading if its lock file is there
                return os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            except OSError:
                return None

    @contextmanager
    def hold(self, create: bool = False) -> Iterator[None]:
        """Hold the lock; `create` makes the folder first (changes), else a missing folder is not locked."""
        with self._thread_lock:
            taken = False
            if self._fd is None:
                fd = self._open(create)
                if fd is not None:
                    try:
                        lock_fd(fd)
                    except BaseException:
                        os.close(fd)
                        raise
                    self._fd, taken = fd, True
            try:
                yield
            finally:
                if taken and self._fd is not None:
                    fd, self._fd = self._fd, None
                    try:
                        unlock_fd(fd)
                    finally:
                        os.close(fd)


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """`write(tmp)` to a uniquely named temporary file beside `path`, fsync it, then replace `path` with it."""
    while True:  # O_EXCL: the name is this writer's alone (unlike mkstemp, the umask decides the mode)
        tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(6)}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
