"""A daemon thread that does one step every few seconds until stopped.

Shared by the knowledge-base watcher and the learned-lessons sync: both poll rather than wait
for a notification (see `KnowledgeWatcher`), and both must outlive any one failing step.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class Poller:
    """Calls `poll_once` every `poll_seconds` on a daemon thread named `thread_name`."""

    thread_name = "jethro-poller"

    def __init__(self, poll_seconds: float) -> None:
        self.poll_seconds = poll_seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self) -> None:
        raise NotImplementedError

    def failed(self) -> str:
        """What the log says when a step raises; the next step runs as usual."""
        return f"{self.thread_name}: a step failed; trying again"

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.wait(self.poll_seconds):
            try:
                self.poll_once()
            except Exception:
                log.exception("%s", self.failed())
