"""One thread that owns a blocking engine, and runs the jobs other threads hand it in order.

Some engines must only ever be touched from one thread: pyttsx3 (its drivers keep per-thread
state and ``runAndWait`` may hang) and an audio output stream (writes block until the device has
room). :class:`OwnerThread` is that thread::

    worker = OwnerThread("samenspraak-audio-out", on_exit=close_the_stream)
    future = worker.submit(lambda: stream.write(block))   # returns at once
    worker.call(lambda: stream.stop())                     # waits, re-raises what it raised
    worker.call(engine.runAndWait, timeout=10)             # JobTimeout if it takes longer
    worker.cancel_pending()                                # drop what has not started yet
    worker.close(timeout=5)                                # after the queued jobs, on_exit runs

The thread is started lazily by the first :meth:`OwnerThread.submit` and is a daemon, so a job
that hangs for good never keeps the program from exiting. An exception raised by a job goes to
that job's future and never ends the thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")

_STOP = object()
"""Queued by :meth:`OwnerThread.close`: no job comes after it."""


class WorkerClosed(RuntimeError):
    """A job was submitted to an :class:`OwnerThread` that has been closed."""


class JobTimeout(TimeoutError):
    """:meth:`OwnerThread.call` gave up waiting; the job may still be running on the thread."""


class OwnerThread:
    """A daemon thread that owns a blocking engine and runs submitted jobs one at a time.

    Jobs run in the order they were submitted. ``on_exit`` runs on the thread after the last job
    once :meth:`close` was called, to release the engine on the thread that owns it; an exception
    it raises is logged.
    """

    def __init__(self, name: str, *, on_exit: Callable[[], Any] | None = None) -> None:
        """Name the thread ``name`` (shown in thread dumps and logs)."""
        self.name = name
        """The thread's name."""
        self._on_exit = on_exit
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._queued: list[Future[Any]] = []  # submitted, not yet picked up by the thread

    # --- any thread -------------------------------------------------------------------------

    @property
    def thread(self) -> threading.Thread | None:
        """The owner thread, or None before the first job."""
        return self._thread

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called; :meth:`submit` then raises."""
        return self._closed

    @property
    def pending(self) -> int:
        """How many jobs are queued and not yet started."""
        with self._lock:
            return len(self._queued)

    def on_owner_thread(self) -> bool:
        """Whether the caller is the owner thread itself (a job calling back into its worker)."""
        return self._thread is not None and threading.current_thread() is self._thread

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        """Queue ``fn`` to run on the owner thread; return its future without waiting.

        The future holds ``fn``'s result or the exception it raised. Raises
        :class:`WorkerClosed` after :meth:`close`.
        """
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise WorkerClosed(f"the worker {self.name!r} is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            self._queued.append(future)
            self._jobs.put((fn, future))
        return future

    def call(self, fn: Callable[[], T], timeout: float | None = None) -> T:
        """Run ``fn`` on the owner thread, wait for it, and return its result or re-raise.

        Raises :class:`JobTimeout` when it has not finished within ``timeout`` seconds (None:
        wait for ever); a job that had not started by then is cancelled, one that had keeps
        running. Calling it from the owner thread itself runs ``fn`` at once (queueing it
        would wait for ever).
        """
        if self.on_owner_thread():
            return fn()
        future = self.submit(fn)
        try:
            return future.result(timeout)
        except FutureTimeout as exc:
            if future.cancel():
                self._forget(future)
            raise JobTimeout(f"{self.name}: no result within {timeout:g} s") from exc

    def cancel_pending(self) -> int:
        """Cancel every queued job that has not started; return how many were cancelled.

        The job running now (if any) is not touched; their callers get ``CancelledError``.
        """
        with self._lock:
            queued, self._queued = self._queued, []
        cancelled = sum(1 for future in queued if future.cancel())
        if cancelled:
            _LOGGER.debug("%s: cancelled %d queued job(s)", self.name, cancelled)
        return cancelled

    def close(self, timeout: float | None = 5.0) -> bool:
        """Stop taking jobs; the queued ones run, then ``on_exit``; wait up to ``timeout`` s.

        Returns True when the thread has ended (or never started), False when it is still busy,
        e.g. with a job that hangs; it is a daemon and is left behind. Safe to call twice.
        """
        with self._lock:
            already, self._closed = self._closed, True
            thread = self._thread
            if not already and thread is not None:
                self._jobs.put(_STOP)
        if thread is None:
            return True
        if thread is threading.current_thread():
            return False  # closed from one of its own jobs: it stops after that job
        thread.join(timeout)
        if thread.is_alive():
            _LOGGER.debug("%s did not stop within %s s", self.name, timeout)
            return False
        return True

    # --- the owner thread -------------------------------------------------------------------

    def _forget(self, future: Future[Any]) -> None:
        """Drop ``future`` from the queued list (it was picked up or cancelled)."""
        with self._lock:
            try:
                self._queued.remove(future)
            except ValueError:  # cancel_pending already took it off the list
                pass

    def _run(self) -> None:
        """Run jobs in order until :meth:`close`, then ``on_exit``."""
        while (item := self._jobs.get()) is not _STOP:
            fn, future = item
            self._forget(future)
            if not future.set_running_or_notify_cancel():
                continue  # cancelled while it waited
            try:
                result = fn()
            except BaseException as exc:  # noqa: B036 - goes to the caller; the thread lives on
                future.set_exception(exc)
            else:
                future.set_result(result)
        if self._on_exit is not None:
            try:
                self._on_exit()
            except Exception:  # releasing an engine that is going away anyway: log, go on
                _LOGGER.exception("%s: releasing the engine failed", self.name)
