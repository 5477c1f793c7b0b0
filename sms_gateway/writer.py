"""One writer thread that commits the webhook server's writes in groups.

A SQLite commit waits for the disk (about 15 ms per commit on the development machine, a
virtual disk), so a burst of callbacks committed one by one queues for seconds. The writer
runs queued writes in one transaction and commits once per group. When a write in a group
raises, the group is rolled back and each of its writes runs again in its own transaction, so
one bad request fails alone.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

logger = logging.getLogger(__name__)

Write = Callable[[Session], Any]  # must not commit; its return value resolves the future
_STOP = object()


class GroupCommitWriter:
    """Runs submitted writes on one thread; start() before submit(), stop() when done."""

    def __init__(self, engine: Engine, max_group_size: int = 200):
        self.engine = engine
        self.max_group_size = max_group_size
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="sms-webhook-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_seconds: float = 30.0) -> None:
        """Finish the queued writes, then end the thread."""
        self._queue.put(_STOP)
        self._thread.join(timeout=timeout_seconds)

    def submit(self, write: Write) -> Future:
        future: Future = Future()
        self._queue.put((write, future))
        return future

    def _next_group(self) -> tuple[list[tuple[Write, Future]], bool]:
        """Block for one write, then take what else is queued; return the group and whether to stop."""
        first = self._queue.get()
        if first is _STOP:
            return [], True
        group = [first]
        while len(group) < self.max_group_size:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return group, True
            group.append(item)
        return group, False

    def _run_alone(self, write: Write, future: Future) -> None:
        try:
            with Session(self.engine) as session:
                result = write(session)
                session.commit()
        except Exception as error:  # noqa: BLE001 - handed to the waiting request
            logger.exception("webhook write failed")
            future.set_exception(error)
        else:
            future.set_result(result)

    def _run_group(self, group: list[tuple[Write, Future]]) -> None:
        try:
            with Session(self.engine) as session:
                results = [write(session) for write, _ in group]
                session.commit()
        except Exception as error:  # noqa: BLE001 - retried one by one below
            logger.warning("group of %d webhook writes failed (%s); running them one by one", len(group), error)
            for write, future in group:
                self._run_alone(write, future)
            return
        for (_, future), result in zip(group, results):
            future.set_result(result)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            group, stopping = self._next_group()
            if group:
                self._run_group(group)
