"""OwnerThread: one daemon thread runs an engine's jobs in order and survives their errors."""

from __future__ import annotations

import threading
from concurrent.futures import CancelledError

import pytest

from assistant.worker import JobTimeout, OwnerThread, WorkerClosed


@pytest.fixture
def worker():
    w = OwnerThread("test-owner")
    yield w
    w.close(timeout=5)


def blocker(worker: OwnerThread) -> tuple[threading.Event, threading.Event]:
    """Occupy the worker until the returned ``release`` is set; ``started`` says it runs."""
    started, release = threading.Event(), threading.Event()

    def hold() -> None:
        started.set()
        release.wait(5)

    worker.submit(hold)
    assert started.wait(5)
    return started, release


def test_the_thread_starts_on_the_first_job_and_is_a_named_daemon(worker):
    assert worker.thread is None
    assert worker.call(lambda: threading.current_thread().name) == "test-owner"
    assert worker.thread is not None and worker.thread.daemon


def test_jobs_run_in_order_on_one_thread(worker):
    seen: list[tuple[int, int | None]] = []
    futures = [worker.submit(lambda i=i: seen.append((i, threading.get_ident())))
               for i in range(20)]
    for future in futures:
        future.result(5)
    assert [i for i, _ in seen] == list(range(20))
    assert {ident for _, ident in seen} == {worker.thread.ident}


def test_submit_does_not_wait(worker):
    _started, release = blocker(worker)
    future = worker.submit(lambda: 42)
    assert not future.done() and worker.pending == 1
    release.set()
    assert future.result(5) == 42 and worker.pending == 0


def test_an_error_goes_to_its_caller_and_the_thread_lives_on(worker):
    def fail() -> None:
        raise ValueError("engine hiccup")

    with pytest.raises(ValueError, match="hiccup"):
        worker.call(fail)
    assert isinstance(worker.submit(fail).exception(5), ValueError)
    assert worker.call(lambda: "still here") == "still here"


def test_a_call_that_takes_too_long_times_out_and_a_queued_one_is_cancelled(worker):
    _started, release = blocker(worker)
    ran: list[bool] = []
    with pytest.raises(JobTimeout):
        worker.call(lambda: ran.append(True), timeout=0.05)
    release.set()
    worker.call(lambda: None)  # everything before it has been dealt with
    assert ran == []  # it had not started, so it never will


def test_a_timeout_leaves_the_running_job_alone(worker):
    release = threading.Event()
    with pytest.raises(JobTimeout):
        worker.call(lambda: release.wait(5), timeout=0.05)
    release.set()
    assert worker.call(lambda: "next") == "next"


def test_cancel_pending_drops_queued_jobs_only(worker):
    _started, release = blocker(worker)
    queued = [worker.submit(lambda: "late") for _ in range(3)]
    assert worker.cancel_pending() == 3
    assert all(f.cancelled() for f in queued) and worker.pending == 0
    with pytest.raises(CancelledError):
        queued[0].result(0)
    release.set()
    assert worker.call(lambda: "after") == "after"


def test_close_runs_what_was_queued_then_on_exit_on_the_owner_thread():
    order: list[str] = []
    w = OwnerThread("closing", on_exit=lambda: order.append(
        f"exit on {threading.current_thread().name}"))
    _started, release = blocker(w)
    w.submit(lambda: order.append("queued"))
    release.set()
    assert w.close(timeout=5)
    assert order == ["queued", "exit on closing"]
    assert w.closed and not w.thread.is_alive()
    with pytest.raises(WorkerClosed):
        w.submit(lambda: None)
    assert w.close(timeout=5)  # twice is fine


def test_close_without_any_job_starts_nothing():
    exits: list[bool] = []
    w = OwnerThread("idle", on_exit=lambda: exits.append(True))
    assert w.close() and w.thread is None and exits == []


def test_close_gives_up_on_a_hung_job():
    w = OwnerThread("hung")
    _started, release = blocker(w)
    assert w.close(timeout=0.05) is False
    release.set()
    w.thread.join(5)
    assert not w.thread.is_alive()


def test_an_error_in_on_exit_is_logged_not_raised(caplog):
    def broken_exit() -> None:
        raise RuntimeError("engine already gone")

    w = OwnerThread("exit-error", on_exit=broken_exit)
    w.call(lambda: None)
    assert w.close(timeout=5)
    assert "releasing the engine failed" in caplog.text


def test_a_job_may_call_back_into_its_own_worker(worker):
    assert worker.call(lambda: worker.call(lambda: "inner")) == "inner"
