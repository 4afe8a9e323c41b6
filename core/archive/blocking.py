"""Calls that may block on the network, made cancellable: a search page or a download chunk is read in a thread,
so a cancel is seen within a fraction of a second even while the server sends nothing."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from ..errors import Cancelled

T = TypeVar("T")
POLL_SECONDS = 0.1
_END = object()


def cancellable(items: Iterable[T], cancel: Callable[[], bool], message: str) -> Iterator[T]:
    """The items of a lazy iterable (a generator: it starts in the reader thread), in order; its errors are raised
    here. Raises Cancelled(message) within POLL_SECONDS of `cancel()` turning true; the reader thread is left to
    end with its own time-out."""
    slots: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                slots.put(entry, timeout=POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((_END, None))
        except BaseException as error:  # noqa: B036 (handed to the caller's thread, which raises it)
            put((_END, error))

    threading.Thread(target=read, name="archive-reader", daemon=True).start()
    try:
        while True:
            if cancel():
                raise Cancelled(message)
            try:
                item, error = slots.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if item is _END:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()


def call_cancellable(function: Callable[[], T], cancel: Callable[[], bool], message: str) -> T:
    """function() run in a thread; Cancelled(message) as soon as the user cancels."""

    def once():
        yield function()

    [value] = cancellable(once(), cancel, message)
    return value
