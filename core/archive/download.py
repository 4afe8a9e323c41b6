"""Archive files into a folder: a cut download resumes where it stopped (HTTP Range), a file takes its name only
once its size and MD5 checksum match what the archive lists (a mismatch deletes it), a file already there is
skipped, and a cancel stops within a moment, keeping what was fetched for the next run (`<name>.part`)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Cancelled
from ..hooks import RunHooks, as_hooks
from ..io.writing import check_free_space, create_folder, output_error
from .blocking import POLL_SECONDS, call_cancellable, cancellable
from .errors import AccessDenied

CHUNK_BYTES = 1 << 16
HASH_CHUNK_BYTES = 1 << 20
TIMEOUT_SECONDS = (20, 60)  # connect, and each read: a server silent for a minute counts as a cut
MAX_CUTS = 5  # cuts in a row with nothing received before a file is given up
PART_SUFFIX = ".part"
REFUSED = (401, 403, 407)
LOG_EVERY_SECONDS = 10.0


@dataclass(frozen=True)
class RemoteFile:
    url: str
    name: str  # the file's name in the folder
    size: int | None = None  # bytes, as the archive lists it
    md5: str | None = None


@dataclass
class DownloadResult:
    downloaded: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)  # there already
    failed: list[str] = field(default_factory=list)  # one message per file


class _FileFailed(Exception):
    """One file cannot be fetched; the others go on."""


class _Cut(Exception):
    """The connection broke off; `received` bytes came before it."""

    def __init__(self, reason, received: int):
        super().__init__(str(reason))
        self.received = received


def download_files(files: Sequence[RemoteFile], folder: str | os.PathLike, session, hooks: RunHooks | None = None,
                   refused_hint: str = "") -> DownloadResult:
    """Fetch the files into `folder` with a requests session (asf.open_session's). A refusal (HTTP 401, 403)
    stops the run with AccessDenied, its message ending with `refused_hint` (which credentials to set); any other
    failure is kept in the result and the next file goes on."""
    hooks = as_hooks(hooks)
    folder = Path(folder)
    create_folder(folder, "the scene folder")
    result, todo = DownloadResult(), []
    for file in {file.name: file for file in files}.values():
        if not file.name or Path(file.name).name != file.name or file.name in (".", ".."):
            result.failed.append(f"'{file.name}' is not a file name; the scene's file_name or url is wrong.")
            continue
        target = folder / file.name
        if target.is_file():
            have = target.stat().st_size
            if file.size is None or have == file.size:
                hooks.log(f"{file.name}: there already ({_megabytes(have)}), skipped.")
                result.skipped.append(target)
                continue
            hooks.log(f"{file.name} is there with {have} bytes, but the archive lists {file.size}: fetching the "
                      "rest.")
            os.replace(target, _part(target))
        todo.append(file)
    progress = _Progress(todo, hooks)
    for index, file in enumerate(todo, 1):
        if hooks.cancel():
            raise Cancelled(f"Download cancelled; {len(result.downloaded)} file(s) fetched, the others are fetched "
                            "when you run again.")
        hooks.log(f"[{index}/{len(todo)}] {file.name}" + (f" ({_megabytes(file.size)})" if file.size else ""))
        if file.size:  # what a cut download left counts as fetched
            part = _part(folder / file.name)
            check_free_space(part, file.size - (part.stat().st_size if part.exists() else 0), file.name)
        try:
            result.downloaded.append(_fetch(file, folder / file.name, session, hooks, progress, refused_hint))
        except _FileFailed as failure:
            result.failed.append(str(failure))
            hooks.warning(str(failure))
        progress.file_done(file)
    hooks.progress(100)
    return result


def _fetch(file: RemoteFile, target: Path, session, hooks: RunHooks, progress: _Progress, refused_hint: str) -> Path:
    part = _part(target)
    cuts, started = 0, time.monotonic()
    first_offset = part.stat().st_size if part.exists() else 0
    while True:
        offset = part.stat().st_size if part.exists() else 0
        if file.size is not None and offset >= file.size:
            if offset == file.size:
                break
            hooks.log(f"{file.name}: the part kept is longer than the archive's file: starting again.")
            part.unlink()
            offset = 0
        try:
            _transfer(file, part, offset, session, hooks, progress, refused_hint)
        except _Cut as cut:
            cuts = 0 if cut.received else cuts + 1
            if cuts >= MAX_CUTS:
                raise _FileFailed(f"{file.name}: the connection failed {MAX_CUTS} times in a row ({cut}); what came "
                                  f"is kept in {part.name}. Run again to resume it.") from None
            wait = min(2.0 ** cuts, 30.0)
            hooks.log(f"{file.name}: the connection broke off ({cut}); resuming in {wait:.0f} s.")
            _sleep(wait, hooks, f"Download cancelled; what came of {file.name} is kept and resumes when you run again.")
            continue
        break
    _verify(file, part, hooks)
    os.replace(part, target)
    seconds = max(time.monotonic() - started, 1e-3)
    fetched = target.stat().st_size - first_offset
    hooks.log(f"{file.name}: done, {_megabytes(fetched)} in {seconds:.0f} s ({fetched / seconds / 1e6:.1f} MB/s)"
              + (", MD5 checked." if file.md5 else ", size checked." if file.size else "."))
    return target


def _transfer(file: RemoteFile, part: Path, offset: int, session, hooks: RunHooks, progress: _Progress,
              refused_hint: str) -> None:
    """One request for the file from `offset` on, appended to the part file. Raises _Cut when the connection
    breaks, _FileFailed when the archive answers with an error."""
    import requests

    cancelled = f"Download cancelled; what came of {file.name} is kept and resumes when you run again."
    headers = {"Accept-Encoding": "identity"}  # byte offsets of the file itself, not of a compressed stream
    if offset:
        headers["Range"] = f"bytes={offset}-"
        hooks.log(f"{file.name}: resuming at {_megabytes(offset)}.")
    broken = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
    try:
        response = call_cancellable(lambda: session.get(file.url, headers=headers, stream=True,
                                                        timeout=TIMEOUT_SECONDS), hooks.cancel, cancelled)
    except broken as error:
        raise _Cut(error, 0) from None
    try:
        _receive(response, file, part, offset, hooks, progress, refused_hint, cancelled, broken)
    except Cancelled:
        raise  # left open: the reader thread may be in a read that holds the connection; it closes when that ends
    except BaseException:
        response.close()
        raise
    response.close()


def _receive(response, file: RemoteFile, part: Path, offset: int, hooks: RunHooks, progress: _Progress,
             refused_hint: str, cancelled: str, broken: tuple) -> None:
    status = response.status_code
    if status in REFUSED:
        raise AccessDenied(f"The archive refused the download of {file.name} (HTTP {status}). {refused_hint}".strip())
    if status == 416 and offset:
        if file.size is None:
            return  # the part holds the whole file already
        part.unlink()
        raise _FileFailed(f"{file.name}: the server cannot resume at {offset} bytes (HTTP 416) although the archive "
                          f"lists {file.size}; the part was deleted. Run again to download it afresh.")
    if status >= 400:
        raise _FileFailed(f"{file.name}: the archive answered HTTP {status} {response.reason}.")
    resumed = status == 206 and response.headers.get("Content-Range", "").startswith(f"bytes {offset}-")
    if offset and not resumed:
        hooks.log(f"{file.name}: the server sent the whole file, not the rest: starting again.")
        offset = 0
    length = response.headers.get("Content-Length")
    received = 0
    with _written(part, file.name), open(part, "ab" if offset else "wb") as out:
        try:
            for chunk in cancellable(response.iter_content(CHUNK_BYTES), hooks.cancel, cancelled):
                with _written(part, file.name):
                    out.write(chunk)
                received += len(chunk)
                progress.at(file, offset + received)
        except broken as error:
            raise _Cut(error, received) from None
    if length is not None and received < int(length):
        raise _Cut(f"{received} of {length} bytes came", received)


@contextlib.contextmanager
def _written(part: Path, name: str):
    """A failed write to the part (a full disk) in plain words; what was written stays, for the next run."""
    import requests

    try:
        yield
    except OSError as error:
        if isinstance(error, requests.RequestException):  # requests' errors are OSErrors too: not a write
            raise
        raise output_error(part, error, name) from None


def _verify(file: RemoteFile, part: Path, hooks: RunHooks) -> None:
    size = part.stat().st_size
    if file.size is not None and size != file.size:
        part.unlink()
        raise _FileFailed(f"{file.name}: {size} bytes came, the archive lists {file.size}; the file was deleted. "
                          "Run again to download it afresh.")
    if not file.md5:
        return
    digest = hashlib.md5(usedforsecurity=False)
    with open(part, "rb") as handle:
        while block := handle.read(HASH_CHUNK_BYTES):
            if hooks.cancel():
                raise Cancelled(f"Cancelled while checking {file.name}; it is kept as {part.name} and checked when "
                                "you run again.")
            digest.update(block)
    if digest.hexdigest().lower() != file.md5.strip().lower():
        part.unlink()
        raise _FileFailed(f"{file.name}: its MD5 checksum {digest.hexdigest()} is not the archive's {file.md5}: it "
                          "was damaged on the way and was deleted. Run again to download it afresh.")


class _Progress:
    """The run's progress: by bytes when every size is known, else by files."""

    def __init__(self, files: Sequence[RemoteFile], hooks: RunHooks):
        self.hooks = hooks
        self.by_bytes = all(file.size for file in files)
        self.total = max(sum(file.size for file in files) if self.by_bytes else len(files), 1)
        self.done = 0
        self.logged = time.monotonic()

    def at(self, file: RemoteFile, offset: int) -> None:
        share = offset if self.by_bytes else (min(offset / file.size, 1.0) if file.size else 0.0)
        self.hooks.progress(100.0 * min((self.done + share) / self.total, 1.0))
        if time.monotonic() - self.logged >= LOG_EVERY_SECONDS:
            self.logged = time.monotonic()
            self.hooks.log(f"{file.name}: {_megabytes(offset)}" + (f" of {_megabytes(file.size)}" if file.size else ""))

    def file_done(self, file: RemoteFile) -> None:
        self.done += file.size if self.by_bytes else 1


def _part(target: Path) -> Path:
    return target.with_name(target.name + PART_SUFFIX)


def _sleep(seconds: float, hooks: RunHooks, message: str) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if hooks.cancel():
            raise Cancelled(message)
        time.sleep(POLL_SECONDS)


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"
