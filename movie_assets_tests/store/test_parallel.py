"""Clean-ups left for later: run beside what the thread does next, all done when the block ends."""

from __future__ import annotations

import logging
import threading

from movie_assets.store.parallel import later, overlapped


def test_a_clean_up_outside_an_overlapped_block_runs_at_once_on_the_caller():
    ran: list[str] = []
    later(lambda: ran.append(threading.current_thread().name))
    assert ran == [threading.current_thread().name]


def test_within_a_block_it_runs_beside_the_caller_and_is_done_when_the_block_ends():
    started, release, done = threading.Event(), threading.Event(), []

    def clean_up() -> None:
        started.set()
        release.wait(5)
        done.append(threading.current_thread().name)

    with overlapped():
        later(clean_up)
        assert started.wait(5), "it started without the caller waiting"
        assert done == [], "and the caller goes on while it runs"
        release.set()
    assert done and done[0] != threading.current_thread().name, "done, on another thread, by the block's end"


def test_a_failed_clean_up_is_logged_and_the_block_ends_normally(caplog):
    def failing() -> None:
        raise OSError("the store is away")

    with caplog.at_level(logging.WARNING), overlapped():
        later(failing)
    assert "the store is away" in caplog.text


def test_other_threads_inside_the_block_clean_up_at_once():
    ran: list[bool] = []
    with overlapped():
        worker = threading.Thread(target=lambda: later(lambda: ran.append(True)))
        worker.start()
        worker.join()
        assert ran == [True], "a housekeeping lane's own lock is released before it goes on"
