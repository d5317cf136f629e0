"""Drive a session in real time from a queue of inputs (typed lines, or a listening thread)."""

from __future__ import annotations

import json
import logging
import os
import queue
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, TextIO

from assistant.engine.clock import Clock
from assistant.engine.messages import Chime, Heard, Intent, KeyCommand, LogEvent, Summary, _num
from assistant.engine.session import Session
from assistant.engine.texts import Texts

_LOGGER = logging.getLogger(__name__)

END_OF_INPUT = object()
"""Put on the input queue when no more input will come (end of typed input)."""


def run_live(session: Session, inputs: queue.Queue, clock: Clock,
             on_idle: Callable[[], None] | None = None,
             on_interrupt: Callable[[], None] | None = None) -> None:
    """Run ``session`` until it is done: inputs from the queue, deadlines from the clock.

    Ctrl-C (KeyboardInterrupt) ends the session kindly, with its summary; ``on_interrupt``
    runs first (to cut off a prompt that is still playing).
    """
    try:
        session.start()
        if on_idle is not None:
            on_idle()
        while not session.done:
            deadline = session.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - clock.now())
            try:
                item = inputs.get(timeout=timeout)
            except queue.Empty:
                session.tick()
                continue
            if item is END_OF_INPUT:
                session.stop()
            elif callable(item):
                item(session)  # a control message from another thread, run on this one
            else:
                session.handle(item)
            session.tick()
            if on_idle is not None:
                on_idle()
    except KeyboardInterrupt:
        if on_interrupt is not None:
            on_interrupt()
        session.stop()


class EventLog:
    """Writes the JSON event log (one object per line), owner-only, flushed per line."""

    def __init__(self, stream: IO[str], clock: Clock) -> None:
        self._stream = stream
        self._clock = clock
        self._t0 = clock.now()

    @classmethod
    def open(cls, path: Path, clock: Clock) -> EventLog:
        """Create (or truncate) ``path`` readable by its owner only."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        return cls(os.fdopen(fd, "w", encoding="utf-8"), clock)

    def __call__(self, event: LogEvent) -> None:
        """Write one event with its time since the start."""
        t = _num(round(self._clock.now() - self._t0, 3))
        self._stream.write(json.dumps({"t": t, **event.payload()}, ensure_ascii=False) + "\n")
        self._stream.flush()

    def close(self) -> None:
        """Close the file."""
        self._stream.close()


class TextSpeaker:
    """Prints what the assistant says: the speaker of text mode and the last fallback."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stdout

    def say(self, text: str) -> None:
        """Print one sentence."""
        print(f"» {text}", file=self._out, flush=True)

    def chime(self, chime: Chime) -> None:
        """Show a chime as a small mark."""
        print("  ♪", file=self._out, flush=True)

    def change_pace(self, faster: bool) -> bool:
        """Printed text has no pace."""
        return False

    def prepare(self, texts: object) -> None:
        """Nothing to render ahead."""

    def close(self) -> None:
        """Nothing to release."""


def empty_line(session: Session) -> None:
    """An empty line (or Enter): done, or go on, whichever fits the moment."""
    allowed = session.listening().intents
    for intent in (Intent.DONE, Intent.RESUME, Intent.NEXT):
        if intent in allowed:
            session.handle(KeyCommand(intent))
            return
    session.handle(Heard(""))


def read_typed_lines(stream: TextIO, inputs: queue.Queue) -> threading.Thread:
    """Read typed lines on a daemon thread; each line is an utterance, an empty line done/next."""

    def reader() -> None:
        for line in stream:
            text = line.strip()
            inputs.put(Heard(text) if text else empty_line)
        inputs.put(END_OF_INPUT)

    thread = threading.Thread(target=reader, name="typed-input", daemon=True)
    thread.start()
    return thread


def summary_lines(summary: Summary, texts: Texts) -> list[str]:
    """The summary as plain sentences, for the screen."""
    lines = [texts.line("summary_title")]
    for name, seconds in summary.speaking_seconds.items():
        lines.append(texts.line("summary_speaking", name=name, duration=texts.duration(seconds)))
    lines.append(texts.line("summary_mirrors", confirmed=summary.mirrors_confirmed,
                            attempts=summary.mirror_attempts))
    lines += [texts.line("summary_agreement", agreement=a) for a in summary.agreements]
    return lines
