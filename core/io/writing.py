"""Writing files without leaving broken ones: the one place that says in plain words why a write failed (no space
left, a read-only drive, no permission, a path too long ...) and what to do, checks the free space before a write
whose size is known, and writes under a temporary name beside the target, renamed over it only when complete.

A failed write removes what it created and never touches the file that was there before.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from ..errors import CoastlineError, OutputError

# Below this much free space an unexplained write failure (SQLite's bare "disk I/O error", GDAL's empty message)
# is taken for a full disk.
LOW_SPACE_BYTES = 1 << 20
MAX_DETAIL_CHARS = 160

NO_SPACE, QUOTA, READ_ONLY, PERMISSION, TOO_LONG, NO_FOLDER, IO_ERROR, BUSY = (
    "no_space", "quota", "read_only", "permission", "too_long", "no_folder", "io_error", "busy")

# (cause, errno values, words of the messages the OS, GDAL, SQLite or safetensors give for it); first match wins.
CAUSES = (
    (NO_SPACE, (errno.ENOSPC,), ("no space left", "database or disk is full", "disk full", "disk is full",
                                 "not enough space", "free disk space available is")),
    (QUOTA, (errno.EDQUOT,), ("quota exceeded",)),
    (READ_ONLY, (errno.EROFS,), ("read-only file system", "readonly database", "read only database")),
    (PERMISSION, (errno.EACCES, errno.EPERM), ("permission denied", "access is denied", "operation not permitted")),
    (TOO_LONG, (errno.ENAMETOOLONG,), ("file name too long", "filename too long")),
    (IO_ERROR, (errno.EIO,), ("disk i/o error", "input/output error")),
    (BUSY, (errno.EBUSY, errno.ETXTBSY), ("database is locked", "used by another process", "resource busy")),
)


def file_size_text(size: float) -> str:
    """1536 -> '1.5 KB': sizes as a user reads them."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def existing_folder(path: str | os.PathLike) -> Path:
    """The nearest folder of `path` that exists: where the disk's free space is asked."""
    folder = Path(os.path.abspath(os.fspath(path))).parent
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    return folder


def free_bytes(path: str | os.PathLike) -> int | None:
    """Free space on the disk that would hold `path`, or None when it cannot be asked."""
    try:
        return shutil.disk_usage(existing_folder(path)).free
    except OSError:
        return None


def failure_cause(error: BaseException | str, path: str | os.PathLike, needed_bytes: int = 0) -> str | None:
    """Which of CAUSES made a write of `path` fail: from the error number, else the message's words, else (an
    unexplained failure) a disk with less free space than the write needed, or nearly none. None when none fits."""
    number = getattr(error, "errno", None)
    text = str(error).lower()
    cause = next((cause for cause, numbers, fragments in CAUSES
                  if number in numbers or any(fragment in text for fragment in fragments)), None)
    if cause is None and (isinstance(error, FileNotFoundError) or "no such file or directory" in text):
        if not Path(os.path.abspath(os.fspath(path))).parent.is_dir():
            return NO_FOLDER
    if cause in (None, IO_ERROR):  # SQLite says "disk I/O error" when its journal finds no room
        free = free_bytes(path)
        if free is not None and free < max(LOW_SPACE_BYTES, needed_bytes):
            return NO_SPACE
    return cause


def _detail(error: BaseException | str) -> str:
    """The technical message, short: SQLite's failed statement is cut down to why it failed."""
    text = (error.strerror or str(error)) if isinstance(error, OSError) else str(error)
    text = " ".join(text.split())
    if ") failed: " in text:
        text = text.rsplit(") failed: ", 1)[1].rstrip(")")
    return text if len(text) <= MAX_DETAIL_CHARS else text[:MAX_DETAIL_CHARS - 3] + "..."


def failure_text(cause: str | None, path: str | os.PathLike) -> str:
    """The plain words for a cause: what happened, then what to do."""
    folder = existing_folder(path)
    free = free_bytes(path)
    texts = {
        NO_SPACE: f"there is no space left on the disk that holds '{folder}'"
                  f"{f' ({file_size_text(free)} free)' if free is not None else ''}. Free disk space or choose "
                  "another location, then run again",
        QUOTA: f"your disk quota on '{folder}' is used up. Delete files you no longer need or choose another "
               "location, then run again",
        READ_ONLY: f"'{folder}' is on a read-only drive, or the file is read-only. Choose a writable location",
        PERMISSION: f"you have no permission to write in '{folder}'. Choose a folder you can write to, or ask for "
                    "write access",
        TOO_LONG: "the path is too long for the file system. Choose a shorter file name or a folder nearer the "
                  "top of the drive",
        NO_FOLDER: f"the folder '{Path(os.path.abspath(os.fspath(path))).parent}' does not exist. Create it or "
                   "choose another location",
        IO_ERROR: f"the drive that holds '{folder}' reported an input/output error (a failing disk, an unplugged "
                  "drive or a lost network share). Check the drive, then run again",
        BUSY: "another program holds the file. Close it there (or remove the layer from the QGIS project), then "
              "run again",
    }
    return texts.get(cause, "Check that the folder exists and is writable and that the disk has room")


def _subject(path: str | os.PathLike, what: str) -> str:
    return f"{what} '{path}'" if what else f"'{path}'"


def output_error(path: str | os.PathLike, error: BaseException | str, what: str = "",
                 needed_bytes: int = 0) -> OutputError:
    """The OutputError for a failed write of `path` (`what` names it: "the quicklook"; `needed_bytes`, what it
    needed, when known): why, in plain words, what to do, and the system's own message."""
    cause = failure_cause(error, path, needed_bytes)
    detail = _detail(error)
    subject = _subject(path, what)
    if cause is None:
        return OutputError(f"Cannot write {subject}: {detail or 'the write failed'}. {failure_text(None, path)}.")
    return OutputError(f"Cannot write {subject}: {failure_text(cause, path)}."
                       + (f" (The system said: {detail}.)" if detail else ""))


def is_write_failure(error: BaseException) -> bool:
    """Whether an exception is a failed write (and not, say, a bug or a cancel): OS and GDAL errors, and any other
    whose message names a known cause (safetensors wraps the OS error in its own type)."""
    if isinstance(error, CoastlineError):
        return False
    if isinstance(error, OSError | RuntimeError):
        return True
    text = str(error).lower()
    return any(fragment in text for _cause, _numbers, fragments in CAUSES for fragment in fragments)


def check_free_space(path: str | os.PathLike, needed_bytes: int, what: str = "") -> None:
    """Refuse before writing when the disk cannot hold `needed_bytes` (a replaced file frees its space only once
    the new one is complete, so it does not count)."""
    free = free_bytes(path)
    if free is None or free >= needed_bytes:
        return
    raise OutputError(f"Cannot write {_subject(path, what)}: it needs about {file_size_text(needed_bytes)} and the "
                      f"disk that holds '{existing_folder(path)}' has {file_size_text(free)} free. Free disk space or "
                      "choose another location, then run again.")


def partial_path(path: str | os.PathLike) -> Path:
    """The temporary name a file is written under, beside it (same disk, so the final rename cannot fail for
    space), hidden."""
    path = Path(path)
    return path.with_name(f".{path.name}.partial")


def remove_quietly(path: str | os.PathLike) -> None:
    """Remove what a failed write made; one that cannot be removed (still open, on Windows) is left, as the
    failure that made it is the one to report."""
    with contextlib.suppress(OSError):
        os.remove(path)


@contextlib.contextmanager
def replace_on_success(path: str | os.PathLike, what: str = "", needed_bytes: int = 0) -> Iterator[Path]:
    """Write to the temporary path this yields; when the block ends without error it is renamed over `path`.
    On any error the temporary file is removed and `path` left as it was; write failures become OutputError."""
    path = Path(path)
    if needed_bytes:
        check_free_space(path, needed_bytes, what)
    temporary = partial_path(path)
    try:
        yield temporary
        os.replace(temporary, path)
    except Exception as error:
        remove_quietly(temporary)
        if is_write_failure(error):
            raise output_error(path, error, what) from None
        raise
    except BaseException:  # KeyboardInterrupt and the like: clean up, change nothing else
        remove_quietly(temporary)
        raise


def write_bytes(path: str | os.PathLike, data: bytes, what: str = "") -> Path:
    """Write `data` to `path` whole or not at all, after checking the disk has room for it."""
    path = Path(path)
    with replace_on_success(path, what, needed_bytes=len(data)) as temporary:
        temporary.write_bytes(data)
    return path


def create_folder(folder: str | os.PathLike, what: str = "the output folder") -> Path:
    """Make a folder (and its parents) or say plainly why it cannot be made."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise output_error(folder, error, what) from None
    return folder
