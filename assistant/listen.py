"""From audio to session inputs: voice activity, then the recognizer, restricted to the moment.

One path for everything that listens: a live microphone feeds :meth:`Listener.feed` chunk by
chunk, and ``samenspraak hear`` feeds a WAV file through the very same object.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from assistant.asr import normalize_phrase
from assistant.engine.messages import Heard, Listen, SessionInput, SpeechEnded, SpeechStarted
from assistant.ports import Recognizer
from assistant.vad import (
    EARLY_END_SILENCE,
    END_SILENCE,
    UtteranceAudio,
    VadState,
    VoiceActivity,
)

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Moment:
    """What is worth listening for right now."""

    phrases: tuple[str, ...] | None
    """The recognizer's grammar; None means free speech."""
    end_silence: float
    """Seconds of silence that end an utterance."""
    early_end: float | None = None
    """Seconds of silence that end it sooner when the recognizer already hears one of
    ``answers`` whole (None: always wait ``end_silence``)."""
    answers: frozenset[str] = frozenset()
    """Whole answers that may end an utterance early, written as the grammar holds them
    (:func:`assistant.asr.normalize_phrase`)."""


@dataclass(frozen=True)
class UtteranceTiming:
    """When one utterance ended and was recognised (monotonic seconds), for benchmarks."""

    speech_end: float
    """When the last speech frame was captured (estimated from the stream position)."""
    endpoint: float
    """When voice activity decided the utterance was over."""
    recognized: float
    """When the recognizer returned its text."""
    text: str
    """What it recognised."""
    early: bool = False
    """True when a whole answer ended it before the moment's full silence."""


def _words(text: str) -> str:
    """``text`` as lower-case words separated by single spaces.

    For the recognizer's partial result, which is already made of the grammar's words;
    :func:`assistant.asr.normalize_phrase` would turn its ``[unk]`` into ``unk``.
    """
    return " ".join(text.lower().split())


def complete_answers(phrases: Iterable[str], fillers: Iterable[str]) -> frozenset[str]:
    """The phrases that, heard whole, need no more silence to be sure of.

    A phrase is not complete when a longer phrase starts with it and goes on with words that
    may change its meaning ("klopt" → "klopt niet"). A longer phrase that only adds fillers
    or another whole phrase ("ja" → "ja hoor", "ja klopt") says the same, so "ja" still is.
    The answers are normalised as the recognizer's grammar is ("that’s right," → "that's
    right"), so they compare with what the recognizer hears.
    """
    commands = {normalize_phrase(p) for p in phrases} - {""}
    filler_words = {normalize_phrase(f) for f in fillers}
    complete = set()
    for phrase in commands:
        head = phrase.split()
        for longer in commands:
            words = longer.split()
            if len(words) <= len(head) or words[:len(head)] != head:
                continue
            rest = words[len(head):]
            if " ".join(rest) not in commands and not all(w in filler_words for w in rest):
                break
        else:
            complete.add(phrase)
    return frozenset(complete)


def moment_for(listen: Listen, recognizer_free: bool = True) -> Moment:
    """The moment for what a session listens for: commands (plus fillers) or free speech.

    ``recognizer_free`` is False for a recognizer that cannot take free speech: it keeps its
    grammar even when what is said matters beyond commands.
    """
    if listen.free_speech and recognizer_free:
        return Moment(None, END_SILENCE["free"])
    grammar = tuple(dict.fromkeys([*listen.phrases, *listen.fillers]))
    if not listen.short_answer:
        return Moment(grammar, END_SILENCE["commands"])
    return Moment(grammar, END_SILENCE["yesno"], EARLY_END_SILENCE,
                  complete_answers(listen.phrases, listen.fillers))


class Listener:
    """Voice activity → recognizer → :class:`SpeechStarted`, :class:`SpeechEnded`, :class:`Heard`.

    Without a recognizer only voice activity is reported: a session then runs on voice activity
    and timers.
    """

    def __init__(self, vad: VoiceActivity, recognizer: Recognizer | None,
                 emit: Callable[[SessionInput], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._vad = vad
        self._recognizer = recognizer
        self._emit = emit
        self._clock = clock
        self._moment = Moment(None, END_SILENCE["commands"])
        self._next_moment: Moment | None = None
        self._moment_lock = threading.Lock()
        self._decoding = False
        self._chunk_end = 0.0
        self.last_timing: UtteranceTiming | None = None
        """Timing of the most recent utterance."""

    @property
    def recognizer(self) -> Recognizer | None:
        """The recognizer in use (None: voice activity only)."""
        return self._recognizer

    @property
    def moment(self) -> Moment:
        """What is listened for now (a moment set since takes effect with the next chunk)."""
        return self._moment

    def set_moment(self, moment: Moment) -> None:
        """Listen for something else from the next chunk on (any thread may call this).

        The moment is only handed over here; the thread that feeds audio applies it, so voice
        activity settings change only on the thread that uses them.
        """
        with self._moment_lock:
            self._next_moment = moment

    def feed(self, pcm: bytes, captured_at: float | None = None) -> None:
        """Take a chunk of 16 kHz mono PCM; ``captured_at`` is when its last sample came in."""
        self._apply_moment()
        self._chunk_end = self._clock() if captured_at is None else captured_at
        self._handle(self._vad.process(pcm), len(pcm))
        self._end_early()

    def flush(self) -> None:
        """The stream ended (or has a gap): close an utterance in progress."""
        self._apply_moment()
        self._handle(self._vad.flush(), 0)

    def _apply_moment(self) -> None:
        with self._moment_lock:
            moment, self._next_moment = self._next_moment, None
        if moment is not None:
            self._moment = moment
            self._vad.end_silence = moment.end_silence

    def _end_early(self) -> None:
        """End a short answer after a short silence once the recognizer hears it whole.

        Asked only while the moment allows it and the silence has lasted ``early_end``; the
        text then still comes from :meth:`Recognizer.finish` (with its confidence checks).
        """
        early = self._moment.early_end
        if (early is None or not self._decoding or self._recognizer is None
                or self._vad.state is not VadState.STOPPING
                or self._vad.silence < early - 1e-9):
            return
        if _words(self._recognizer.partial()) in self._moment.answers:
            self._handle(self._vad.end_now(), 0, early=True)

    def _handle(self, events: list, chunk_bytes: int, early: bool = False) -> None:
        for event in events:
            if isinstance(event, SpeechStarted):
                self._start()
                self._emit(event)
            elif isinstance(event, UtteranceAudio):
                if self._decoding and self._recognizer is not None:
                    self._recognizer.accept(event.pcm)
            elif isinstance(event, SpeechEnded):
                endpoint = self._clock()
                unheard = self._vad.position - self._vad.last_speech_end
                speech_end = self._chunk_end - unheard
                self._emit(event)
                text = self._finish()
                recognized = self._clock()
                self.last_timing = UtteranceTiming(speech_end, endpoint, recognized, text,
                                                   early)
                if text:
                    self._emit(Heard(text))

    def _start(self) -> None:
        if self._recognizer is None:
            return
        phrases = self._moment.phrases
        self._recognizer.start(list(phrases) if phrases is not None else None)
        self._decoding = True

    def _finish(self) -> str:
        if not self._decoding or self._recognizer is None:
            return ""
        self._decoding = False
        text = self._recognizer.finish().strip()
        _LOGGER.debug("recognised %r", text)
        return text
