"""Fan the lab's events out to every open page.

Lab-only. The watcher threads (topology poller, message tracer, story runner)
publish from plain threads; each page listens on an ``asyncio.Queue`` of the
server's event loop, so publishing hands the event over with
``call_soon_threadsafe``. The last messages are kept for a page that opens late.
"""

from __future__ import annotations

import asyncio
import collections
import threading

HISTORY = 200  # messages a newly opened page is sent first
BACKLOG = 1000  # events a slow page may fall behind before it is dropped


class Hub:
    """Thread-safe publish, asyncio subscribe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[asyncio.Queue, asyncio.AbstractEventLoop] = {}
        self.messages: collections.deque[dict] = collections.deque(maxlen=HISTORY)
        self.latest: dict[str, dict] = {}  # event type -> its last data (topology, story)

    def publish(self, kind: str, data: dict) -> None:
        """Send ``data`` as an event of type ``kind`` to every page (from any thread)."""
        with self._lock:
            if kind == "message":
                self.messages.append(data)
            else:
                self.latest[kind] = data
            subscribers = list(self._subscribers.items())
        for queue, loop in subscribers:
            try:
                loop.call_soon_threadsafe(self._put, queue, (kind, data))
            except RuntimeError:  # that page's loop is closed: the server is stopping
                self.unsubscribe(queue)

    def _put(self, queue: asyncio.Queue, event: tuple[str, dict]) -> None:
        if queue.qsize() >= BACKLOG:
            self.unsubscribe(queue)  # a page that stopped reading: end it; it reconnects
            queue.put_nowait(None)
            return
        queue.put_nowait(event)

    def subscribe(self) -> tuple[asyncio.Queue, list[tuple[str, dict]]]:
        """A queue for the calling event loop, and what a new page needs first."""
        queue: asyncio.Queue = asyncio.Queue()
        with self._lock:
            self._subscribers[queue] = asyncio.get_running_loop()
            first = [(k, v) for k, v in self.latest.items()]
            first += [("message", m) for m in self.messages]
        return queue, first

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        with self._lock:
            self._subscribers.pop(queue, None)

    def close(self) -> None:
        """End every open event stream (the server is stopping): each gets ``None``."""
        with self._lock:
            subscribers = list(self._subscribers.items())
            self._subscribers.clear()
        for queue, loop in subscribers:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, None)
            except RuntimeError:
                pass

    def subscribed(self, queue: asyncio.Queue) -> bool:
        with self._lock:
            return queue in self._subscribers
