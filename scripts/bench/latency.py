"""Measurement 1: response latency, from the end of an answer to the first sound of the reply.

A session of the mirroring exercise runs under :func:`assistant.engine.pump.pump` on a virtual
clock. Its input source (:class:`AnswerTrials`) moves it on with keys and deadlines until it
asks a ja/nee question, then says an answer into the listening path
(:func:`~scripts.bench.listening.hear`, in the moment the session's last ``Listen`` effect asked
for), with kitchen noise under it; the session gets the voice activity and the answer's words.
Four
stages are timed: the end of speech until voice activity ends the utterance (audio time), the
recognizer's result, the session's decision (from handing it the words to its first ``Say`` or
``PlayChime``), and the reply's start: from handing that effect to a
:class:`assistant.live.PromptPlayer` with the live speaker until its first block reaches the
output device. Other prompts count as heard at once.

A short answer that the recognizer already hears whole ends after a shorter silence
(:data:`assistant.vad.EARLY_END_SILENCE`); :func:`count_cutoffs` checks that this never cuts off
a reply that starts like a ja/nee and goes on after a comma (:data:`config.LONGER_REPLIES`),
with and without that early end.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from assistant.audio import SPEECH_RATE, chunks
from assistant.engine.clock import VirtualClock
from assistant.engine.exercises import find_exercise
from assistant.engine.intents import IntentMatcher
from assistant.engine.messages import (
    Effect,
    Heard,
    HeardLogged,
    Intent,
    KeyCommand,
    Listen,
    Log,
    PlayChime,
    PlayRecording,
    PromptPlayed,
    Say,
    SessionInput,
    SpeechEnded,
    SpeechStarted,
    Stop,
)
from assistant.engine.phases import ANSWERS, EVERYWHERE
from assistant.engine.pump import pump
from assistant.engine.session import Session
from assistant.engine.texts import LANGUAGES, load_texts
from assistant.listen import Listener, Moment, moment_for
from assistant.live import PromptPlayer
from assistant.playback import AudioOutput
from assistant.ports import Recognizer
from assistant.rig.fakes import CHUNK_SECONDS
from assistant.rig.noise import mix, speech_bounds
from assistant.rig.signals import RATE, WIDTH, silence
from assistant.tts import VoiceSpeaker
from assistant.vad import END_SILENCE, VoiceActivity
from scripts.bench.config import (
    CUTOFF_SPEEDS,
    EXERCISE,
    LONGER_REPLIES,
    NAMES,
    SLOW_SPEED,
    VOICES,
    BenchConfig,
)
from scripts.bench.corpus import speech, talk
from scripts.bench.listening import Engine, hear, moment
from scripts.bench.output import voice_speaker
from scripts.bench.report import percentile

LEAD, TAIL = 0.5, 2.0
"""Seconds of (noisy) silence before and after each answer."""
WARM_SECONDS = 15.0
"""Seconds of talk a recognizer hears before the trials (a session's first turn)."""
MOVE_ON = (Intent.DONE, Intent.NEXT, Intent.RESUME)
"""Keys that move a session on to its next question."""


@dataclass
class Trial:
    """One answer to a ja/nee question, from the end of speech to the first answer block."""

    phrase: str
    intent: Intent
    heard: str = ""
    correct: bool = False
    eos: float | None = None
    """Audio seconds from the last speech sample to the endpoint."""
    recognition: float | None = None
    decision: float | None = None
    playback: float | None = None
    handed_at: float | None = None
    """perf_counter when the words were handed to the session."""
    early: bool = False
    """True when the whole answer ended the utterance before the full silence."""

    @property
    def total(self) -> float | None:
        """The whole response time, when the session responded at all."""
        parts = (self.eos, self.recognition, self.decision, self.playback)
        return None if any(p is None or math.isnan(p) for p in parts) else sum(parts)

    @property
    def after_eos(self) -> float | None:
        """What the machine adds after the endpoint."""
        total = self.total
        return None if total is None or self.eos is None else total - self.eos


class ReplyTimer:
    """Plays a reply through the session's prompt player; times it until its first block."""

    def __init__(self, speaker: VoiceSpeaker, report: Callable[[SessionInput], None]) -> None:
        self._speaker = speaker
        self._report = report
        self._over = threading.Event()
        self.player = PromptPlayer(speaker, self._reported)

    def _reported(self, item: SessionInput) -> None:
        self._report(item)
        self._over.set()

    def first_block(self, effect: Say | PlayChime, timeout: float = 30.0) -> float:
        """Seconds from handing ``effect`` to the player until its first block was played."""
        output = self._speaker.output
        assert isinstance(output, AudioOutput)
        if isinstance(effect, Say):
            self._speaker.pcm_for(effect.text)  # rendered ahead, as the session's prepare does
        self._over.clear()
        started = time.monotonic()
        self.player.perform(effect)
        give_up = started + timeout
        while (not output.last_play_started >= started and not self._over.wait(0.0005)
               and time.monotonic() < give_up):
            pass
        first = output.last_play_started
        self.player.cut()  # the rest of the reply does not matter here
        self.player.drain()
        return first - started if first >= started else math.nan


class AnswerTrials:
    """An input source for :func:`pump`: every ja/nee question is answered aloud, once per trial."""

    def __init__(self, clock: VirtualClock, recognizer: Recognizer,
                 plan: Iterable[tuple[Intent, str, bytes]], bed: bytes, snr: float,
                 rng: random.Random) -> None:
        self._clock = clock
        self._recognizer = recognizer
        self._plan = deque(plan)
        self._bed, self._snr, self._rng = bed, snr, rng
        self._pending: deque[SessionInput] = deque()
        self._moment = Moment(None, END_SILENCE["commands"])
        self.trials: list[Trial] = []

    @property
    def remaining(self) -> int:
        """Trials still to run."""
        return len(self._plan)

    @property
    def current(self) -> Trial | None:
        """The trial in progress (the last one started)."""
        return self.trials[-1] if self.trials else None

    def put(self, item: SessionInput) -> None:
        """An input for the session (the listener and the prompt player call this)."""
        self._pending.append(item)

    def listen(self, effect: Listen) -> None:
        """The session says what to listen for: the listener's moment, as a live session sets it."""
        self._moment = moment_for(effect, self._recognizer.free_speech)

    def next_input(self, session: Session) -> SessionInput | None:
        """What was heard or played; else a trial at a question, a key, or the next deadline."""
        while not self._pending:
            if session.listening().short_answer:
                if not self._plan:
                    trial = self.current
                    if trial is not None and trial.decision is None:
                        trial.handed_at = None  # the goodbye is no reply to it
                    return Stop()
                self._trial(*self._plan.popleft())
                continue
            allowed = session.allowed()
            key = next((i for i in MOVE_ON if i in allowed), None)
            if key is not None:
                return KeyCommand(key)
            deadline = session.next_deadline()
            if deadline is None:
                raise RuntimeError(f"the session waits for nothing in phase {session.phase}")
            self._clock.advance_to(deadline)
            return None
        item = self._pending.popleft()
        trial = self.current
        if isinstance(item, Heard) and trial is not None and trial.decision is None:
            trial.handed_at = time.perf_counter()
        return item

    def _trial(self, intent: Intent, phrase: str, utterance: bytes) -> None:
        pcm = mix(silence(LEAD) + utterance + silence(TAIL), self._bed, self._snr, self._rng)
        speech_end = LEAD + speech_bounds(utterance)[1]
        trial = Trial(phrase, intent)
        self.trials.append(trial)
        hearing = hear(self._recognizer, self._moment, pcm, end_after=speech_end)
        assert hearing.endpoint is not None
        trial.eos = hearing.endpoint - speech_end
        timing = hearing.timing
        trial.recognition = timing.recognized - timing.endpoint if timing else None
        trial.early = bool(timing and timing.early)
        # Voice activity goes to the session as it was heard; of the words only the answer
        # (the last utterance): a clatter heard as "uh" before it would make the session ask
        # the question again, and that reply is not the one being timed.
        for item in hearing.inputs:
            if isinstance(item, SpeechStarted | SpeechEnded):
                self.put(item)
        if hearing.texts:
            self.put(Heard(hearing.texts[-1]))


def run_trials(lang: str, engine: Engine, bed: bytes, cfg: BenchConfig, rig: bool,
               cache_dir: Path) -> list[Trial]:
    """``cfg.latency_trials`` answers in ``lang``, in as many sessions as that takes."""
    texts = load_texts(lang)
    exercise = find_exercise(EXERCISE[lang], lang)
    answers = [(i, p) for i in (Intent.YES, Intent.NO) for p in texts.intents[i]]
    plan = []
    for n in range(cfg.latency_trials):
        intent, phrase = answers[n % len(answers)]
        plan.append((intent, phrase, speech(phrase, VOICES[lang][n % len(VOICES[lang])], 175)))
    clock = VirtualClock()
    recognizer = engine.make()
    warm_up(recognizer, lang, bed, cfg)
    source = AnswerTrials(clock, recognizer, plan, bed, cfg.latency_snr, random.Random(11))
    speaker = voice_speaker(lang, cache_dir, rig)
    # A session starts its output with its first prompts and has just played the question
    # when it is answered; the time a fresh stream takes to start belongs to the rig's pace
    # (see rig_pace), not to a reply. So the stream starts, and is heard running, first.
    assert isinstance(speaker.output, AudioOutput)
    speaker.output.play(silence(0.2, SPEECH_RATE), SPEECH_RATE)
    reply = ReplyTimer(speaker, source.put)

    def perform(effect: Effect) -> None:
        trial = source.current
        if isinstance(effect, Listen):
            source.listen(effect)
        elif isinstance(effect, Log) and isinstance(effect.event, HeardLogged):
            if trial is not None and trial.decision is None:
                trial.heard = effect.event.text
                trial.correct = effect.event.intent is trial.intent
        elif isinstance(effect, Say | PlayChime | PlayRecording):
            if trial is not None and trial.handed_at is not None and trial.decision is None:
                trial.decision = time.perf_counter() - trial.handed_at
                trial.playback = reply.first_block(effect)
            else:
                source.put(PromptPlayed(effect.prompt))  # heard at once

    try:
        while source.remaining:
            pump(Session(exercise, NAMES, texts, clock), source, perform)
    finally:
        reply.player.close()
    return source.trials


def warm_up(recognizer: Recognizer, lang: str, bed: bytes, cfg: BenchConfig) -> None:
    """Let ``recognizer`` hear someone talk first, as a session's recognizer has by its first
    question (pocketsphinx decodes its first seconds twice, and only then gives partial
    results)."""
    pcm, _count = talk(lang, WARM_SECONDS, bed, cfg.latency_snr, seed=23)
    turn = Listen(tuple(IntentMatcher(load_texts(lang), NAMES).phrases_for(EVERYWHERE)), (),
                  free_speech=False, short_answer=False)
    hear(recognizer, moment_for(turn), pcm)


def heard_parts(recognizer: Recognizer, where: Moment, pcm: bytes
                ) -> list[tuple[float, str]]:
    """(audio seconds at which it ended, text) of every utterance found in ``pcm``."""
    parts: list[tuple[float, str]] = []
    listener = Listener(VoiceActivity(), recognizer, lambda _item: None)
    listener.set_moment(where)
    seen = None
    for index, piece in enumerate(chunks(pcm)):
        listener.feed(piece, captured_at=(index + 1) * CHUNK_SECONDS)
        if listener.last_timing is not seen and listener.last_timing is not None:
            seen = listener.last_timing
            parts.append(((index + 1) * CHUNK_SECONDS, seen.text))
    listener.flush()
    if listener.last_timing is not seen and listener.last_timing is not None:
        parts.append((len(pcm) / WIDTH / RATE, listener.last_timing.text))
    return parts


def count_cutoffs(lang: str, engine: Engine, bed: bytes, cfg: BenchConfig) -> dict[str, Any]:
    """Replies that start like a ja/nee and go on: how often an answer cut one off.

    Each reply of :data:`LONGER_REPLIES` is heard at a ja/nee question, by every voice, with the
    kitchen under it. A cut-off is an utterance that ends while the reply still goes on and
    that the session would act on (a command allowed there): it would answer while the person
    is still speaking. Counted with the early end and, for comparison, with the full silence.
    """
    matcher = IntentMatcher(load_texts(lang), NAMES)
    allowed = EVERYWHERE | ANSWERS
    early = moment(matcher, engine, "answer")
    recognizer = engine.make()
    warm_up(recognizer, lang, bed, cfg)
    rng = random.Random(5)
    counts = dict.fromkeys(("early_end", "full_silence", "slow_early_end", "slow_full_silence"),
                           0)
    examples: list[dict[str, Any]] = []
    replies = 0
    for reply in LONGER_REPLIES[lang][:3 if cfg.quick else None]:
        for voice in VOICES[lang][:max(1, cfg.voices)]:
            for speed in (*CUTOFF_SPEEDS, SLOW_SPEED):
                utterance = speech(reply, voice, speed)
                pcm = mix(silence(LEAD) + utterance + silence(TAIL), bed, cfg.latency_snr, rng)
                speech_end = LEAD + speech_bounds(utterance)[1]
                slow = "slow_" if speed == SLOW_SPEED else ""
                replies += not slow
                for key, where in (("early_end", early),
                                   ("full_silence", replace(early, early_end=None))):
                    cut = [(at, text) for at, text in heard_parts(recognizer, where, pcm)
                           if at < speech_end - 0.1 and matcher.match(text, allowed) is not None]
                    if cut:
                        counts[slow + key] += 1
                        if len(examples) < 6:
                            examples.append({"said": reply, "speed": speed, "heard": cut[0][1],
                                             "how": key})
    return {"replies": replies, "speeds": CUTOFF_SPEEDS, "cutoffs": counts["early_end"],
            "cutoffs_full_silence": counts["full_silence"], "slow_speed": SLOW_SPEED,
            "slow_cutoffs": counts["slow_early_end"],
            "slow_cutoffs_full_silence": counts["slow_full_silence"], "examples": examples}


def measure_latency(engines: list[Engine], bed: bytes, cfg: BenchConfig, rig: bool,
                    cache_dir: Path) -> dict[str, Any]:
    """Response latency per language with the recognizer a session would use (or could)."""
    results: dict[str, Any] = {}
    for lang in LANGUAGES:
        candidates = [e for e in engines if e.lang == lang and e.grammar]
        engine = next((e for e in candidates if e.default), candidates[0] if candidates else None)
        if engine is None:
            results[lang] = {"recognizer": None, "note": "no recognizer: nothing to answer"}
            continue
        results[lang] = summarise_trials(engine, run_trials(lang, engine, bed, cfg, rig,
                                                            cache_dir))
        results[lang]["longer_replies"] = count_cutoffs(lang, engine, bed, cfg)
    return results


def summarise_trials(engine: Engine, trials: list[Trial]) -> dict[str, Any]:
    """Percentiles of each stage, in milliseconds."""
    def stats(values: Iterable[float | None]) -> dict[str, float | None]:
        ms = [v * 1000 for v in values if v is not None and not math.isnan(v)]
        return {"p50": percentile(ms, 50), "p95": percentile(ms, 95), "n": len(ms)}

    return {
        "recognizer": engine.label,
        "session_default": engine.default,
        "trials": len(trials),
        "responded": sum(t.total is not None for t in trials),
        "understood": sum(t.correct for t in trials),
        "ended_early": sum(t.early for t in trials),
        "eos_ms": stats(t.eos for t in trials),
        "recognition_ms": stats(t.recognition for t in trials),
        "decision_ms": stats(t.decision for t in trials),
        "playback_start_ms": stats(t.playback for t in trials),
        "total_ms": stats(t.total for t in trials),
        "after_eos_ms": stats(t.after_eos for t in trials),
        "misheard": [{"said": t.phrase, "heard": t.heard} for t in trials if not t.correct][:8],
    }
