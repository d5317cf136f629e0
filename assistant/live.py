"""Drive a session in real time: a queue of inputs, a prompt player, an event log, typed lines.

Other threads (the microphone, the key reader, the prompt player) put inputs on one
:class:`LiveInputs` queue; :func:`run_live` pumps the session from it on the calling thread and
hands every effect to the driver's ``perform``. Speech never blocks that thread: the
:class:`PromptPlayer` plays prompts in order on a thread of its own and reports each one back
as :class:`~assistant.engine.messages.PromptPlayed`.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, TextIO

from assistant.engine.clock import Clock
from assistant.engine.exercises import Exercise
from assistant.engine.messages import (
    Chime,
    CutSpeech,
    Effect,
    Heard,
    Intent,
    KeyCommand,
    Listen,
    Log,
    LogEvent,
    PlayChime,
    PlayRecording,
    Proceed,
    PromptPlayed,
    Say,
    SessionInput,
    SetPace,
    Stop,
    Summary,
    log_line,
)
from assistant.engine.practice import Practice
from assistant.engine.pump import perform_all, pump
from assistant.engine.resume import ResumePoint
from assistant.engine.session import Session
from assistant.engine.texts import Texts
from assistant.engine.timing import Timing
from assistant.ports import Speaker
from assistant.worker import OwnerThread, WorkerClosed

_LOGGER = logging.getLogger(__name__)

DRAIN_SECONDS = 60.0
"""Longest wait for the last prompts (the goodbye) to be heard before the program ends."""


class LiveInputs:
    """The inputs of a live session, from any thread, in real time: an input source for pump."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._queue: queue.Queue[SessionInput] = queue.Queue()

    def put(self, item: SessionInput) -> None:
        """Hand the session an input (any thread)."""
        self._queue.put(item)

    def next_input(self, session: Session) -> SessionInput | None:
        """The next input; None once the session's next deadline has come."""
        deadline = session.next_deadline()
        return self.get(None if deadline is None else max(0.0, deadline - self._clock.now()))

    def get(self, timeout: float | None) -> SessionInput | None:
        """The next input within ``timeout`` seconds (None: wait for one); None when none came."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None


def run_live(session: Session, inputs: LiveInputs, player: PromptPlayer,
             log: Callable[[LogEvent], None] | None = None,
             on_listen: Callable[[Listen], None] | None = None) -> Summary:
    """Run ``session`` in real time until it is done; its summary.

    Speech goes to ``player``, log events to ``log``, what to listen for to ``on_listen``.
    Ctrl-C (KeyboardInterrupt) cuts the prompt that is playing and ends the session kindly,
    with its summary. The last prompts are heard before this returns; the player is closed.
    """

    def perform(effect: Effect) -> None:
        if isinstance(effect, Log):
            if log is not None:
                log(effect.event)
        elif isinstance(effect, Listen):
            if on_listen is not None:
                on_listen(effect)
        else:
            player.perform(effect)

    try:
        try:
            pump(session, inputs, perform)
        except KeyboardInterrupt:
            player.cut()
            perform_all(session.handle(Stop()), perform)
        try:
            player.drain()
        except KeyboardInterrupt:  # Ctrl-C while the goodbye plays: stop it, keep the session
            player.cut()
    finally:
        player.close()
    return session.summary()


class PromptPlayer:
    """Plays prompts and chimes in order on one owner thread; reports each back when heard.

    ``speaker`` blocks while it speaks; this player never does. A :class:`CutSpeech` drops what
    is queued and cuts what is playing. Every prompt is reported, also when the speaker failed
    on it, so a session never waits for a prompt that will not come.
    """

    def __init__(self, speaker: Speaker, report: Callable[[SessionInput], None],
                 can_cut: bool = True) -> None:
        """``can_cut`` is False for printed text: a line on the screen is never taken back,
        so a cut neither drops the queued lines nor stops the one being printed."""
        self.speaker = speaker
        """The speaker that does the talking."""
        self._can_cut = can_cut
        self._report = report
        self._worker = OwnerThread("samenspraak-prompts")
        self._generation = 0
        self._output_gone = False

    def perform(self, effect: Effect) -> None:
        """Carry out a speech effect (others are ignored)."""
        if isinstance(effect, Say | PlayChime | PlayRecording):
            if isinstance(effect, Say) and not effect.private:
                self.speaker.prepare([effect.text])  # rendered while what is before it plays
            generation = self._generation
            self._submit(lambda: self._play(effect, generation))
        elif isinstance(effect, SetPace):
            self._submit(lambda: self.speaker.set_pace(effect.factor))
        elif isinstance(effect, CutSpeech):
            self.cut()

    def cut(self) -> None:
        """Cut the prompt that is playing and drop the queued ones (any thread)."""
        if not self._can_cut:
            return
        self._generation += 1
        self._worker.cancel_pending()
        self.speaker.interrupt()

    def drain(self, timeout: float = DRAIN_SECONDS) -> bool:
        """Wait until everything queued has been played; False on timeout."""
        try:
            self._worker.call(lambda: None, timeout=timeout)
        except (TimeoutError, WorkerClosed):  # a hung speaker or a closed player: stop waiting
            return False
        return True

    def close(self) -> None:
        """Stop playing and release the speaker."""
        self._worker.close(timeout=5.0)
        self.speaker.close()

    def _submit(self, job: Callable[[], None]) -> None:
        try:
            self._worker.submit(job)
        except WorkerClosed:  # the session outlived its player (closing): nothing to play on
            _LOGGER.debug("prompt dropped: the player is closed")

    def _play(self, effect: Say | PlayChime | PlayRecording, generation: int) -> None:
        try:
            if generation != self._generation or self._output_gone:
                return  # cut while it was queued, or nobody reads any more
            if isinstance(effect, Say):
                self.speaker.say(effect.text, keep=not effect.private)
            elif isinstance(effect, PlayRecording):
                self.speaker.play_file(effect.path, effect.text)
            else:
                self.speaker.chime(effect.chime)
        except BrokenPipeError:  # printed text piped into a reader that quit (`| head`): end
            self._output_gone = True
            self._report(Stop())
        except Exception:  # a failing speaker must never leave the session waiting
            _LOGGER.exception("playing a prompt failed")
        finally:
            self._report(PromptPlayed(effect.prompt))


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
        """Write one event with its time since the start; a write that fails (a full disk, a
        stick pulled out) ends the log, never the session."""
        if self._stream.closed:
            return
        line = log_line(self._clock.now() - self._t0, event)
        try:
            self._stream.write(json.dumps(line, ensure_ascii=False) + "\n")
            self._stream.flush()
        except OSError as err:  # the disk, not the session: say so once and write no more
            _LOGGER.error("the event log stops here, it cannot be written: %s", err)
            self.close()

    def close(self) -> None:
        """Close the file (what cannot be flushed any more is lost, the session is not)."""
        try:
            self._stream.close()
        except OSError as err:  # closing flushes: the same full disk
            _LOGGER.debug("closing the event log: %s", err)


class TextSpeaker:
    """Prints what the assistant says: the speaker of text mode and the last fallback."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stdout

    def say(self, text: str, keep: bool = True) -> None:
        """Print one sentence."""
        print(f"» {text}", file=self._out, flush=True)

    def chime(self, chime: Chime) -> None:
        """Show a chime as a small mark."""
        print("  ♪", file=self._out, flush=True)

    def play_file(self, path: str, text: str) -> None:
        """Show what the recording says."""
        self.say(text)

    def set_pace(self, factor: float) -> None:
        """Printed text has no pace."""

    def prepare(self, texts: object) -> None:
        """Nothing to render ahead."""

    def interrupt(self) -> None:
        """A printed line cannot be cut."""

    def close(self) -> None:
        """Nothing to release."""


class QuietSpeaker:
    """Chimes only (``timer --quiet``): sentences are not spoken, chimes and recordings are."""

    def __init__(self, inner: Speaker) -> None:
        self._inner = inner

    def say(self, text: str, keep: bool = True) -> None:
        """Say nothing."""

    def chime(self, chime: Chime) -> None:
        """Play the chime."""
        self._inner.chime(chime)

    def play_file(self, path: str, text: str) -> None:
        """Play the recording."""
        self._inner.play_file(path, text)

    def set_pace(self, factor: float) -> None:
        """Pass the pace on."""
        self._inner.set_pace(factor)

    def prepare(self, texts: object) -> None:
        """Nothing is spoken, so nothing is rendered ahead."""

    def interrupt(self) -> None:
        """Cut the chime that plays."""
        self._inner.interrupt()

    def is_audible(self) -> bool:
        """Whether a chime plays (the microphone is deaf meanwhile)."""
        audible = getattr(self._inner, "is_audible", None)
        return bool(audible()) if audible is not None else False

    def close(self) -> None:
        """Release the speaker."""
        self._inner.close()


TYPED_KEYS: Mapping[str, Intent] = {"j": Intent.YES, "y": Intent.YES, "n": Intent.NO,
                                    "p": Intent.PAUSE, "s": Intent.STOP, "h": Intent.REPEAT,
                                    "r": Intent.REPEAT}
"""Keys (then Enter) that stand for commands when nothing can hear; an empty line is done/next."""


class LineReader:
    """Reads a stream of typed lines on one daemon thread, for the life of a session.

    With ``keys`` each line is a key (its first letter, see :data:`TYPED_KEYS`); without, each
    line is an utterance. An empty line is :class:`Proceed`. At the end of the stream,
    ``at_end`` (if any) is put on the queue. :meth:`start` may be called any number of times:
    one thread reads, however often the microphone comes and goes.
    """

    def __init__(self, stream: TextIO, put: Callable[[SessionInput], None], *,
                 keys: Mapping[str, Intent] | None = None,
                 at_end: SessionInput | None = None) -> None:
        self._stream = stream
        self._put = put
        self._keys = keys
        self._at_end = at_end
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        """Whether the reading thread runs (or has run)."""
        return self._thread is not None

    def start(self) -> None:
        """Start reading, unless already reading."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="typed-input",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        for line in self._stream:
            item = self.parse(line)
            if item is not None:
                self._put(item)
        if self._at_end is not None:
            self._put(self._at_end)

    def parse(self, line: str) -> SessionInput | None:
        """What one typed line means (None: nothing)."""
        text = line.strip()
        if not text:
            return Proceed()
        if self._keys is None:
            return Heard(text)
        intent = self._keys.get(text.lower()[:1])
        return KeyCommand(intent) if intent else None


def summary_lines(summary: Summary, texts: Texts, heard: bool = True) -> list[str]:
    """The summary as plain sentences, for the screen; speaking times only where speech was
    ``heard`` (typed lines have no length in seconds)."""
    lines = [texts.line("summary_title")]
    if heard:
        lines += [texts.line("summary_speaking", name=name, duration=texts.duration(seconds))
                  for name, seconds in summary.speaking_seconds.items()]
    if summary.mirror_attempts:  # a session stopped before any mirror has nothing to count
        lines.append(texts.line("summary_mirrors", confirmed=summary.mirrors_confirmed,
                                attempts=summary.mirror_attempts))
    lines += [texts.line("summary_agreement", agreement=a) for a in summary.agreements]
    return lines


def run_text(exercise: Exercise, texts: Texts, names: tuple[str, str], clock: Clock,
             timing: Timing, events: Path | None = None, stdin: TextIO | None = None,
             out: TextIO | None = None, practice: Practice | None = None,
             resume: ResumePoint | None = None,
             observe: Callable[[Session, LogEvent], None] | None = None,
             inputs: LiveInputs | None = None, quiet: bool = False) -> Session:
    """Run an exercise on a keyboard and a screen: prompts printed, each typed line heard.

    ``observe`` sees every log event as it happens (to save where the session is). With
    ``inputs`` the caller feeds the session (a live display's keys) and no line is read;
    ``quiet`` prints chimes only."""
    keys_elsewhere = inputs is not None
    inputs = inputs or LiveInputs(clock)
    speaker = TextSpeaker(out)
    player = PromptPlayer(QuietSpeaker(speaker) if quiet else speaker, inputs.put, can_cut=False)
    session = Session(exercise, names, texts, clock, timing, pace_adjustable=False,
                      practice=practice, resume=resume)
    if not keys_elsewhere:
        LineReader(stdin or sys.stdin, inputs.put, at_end=Stop()).start()
    log = EventLog.open(events, clock) if events else None
    try:
        run_live(session, inputs, player, logger(session, log, observe))
    finally:
        if log is not None:
            log.close()
    return session


def logger(session: Session, log: Callable[[LogEvent], None] | None,
           observe: Callable[[Session, LogEvent], None] | None
           ) -> Callable[[LogEvent], None] | None:
    """One log callback: the event log file (if any), then the observer (if any)."""
    if observe is None:
        return log

    def both(event: LogEvent) -> None:
        if log is not None:
            log(event)
        observe(session, event)

    return both
