#!/usr/bin/env python3
"""Benchmark: is the voice loop fast and accurate enough for a conversation at the kitchen table?

Runs the code a live session runs — voice activity, the recognizers, the intent matcher, the
session, the speaker and its warm output stream — on audio generated here: espeak-ng speech,
mixed with generated kitchen noise (pink and brown noise, a fridge hum, clattering dishes).
Prints a table and writes ``bench/results.json``::

    .venv/bin/python scripts/bench.py            # everything (about 15 minutes on 2 cores)
    .venv/bin/python scripts/bench.py --quick    # a smoke run of every measurement, < 3 min

Sound goes to the PulseAudio rig of scripts/pulse-up when it runs (``eval "$(scripts/pulse-up)"``
first); otherwise to a fake output stream that takes audio at a sound card's pace, and the
results say so. The microphone side is fed 20 ms at a time, as a microphone delivers it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import itertools
import json
import logging
import math
import os
import platform
import queue
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.asr import (  # noqa: E402
    DUTCH_DICTIONARY,
    PocketsphinxRecognizer,
    VoskRecognizer,
    find_model,
    load_recognizer,
)
from assistant.engine.clock import RealClock, VirtualClock  # noqa: E402
from assistant.engine.exercises import Exercise, find_exercise  # noqa: E402
from assistant.engine.intents import IntentMatcher  # noqa: E402
from assistant.engine.messages import (  # noqa: E402
    Chime,
    Heard,
    Intent,
    KeyCommand,
    LogEvent,
    SpeechEnded,
    SpeechStarted,
    TimerFired,
)
from assistant.engine.session import (  # noqa: E402
    ANSWERS,
    EVERYWHERE,
    FLOOR_ENDS,
    WHILE_PAUSED,
    Session,
    Timing,
    with_overrides,
)
from assistant.engine.texts import LANGUAGES, Texts, load_texts  # noqa: E402
from assistant.listen import Listener, Moment, moment_for  # noqa: E402
from assistant.live import run_live  # noqa: E402
from assistant.mic import AudioChunk, SpeakingGate  # noqa: E402
from assistant.playback import AudioOutput  # noqa: E402
from assistant.ports import Recognizer  # noqa: E402
from assistant.rig import pulse as audio_rig  # noqa: E402  (points PulseAudio clients at the rig)
from assistant.rig.speech import SAMPLE_RATE, silence, synth  # noqa: E402
from assistant.tts import VoiceSpeaker, build_voice_speaker  # noqa: E402
from assistant.vad import VoiceActivity  # noqa: E402
from assistant.voice import SPEAKER_TAIL_SECONDS, MicLoop  # noqa: E402

_LOGGER = logging.getLogger("bench")

BENCH_DIR = ROOT / "bench"
RESULTS = BENCH_DIR / "results.json"
SEEDS = Path(os.environ.get("SAMENSPRAAK_SEEDS", "/work/shared/seeds"))
CHUNK_SECONDS = 0.02
CHUNK_BYTES = round(SAMPLE_RATE * CHUNK_SECONDS) * 2
NAMES = ("Anna", "Ben")
EXERCISE = {"nl": "spiegelen", "en": "mirroring"}
"""Exercises with a ja/nee question after a mirror: where the latency trials take place."""
TIMING_EXERCISE = "daily-check-in"
VOICES = {"nl": (("nl", None), ("nl", "m3"), ("nl", "f3")),
          "en": (("en-us", None), ("en", "m3"), ("en", "f3"))}
"""espeak-ng voices (voice, variant) that play the couple."""
CLEAN = None
SECTIONS = ("latency", "accuracy", "false_commands", "cost", "timing")
NOISE_BED_RMS = 1000.0
ROOM_TONE_RMS = 30.0
"""A quiet room: about -61 dBFS of room noise."""


@dataclass(frozen=True)
class BenchConfig:
    """How much of everything to run."""

    quick: bool
    latency_trials: int
    """Trials per language."""
    voices: int
    """How many of each language's VOICES the accuracy corpus uses."""
    speeds: tuple[int, ...]
    """espeak-ng words per minute."""
    conditions: tuple[float | None, ...]
    """Clean (None) and signal-to-noise ratios in dB."""
    phrases_per_intent: int | None
    """None: every command phrase."""
    false_seconds: dict[str, float]
    """Seconds of command-free speech per language."""
    cpu_seconds: float
    """Real-time seconds of a silent room, and of someone talking."""
    rss_minutes: float
    """Simulated minutes of the memory run; growth is measured over its second half."""
    startup_runs: tuple[str, ...]
    """Cache states of the start-up runs: 'cold' (empty prompt cache) and/or 'warm'."""
    timing_sessions: int
    """Short sessions on the real clock."""
    noise_seconds: float = 60.0
    latency_snr: float = 20.0
    """The kitchen during the latency trials."""


FULL = BenchConfig(quick=False, latency_trials=50, voices=3, speeds=(140, 175),
                   conditions=(CLEAN, 20.0, 10.0, 5.0), phrases_per_intent=None,
                   false_seconds={"nl": 240.0, "en": 180.0}, cpu_seconds=30.0, rss_minutes=120.0,
                   startup_runs=("cold", "warm"), timing_sessions=3)
QUICK = BenchConfig(quick=True, latency_trials=10, voices=1, speeds=(160,),
                    conditions=(CLEAN, 10.0), phrases_per_intent=1,
                    false_seconds={"nl": 30.0, "en": 30.0}, cpu_seconds=5.0, rss_minutes=3.0,
                    startup_runs=("cold",), timing_sessions=1, noise_seconds=20.0)


# --- generated audio ----------------------------------------------------------------------------


def _audioop() -> ModuleType:
    """The stdlib audioop module (deprecated on 3.11-3.12, audioop-lts from 3.13)."""
    with warnings.catch_warnings():
        # Expected on Python 3.11-3.12: audioop announces its removal; it is still there.
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop
    return audioop


def kitchen_noise(seconds: float, seed: int = 7) -> bytes:
    """Kitchen noise as 16 kHz PCM at RMS :data:`NOISE_BED_RMS`: pink and brown noise, a 50 Hz
    fridge hum with harmonics, and the clatter of cutlery and plates every second or two."""
    rng = random.Random(seed)
    n = round(seconds * SAMPLE_RATE)
    pink, brown = _coloured_noise(n, rng)
    period = SAMPLE_RATE // 50
    hum = [math.sin(2 * math.pi * i / period) + 0.5 * math.sin(4 * math.pi * i / period)
           + 0.3 * math.sin(6 * math.pi * i / period) for i in range(period)]
    mixed = array("d", (0.8 * p + 0.5 * b + 0.15 * hum[i % period]
                        for i, (p, b) in enumerate(zip(pink, brown, strict=True))))
    _add_clatter(mixed, rng)
    return _to_pcm(mixed, NOISE_BED_RMS)


def _coloured_noise(n: int, rng: random.Random) -> tuple[array, array]:
    """Pink (Paul Kellet's filter) and brown noise, each scaled to RMS 1."""
    pink, brown = array("d", bytes(8 * n)), array("d", bytes(8 * n))
    b0 = b1 = b2 = br = 0.0
    gauss = rng.gauss
    for i in range(n):
        w = gauss(0.0, 1.0)
        b0 = 0.99765 * b0 + w * 0.0990460
        b1 = 0.96300 * b1 + w * 0.2965164
        b2 = 0.57000 * b2 + w * 1.0526913
        br = (br + 0.02 * w) / 1.02
        pink[i] = b0 + b1 + b2 + w * 0.1848
        brown[i] = br
    for signal in (pink, brown):
        scale = 1.0 / (math.sqrt(sum(x * x for x in signal) / n) or 1.0)
        for i in range(n):
            signal[i] *= scale
    return pink, brown


def _add_clatter(signal: array, rng: random.Random) -> None:
    """Add short ringing knocks (a spoon on a plate, a glass put down) at random moments."""
    t = rng.uniform(0.2, 1.0)
    while (start := round(t * SAMPLE_RATE)) < len(signal):
        freq = rng.uniform(1500.0, 5000.0)
        decay = rng.uniform(0.008, 0.04) * SAMPLE_RATE
        peak = rng.uniform(2.0, 6.0)
        for k in range(min(round(6 * decay), len(signal) - start)):
            env = peak * math.exp(-k / decay)
            ring = math.sin(2 * math.pi * freq * k / SAMPLE_RATE)
            signal[start + k] += env * (0.7 * ring + 0.3 * rng.uniform(-1.0, 1.0))
        t += rng.uniform(0.6, 2.5)


def _to_pcm(signal: array, rms: float) -> bytes:
    """Scale ``signal`` to ``rms`` and clip it to 16-bit PCM."""
    now = math.sqrt(sum(x * x for x in signal) / max(1, len(signal))) or 1.0
    gain = rms / now
    return array("h", (max(-32768, min(32767, round(x * gain))) for x in signal)).tobytes()


def speech(text: str, voice: tuple[str, str | None], speed: int) -> bytes:
    """``text`` spoken by espeak-ng (cached), 16 kHz mono PCM."""
    return synth(text, voice[0], voice[1], speed)


def speech_bounds(pcm: bytes) -> tuple[float, float]:
    """Seconds of the first and last 10 ms window louder than -40 dB below the loudest one."""
    rms = _audioop().rms
    size = round(SAMPLE_RATE * 0.01) * 2
    levels = [rms(pcm[i:i + size], 2) for i in range(0, len(pcm), size)]
    floor = max(max(levels, default=0) * 0.01, 20)
    loud = [i for i, level in enumerate(levels) if level >= floor]
    if not loud:
        return 0.0, 0.0
    return loud[0] * 0.01, min(len(pcm) / 2 / SAMPLE_RATE, (loud[-1] + 1) * 0.01)


def mix(pcm: bytes, bed: bytes, snr_db: float | None, rng: random.Random,
        speech_rms: float | None = None) -> bytes:
    """``pcm`` with a random stretch of ``bed`` under it at ``snr_db`` (None: unchanged)."""
    if snr_db is None:
        return pcm
    audioop = _audioop()
    if speech_rms is None:
        start, end = speech_bounds(pcm)
        speech_rms = audioop.rms(pcm[round(start * SAMPLE_RATE) * 2:round(end * SAMPLE_RATE) * 2],
                                 2) or 1
    noise = _noise_stretch(bed, len(pcm), rng)
    gain = speech_rms / ((audioop.rms(noise, 2) or 1) * 10 ** (snr_db / 20))
    return audioop.add(pcm, audioop.mul(noise, 2, gain), 2)


def room_tone(bed: bytes, seconds: float, rng: random.Random) -> bytes:
    """A silent room: the kitchen bed turned down to :data:`ROOM_TONE_RMS`."""
    noise = _noise_stretch(bed, 2 * round(seconds * SAMPLE_RATE), rng)
    return _audioop().mul(noise, 2, ROOM_TONE_RMS / NOISE_BED_RMS)


def _noise_stretch(bed: bytes, size: int, rng: random.Random) -> bytes:
    """``size`` bytes of the bed from a random (even) offset, wrapping around."""
    start = rng.randrange(0, len(bed) // 2) * 2
    out = bytearray()
    while len(out) < size:
        out += bed[start:start + size - len(out)]
        start = 0
    return bytes(out)


def chunks(pcm: bytes) -> Iterator[bytes]:
    """20 ms pieces, as a microphone hands them out."""
    for offset in range(0, len(pcm), CHUNK_BYTES):
        yield pcm[offset:offset + CHUNK_BYTES]


def prose_sentences(lang: str) -> tuple[list[str], str]:
    """Command-free sentences and where they come from: the seed articles (Dutch) or a file."""
    if lang == "nl" and SEEDS.is_dir() and list(SEEDS.glob("*.txt")):
        text = "\n".join(p.read_text("utf-8") for p in sorted(SEEDS.glob("*.txt")))
        source = f"seed articles ({SEEDS})"
    else:
        path = BENCH_DIR / f"prose-{lang}.txt"
        text, source = path.read_text("utf-8"), str(path.relative_to(ROOT))
    sentences = []
    for line in text.splitlines():
        for sentence in re.split(r"(?<=[.!?])\s+", line.strip(" •-*\t")):
            if len(sentence.split()) >= 4:
                sentences.append(sentence)
    return sentences, source


def talk(lang: str, seconds: float, bed: bytes, snr_db: float, seed: int = 3
         ) -> tuple[bytes, int]:
    """About ``seconds`` of someone talking without a command, and how many sentences: each
    voice in turn, pauses of 0.3-1.2 s (some shorter than an endpoint), kitchen noise under it
    at ``snr_db`` against the level of the speech itself."""
    rng = random.Random(seed)
    sentences, _source = prose_sentences(lang)
    spoken: list[bytes] = []
    out = bytearray()
    while len(out) < seconds * SAMPLE_RATE * 2 and len(spoken) < len(sentences):
        voice = VOICES[lang][len(spoken) % len(VOICES[lang])]
        spoken.append(speech(sentences[len(spoken)], voice, 160))
        out += spoken[-1] + silence(rng.uniform(0.3, 1.2))
    level = _audioop().rms(b"".join(spoken), 2)
    return mix(bytes(out), bed, snr_db, rng, speech_rms=level), len(spoken)


# --- recognizers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Engine:
    """One recognizer set-up that the benchmark compares."""

    label: str
    """What it is, e.g. 'pocketsphinx grammar'."""
    lang: str
    """The language it listens for."""
    make: Callable[[], Recognizer]
    """Loads a fresh recognizer: each measurement starts like a new session."""
    grammar: bool
    """True: restricted to the phrases of the moment; False: free speech."""
    default: bool
    """True when a session in this language uses exactly this set-up."""


def discover_engines() -> tuple[list[Engine], dict[str, Any]]:
    """Every recognizer set-up available here, and what a session would load per language."""
    engines: list[Engine] = []
    info: dict[str, Any] = {"session_default": {}, "vosk_models": {}}
    for lang in LANGUAGES:
        model = find_model(lang, None, os.environ)
        info["vosk_models"][lang] = str(model) if model else None
        chosen, _notices = load_recognizer(lang, model)
        name = getattr(chosen, "name", None)
        info["session_default"][lang] = name
        if name == "vosk":
            vosk = partial(VoskRecognizer, chosen.model_path)  # type: ignore[union-attr]
            engines.append(Engine("vosk grammar", lang, vosk, True, True))
            engines.append(Engine("vosk free", lang, vosk, False, False))
        if (name or "").startswith("pocketsphinx") or _pocketsphinx_works(lang):
            label = "pocketsphinx grammar" if lang == "en" else "pocketsphinx-nl dictionary"
            engines.append(Engine(label, lang, partial(PocketsphinxRecognizer, lang), True,
                                  (name or "").startswith("pocketsphinx")))
    info["present"] = [f"{e.lang}: {e.label}" for e in engines]
    info["code_sha256"] = {str(p.relative_to(ROOT)): hashlib.sha256(p.read_bytes()).hexdigest()
                           for p in (ROOT / "assistant" / "asr.py", DUTCH_DICTIONARY)
                           if p.exists()}
    return engines, info


def _pocketsphinx_works(lang: str) -> bool:
    try:
        PocketsphinxRecognizer(lang)
    except (ImportError, RuntimeError) as exc:  # not installed, or its model failed to load
        _LOGGER.warning("no pocketsphinx for %s: %s", lang, exc)
        return False
    return True


# --- what a session listens for ---------------------------------------------------------------


CONTEXTS: dict[str, tuple[frozenset[Intent], bool]] = {
    "answer": (EVERYWHERE | ANSWERS, True),
    "turn": (EVERYWHERE | FLOOR_ENDS, False),
    "paused": (WHILE_PAUSED, False),
}
"""Where a command is said: the intents the session acts on there, and whether a ja/nee is due."""


def context_of(intent: Intent) -> str:
    """Where a session waits for ``intent``: a question, a pause, or else a speaking turn."""
    if intent in ANSWERS:
        return "answer"
    return "paused" if intent is Intent.RESUME else "turn"


def moment(matcher: IntentMatcher, engine: Engine, context: str) -> Moment:
    """The recognizer's grammar and endpoint there, as a session publishes them."""
    allowed, short = CONTEXTS[context]
    chosen = moment_for(matcher.phrases_for(allowed), matcher.fillers, False, short)
    return chosen if engine.grammar else replace(chosen, phrases=None)


@dataclass
class Hearing:
    """What the live listening path made of a recording."""

    utterances: int = 0
    """Stretches of speech that voice activity found."""
    texts: list[str] = field(default_factory=list)
    """What the recognizer made of them (empty results left out), in order."""

    def take(self, item: object) -> None:
        """The listener's emit callback."""
        if isinstance(item, SpeechEnded):
            self.utterances += 1
        elif isinstance(item, Heard):
            self.texts.append(item.text)


def hear(recognizer: Recognizer | None, where: Moment, pcm: bytes) -> Hearing:
    """Every utterance the live listening path finds in ``pcm``, and what it recognised."""
    hearing = Hearing()
    listener = Listener(VoiceActivity(), recognizer, hearing.take)
    listener.set_moment(where)
    for piece in chunks(pcm):
        listener.feed(piece)
    listener.flush()
    return hearing


def acted_on(matcher: IntentMatcher, heard: Iterable[str], allowed: frozenset[Intent]
             ) -> Intent | None:
    """The first command a session would act on among the utterances heard."""
    for text in heard:
        intent = matcher.match(text, allowed)
        if intent is not None:
            return intent
    return None


# --- the loudspeaker side ------------------------------------------------------------------------


class PacedStream:
    """A fake output stream that takes audio at the pace a sound card plays it (100 ms buffer)."""

    BUFFER_SECONDS = 0.1

    def __init__(self, device: object, sample_rate: int, channels: int) -> None:
        self._bytes_per_second = sample_rate * channels * 2
        self._started = 0.0
        self._written = 0

    def start(self) -> None:
        """Begin playing."""
        self._started, self._written = time.monotonic(), 0

    def write(self, data: bytes) -> None:
        """Block while the buffer is full."""
        self._written += len(data)
        ahead = (self._written / self._bytes_per_second - self.BUFFER_SECONDS
                 - (time.monotonic() - self._started))
        if ahead > 0:
            time.sleep(ahead)

    def stop(self) -> None:
        """Nothing is left to play."""

    def close(self) -> None:
        """Nothing to release."""


def make_output(rig: bool) -> AudioOutput:
    """The warm output of a session: the rig's default device, or a paced fake stream."""
    return AudioOutput(None) if rig else AudioOutput(stream_factory=PacedStream)


def voice_speaker(lang: str, cache_dir: Path, rig: bool) -> VoiceSpeaker:
    """The speaker a session builds, with its output on the rig or on a paced fake stream."""
    speaker = build_voice_speaker(lang, cache_dir=cache_dir,
                                  on_notice=lambda key: _LOGGER.info("notice %s", key),
                                  print_fn=lambda text: _LOGGER.info("printed %r", text))
    if not rig:
        speaker.output = make_output(rig)
    return speaker


def play_start(speaker: VoiceSpeaker, text: str) -> float:
    """Seconds from ``say()`` of a rendered prompt until its first block went to the device."""
    output = speaker.output
    assert isinstance(output, AudioOutput)
    speaker.pcm_for(text)  # rendered ahead, as Session.start() has the speaker prepare it
    started = time.monotonic()
    worker = threading.Thread(target=speaker.say, args=(text,), daemon=True)
    worker.start()
    while not output.last_play_started >= started and worker.is_alive():
        time.sleep(0.0005)
    output.interrupt()  # the rest of the prompt does not matter here
    worker.join()
    return output.last_play_started - started if output.last_play_started >= started else math.nan


# --- measurement 1: response latency --------------------------------------------------------------


class ProbeSpeaker:
    """A speaker that only notes when the session first spoke after :meth:`arm`, and what."""

    def __init__(self, on_call: Callable[[], None] | None = None) -> None:
        self.first_at: float | None = None
        self.first_line: str | None = None
        self.last_call = time.monotonic()
        self._on_call = on_call

    def arm(self) -> None:
        """Forget what was said before."""
        self.first_at, self.first_line = None, None

    def _note(self) -> None:
        now = time.perf_counter()
        if self.first_at is None:
            self.first_at = now
        self.last_call = time.monotonic()

    def say(self, text: str) -> None:
        """Note the line."""
        self._note()
        if self.first_line is None:
            self.first_line = text

    def chime(self, chime: Chime) -> None:
        """Note the chime."""
        self._note()

    def change_pace(self, faster: bool) -> bool:
        """Accept."""
        return True

    def prepare(self, texts: Iterable[str]) -> None:
        """Nothing to render."""

    def close(self) -> None:
        """Nothing to release."""


class AnswerDriver:
    """Keeps a session (on a virtual clock) at a ja/nee question, the moment a trial needs."""

    def __init__(self, exercise: Exercise, texts: Texts, speaker: ProbeSpeaker) -> None:
        self._exercise, self._texts, self._speaker = exercise, texts, speaker
        self._clock = VirtualClock()
        self.session: Session | None = None

    def ready(self) -> Session:
        """The session, waiting for a ja/nee; moves other waits on with a key or their time."""
        while True:
            session = self.session
            if session is None or session.done:
                session = self.session = Session(self._exercise, NAMES, self._texts, self._clock,
                                                 self._speaker, lambda event: None)
                session.start()
            listening = session.listening()
            if listening.short_answer:
                return session
            key = next((i for i in (Intent.DONE, Intent.NEXT, Intent.RESUME)
                        if i in listening.intents), None)
            if key is not None:
                session.handle(KeyCommand(key))
            else:
                deadline = session.next_deadline()
                self._clock.advance_to(deadline if deadline is not None else self._clock.now())
                session.tick()


@dataclass
class Trial:
    """One answer to a ja/nee question, from the end of speech to the first answer block."""

    phrase: str
    heard: str = ""
    correct: bool = False
    eos: float | None = None
    """Audio seconds from the last speech sample to the endpoint."""
    recognition: float | None = None
    decision: float | None = None
    playback: float | None = None

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


def latency_trial(recognizer: Recognizer, driver: AnswerDriver, probe: ProbeSpeaker,
                  out: VoiceSpeaker, phrase: str, intent: Intent, utterance: bytes,
                  bed: bytes, cfg: BenchConfig, rng: random.Random) -> Trial:
    """Say ``phrase`` into the listener at a ja/nee question and time each stage of the answer."""
    session = driver.ready()
    matcher = IntentMatcher(session.texts, NAMES)
    lead, tail = 0.5, 2.0
    pcm = mix(silence(lead) + utterance + silence(tail), bed, cfg.latency_snr, rng)
    speech_end = lead + speech_bounds(utterance)[1]
    listening = session.listening()
    events: list[Any] = []
    listener = Listener(VoiceActivity(), recognizer, events.append)
    listener.set_moment(moment_for(session.command_phrases(), matcher.fillers,
                                   listening.free_speech, listening.short_answer))
    trial = Trial(phrase)
    endpoint = None
    for index, piece in enumerate(chunks(pcm)):
        at = (index + 1) * CHUNK_SECONDS
        before = len(events)
        listener.feed(piece, captured_at=at)
        if at >= speech_end and any(isinstance(e, SpeechEnded) for e in events[before:]):
            endpoint = at
            break
    if endpoint is None:  # the noise kept the utterance open until the clip ended
        listener.flush()
        endpoint = len(pcm) / 2 / SAMPLE_RATE
    timing = listener.last_timing
    trial.eos = endpoint - speech_end
    trial.recognition = timing.recognized - timing.endpoint if timing else None
    heard = [e for e in events if isinstance(e, Heard)]
    for event in events:
        if isinstance(event, SpeechStarted | SpeechEnded):
            session.handle(event)
    if not heard:
        return trial
    trial.heard = heard[-1].text
    trial.correct = matcher.match(trial.heard, listening.intents) is intent
    probe.arm()
    started = time.perf_counter()
    session.handle(heard[-1])
    if probe.first_at is None:
        return trial
    trial.decision = probe.first_at - started
    if probe.first_line:
        trial.playback = play_start(out, probe.first_line)
    return trial


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
        texts = load_texts(lang)
        probe = ProbeSpeaker()
        driver = AnswerDriver(find_exercise(EXERCISE[lang], lang), texts, probe)
        out = voice_speaker(lang, cache_dir, rig)
        rng = random.Random(11)
        recognizer = engine.make()
        answers = [(i, p) for i in (Intent.YES, Intent.NO) for p in texts.intents[i]]
        trials = []
        try:
            for n in range(cfg.latency_trials):
                intent, phrase = answers[n % len(answers)]
                voice = VOICES[lang][n % len(VOICES[lang])]
                utterance = speech(phrase, voice, 175)
                trials.append(latency_trial(recognizer, driver, probe, out, phrase, intent,
                                            utterance, bed, cfg, rng))
        finally:
            out.close()
        results[lang] = summarise_trials(engine, trials)
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
        "eos_ms": stats(t.eos for t in trials),
        "recognition_ms": stats(t.recognition for t in trials),
        "decision_ms": stats(t.decision for t in trials),
        "playback_start_ms": stats(t.playback for t in trials),
        "total_ms": stats(t.total for t in trials),
        "after_eos_ms": stats(t.after_eos for t in trials),
        "misheard": [{"said": t.phrase, "heard": t.heard} for t in trials if not t.correct][:8],
    }


def percentile(values: list[float], pct: float) -> float | None:
    """The ``pct`` percentile (linear interpolation), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100
    low, high = math.floor(k), math.ceil(k)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (k - low), 2)


# --- measurement 2: command accuracy --------------------------------------------------------------


def command_corpus(lang: str, cfg: BenchConfig) -> list[tuple[Intent, str, tuple, int]]:
    """(intent, phrase, voice, speed) for every command phrase (quick: a few) of ``lang``."""
    texts = load_texts(lang)
    corpus = []
    for intent, phrases in texts.intents.items():
        chosen = phrases if cfg.phrases_per_intent is None else phrases[:cfg.phrases_per_intent]
        for phrase in chosen:
            for voice in VOICES[lang][:cfg.voices]:
                for speed in cfg.speeds:
                    corpus.append((intent, phrase, voice, speed))
    return corpus


def condition_name(snr: float | None) -> str:
    """'clean' or '10 dB'."""
    return "clean" if snr is None else f"{snr:g} dB"


def measure_accuracy(engines: list[Engine], bed: bytes, cfg: BenchConfig) -> dict[str, Any]:
    """Share of command utterances the session acts on correctly, per recognizer and noise."""
    results: dict[str, Any] = {}
    for lang in LANGUAGES:
        corpus = command_corpus(lang, cfg)
        matcher = IntentMatcher(load_texts(lang), NAMES)
        per_engine: dict[str, Any] = {"no recognizer": {
            condition_name(s): {"correct": 0, "wrong_command": 0, "total": len(corpus),
                                "accuracy": 0.0} for s in cfg.conditions}}
        for engine in (e for e in engines if e.lang == lang):
            per_engine[engine.label] = accuracy_of(engine, matcher, corpus, bed, cfg)
        results[lang] = {"utterances_per_condition": len(corpus), "recognizers": per_engine}
    return results


def accuracy_of(engine: Engine, matcher: IntentMatcher, corpus: list, bed: bytes,
                cfg: BenchConfig) -> dict[str, Any]:
    """One recognizer over the whole corpus in every noise condition; each condition starts
    with a fresh recognizer, like a session in a kitchen that loud."""
    rng = random.Random(5)
    out: dict[str, Any] = {}
    for snr in cfg.conditions:
        recognizer = engine.make()
        correct, wrong, errors = 0, 0, []
        for intent, phrase, voice, speed in corpus:
            context = context_of(intent)
            pcm = mix(silence(0.4) + speech(phrase, voice, speed) + silence(0.8), bed, snr, rng)
            heard = hear(recognizer, moment(matcher, engine, context), pcm).texts
            got = acted_on(matcher, heard, CONTEXTS[context][0])
            correct += got is intent
            wrong += got is not None and got is not intent
            if got is not intent and len(errors) < 12:
                errors.append({"said": phrase, "heard": " | ".join(heard), "acted": got})
        out[condition_name(snr)] = {"correct": correct, "wrong_command": wrong,
                                    "total": len(corpus),
                                    "accuracy": round(100 * correct / len(corpus), 1),
                                    "errors": errors}
    return out


# --- measurement 3: false commands ----------------------------------------------------------------


def measure_false_commands(engines: list[Engine], bed: bytes, cfg: BenchConfig
                           ) -> dict[str, Any]:
    """Commands acted upon while someone talks without giving one, during a speaking turn."""
    results: dict[str, Any] = {}
    allowed = CONTEXTS["turn"][0]
    for lang in LANGUAGES:
        pcm, sentences = talk(lang, cfg.false_seconds[lang], bed, 20.0)
        matcher = IntentMatcher(load_texts(lang), NAMES)
        utterances = hear(None, moment_for((), (), False, False), pcm).utterances
        entry: dict[str, Any] = {"source": prose_sentences(lang)[1], "sentences": sentences,
                                 "seconds": round(len(pcm) / 2 / SAMPLE_RATE, 1),
                                 "utterances": utterances,
                                 "recognizers": {"no recognizer": {"recognised": 0,
                                                                   "commands": 0}}}
        for engine in (e for e in engines if e.lang == lang):
            heard = hear(engine.make(), moment(matcher, engine, "turn"), pcm).texts
            acted = [(text, matcher.match(text, allowed)) for text in heard]
            acted = [(text, intent) for text, intent in acted if intent is not None]
            entry["recognizers"][engine.label] = {
                "recognised": len(heard), "commands": len(acted),
                "examples": [{"heard": t, "acted": i} for t, i in acted[:10]]}
        results[lang] = entry
    return results


# --- measurement 4: cost --------------------------------------------------------------------------


class ScriptedMic:
    """A microphone that plays PCM pieces: in real time, or as fast as the reader takes them.

    It stands where :class:`assistant.mic.Microphone` stands in a session (read by
    :class:`assistant.voice.MicLoop` on its own thread); ``on_minute`` runs after each minute
    of audio handed out (``minute`` seconds: a shorter "minute" samples more often).
    """

    def __init__(self, pieces: Iterator[bytes], real_time: bool,
                 on_minute: Callable[[float], None] | None = None, minute: float = 60.0) -> None:
        self._pieces, self._real_time, self._on_minute = pieces, real_time, on_minute
        self._chunks_per_minute = max(1, round(minute / CHUNK_SECONDS))
        self._buffer = bytearray()
        self._offset = 0
        self._start: float | None = None
        self._count = 0
        self.finished = threading.Event()
        """Set once every piece has been handed out."""
        self.closed = False

    @property
    def seconds(self) -> float:
        """Audio handed out so far."""
        return self._count * CHUNK_SECONDS

    def read(self, timeout: float | None = None) -> AudioChunk | None:
        """The next 20 ms (in real time: once its last sample is due); None at the end."""
        if self._start is None:
            self._start = time.monotonic()
        if len(self._buffer) - self._offset < CHUNK_BYTES:
            del self._buffer[:self._offset]
            self._offset = 0
        while len(self._buffer) < CHUNK_BYTES and not self.finished.is_set():
            piece = next(self._pieces, None)
            if piece is None:
                self.finished.set()
            else:
                self._buffer += piece
        if self._offset >= len(self._buffer):
            time.sleep(timeout or 0.0)
            return None
        due = self._start + (self._count + 1) * CHUNK_SECONDS
        if self._real_time and (wait := due - time.monotonic()) > 0:
            if timeout is not None and wait > timeout:
                time.sleep(timeout)
                return None
            time.sleep(wait)
        chunk = bytes(self._buffer[self._offset:self._offset + CHUNK_BYTES])
        self._offset += CHUNK_BYTES
        self._count += 1
        if self._on_minute is not None and self._count % self._chunks_per_minute == 0:
            self._on_minute(self.seconds / 60)
        return AudioChunk(chunk, SAMPLE_RATE, due if self._real_time else time.monotonic())

    def close(self) -> None:
        """Stop handing out chunks."""
        self.closed = True


def listen(listener: Listener, mic: ScriptedMic, admits: Callable[[float], bool],
           seconds: float | None = None) -> None:
    """The session's microphone loop on ``mic`` for ``seconds`` (or until the mic is done);
    then the utterance in progress is closed, so its recognition counts as well."""
    loop = MicLoop(lambda: mic, listener, admits=admits, on_lost=lambda: None)
    loop.start()
    if seconds is None:
        mic.finished.wait()
    else:
        time.sleep(seconds)
    loop.stop()
    listener.flush()


def cpu_share(work: Callable[[], None]) -> float:
    """Percent of one core this process used while ``work`` ran."""
    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    cpu0, wall0 = cpu(), time.monotonic()
    work()
    return round(100 * (cpu() - cpu0) / (time.monotonic() - wall0), 2)


def memory_mb(field_name: str = "VmRSS") -> float:
    """Resident memory now (VmRSS) or its peak (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    return math.nan


def reset_peak_memory() -> bool:
    """Forget the peak so far (Linux: clear_refs 5), so audio generation does not count."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:  # not Linux, or not allowed: the peak then includes the generated audio
        return False
    return True


def conversation(pool: list[bytes], bed: bytes, minutes: float) -> Iterator[bytes]:
    """``minutes`` of sentences from ``pool`` and stretches of a silent room, in random order."""
    rng = random.Random(9)
    fed = 0.0
    index = 0
    while fed < minutes * 60:
        if rng.random() < 0.6:
            piece = pool[index % len(pool)]
            index += 1
        else:
            piece = room_tone(bed, rng.uniform(1.0, 8.0), rng)
        fed += len(piece) / 2 / SAMPLE_RATE
        yield piece


def memory_run(listener: Listener, pool: list[bytes], minutes: float, bed: bytes
               ) -> dict[str, Any]:
    """``minutes`` of conversation through the microphone loop, listener and recognizer, faster
    than real time, with RSS sampled 120 times.

    With pocketsphinx, RSS rises in steps of tens of MB during the first three quarters of an
    hour (allocator warm-up: a 3-hour run stays flat after that), so growth is taken over the
    second half of the run: the level at its end minus the level at its start, per hour, where
    a level is the median of the samples just before that point. The first half is reported as
    the warm-up rise.
    """
    samples: list[tuple[float, float]] = [(0.0, round(memory_mb(), 2))]

    def sample(at_minute: float) -> None:
        samples.append((round(at_minute, 2), round(memory_mb(), 2)))

    mic = ScriptedMic(conversation(pool, bed, minutes), real_time=False, on_minute=sample,
                      minute=minutes * 60 / 120)
    listen(listener, mic, admits=lambda _t: True)
    sample(mic.seconds / 60)
    length = samples[-1][0]

    def level(until: float) -> float:
        recent = [mb for at, mb in samples if until - length / 10 <= at <= until]
        return statistics.median(recent)

    half, end = level(length / 2), level(length)
    return {"simulated_minutes": length, "rss_start_mb": samples[0][1],
            "rss_half_mb": half, "rss_end_mb": end,
            "rss_max_mb": max(mb for _at, mb in samples),
            "warmup_rise_mb": round(half - samples[0][1], 2),
            "growth_mb_per_hour": round((end - half) / (length / 2 / 60), 2),
            "growth_over_minutes": [round(length / 2, 1), length],
            "samples_min_mb": samples[::10]}


def cost_probe(lang: str, cfg: BenchConfig, rig: bool) -> dict[str, Any]:
    """In a fresh process: CPU and memory of what a session loads and runs for ``lang``."""
    bed = kitchen_noise(20.0, seed=13)
    rng = random.Random(4)
    quiet = room_tone(bed, 10.0, rng)
    talking, _count = talk(lang, 40.0, bed, 20.0, seed=8)
    pool = [speech(s, VOICES[lang][i % 3], 160)
            for i, s in enumerate(prose_sentences(lang)[0][:24])]
    peak_reset = reset_peak_memory()
    begun = time.monotonic()
    recognizer, _notices = load_recognizer(lang, find_model(lang, None, os.environ))
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as cache:
        speaker = voice_speaker(lang, Path(cache), rig)
        loaded = time.monotonic() - begun
        texts = load_texts(lang)
        speaker.say(texts.lines("welcome", title="", speaker=NAMES[0], listener=NAMES[1])[0])
        matcher = IntentMatcher(texts, NAMES)
        listener = Listener(VoiceActivity(), recognizer, lambda item: None)
        listener.set_moment(moment_for(matcher.phrases_for(CONTEXTS["turn"][0]),
                                       matcher.fillers, False, False))
        output = speaker.output
        assert isinstance(output, AudioOutput)

        admits = SpeakingGate(output.busy.is_set, tail=SPEAKER_TAIL_SECONDS).admits

        def real_time(pcm: bytes) -> Callable[[], None]:
            return lambda: listen(listener, ScriptedMic(itertools.repeat(pcm), True), admits,
                                  cfg.cpu_seconds)

        silent_cpu = cpu_share(real_time(quiet))
        talk_cpu = cpu_share(real_time(talking))
        memory = memory_run(listener, pool, cfg.rss_minutes, bed)
        speaker.close()
    return {"recognizer": getattr(recognizer, "name", None), "load_seconds": round(loaded, 2),
            "cpu_silent_pct": silent_cpu, "cpu_talking_pct": talk_cpu,
            "peak_rss_mb": round(memory_mb("VmHWM") if peak_reset else
                                 resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "peak_excludes_generated_audio": peak_reset, **memory}


def run_cost_probe(lang: str, quick: bool) -> dict[str, Any]:
    """:func:`cost_probe` in a child process, so nothing else of the benchmark is counted."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--cost-probe", lang]
    if quick:
        cmd.append("--quick")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"cost probe for {lang} failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def first_word(lang: str, cache: Path, rig: bool) -> dict[str, Any]:
    """Seconds from starting ``samenspraak run`` to its first sound on the rig's loudspeaker
    (without the rig: to its first prompt printed because there is no loudspeaker)."""
    cmd = [sys.executable, "-m", "assistant", "run", EXERCISE[lang], "--names", *NAMES]
    env = dict(os.environ, SAMENSPRAAK_CACHE=str(cache))
    recorder = audio_rig.SinkRecorder().start() if rig else None
    started = time.monotonic()
    child = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL if rig else subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
    try:
        heard_at = _first_sound(recorder) if recorder else _first_print(child)
    finally:
        child.kill()
        child.wait()
        recording = recorder.stop() if recorder else None
    if recording is not None and heard_at is not None:
        heard_at = recording.started_at + heard_at
    return {"seconds": None if heard_at is None else round(heard_at - started, 3),
            "measured": "first sound on the loudspeaker" if rig else "first prompt printed"}


def _first_sound(recorder: audio_rig.SinkRecorder, timeout: float = 30.0) -> float | None:
    """Seconds into the recording of its first sound, waiting for it up to ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.05)
        data = bytes(recorder._data)  # noqa: SLF001 - the recorder exposes no live view
        stretches = audio_rig.active_stretches(data[:len(data) - len(data) % 2])
        if stretches:
            return stretches[0][0]
    return None


def _first_print(child: subprocess.Popen, timeout: float = 30.0) -> float | None:
    """Monotonic time of the child's first printed prompt."""
    assert child.stdout is not None
    box: list[float] = []
    reader = threading.Thread(target=lambda: (child.stdout.readline(),
                                              box.append(time.monotonic())), daemon=True)
    reader.start()
    reader.join(timeout)
    return box[0] if box else None


def measure_cost(cfg: BenchConfig, rig: bool) -> dict[str, Any]:
    """CPU, memory and start-up time, each in its own process."""
    results: dict[str, Any] = {"per_language": {}, "startup": {}}
    for lang in LANGUAGES:
        results["per_language"][lang] = run_cost_probe(lang, cfg.quick)
        with tempfile.TemporaryDirectory(prefix="bench-startup-") as cache:
            for state in cfg.startup_runs:
                results["startup"][f"{lang} {state}"] = first_word(lang, Path(cache), rig)
    return results


# --- measurement 5: timer accuracy on the real clock ----------------------------------------


class TimerLog:
    """Notes each timer event with its wall time and when it was due."""

    def __init__(self, limits: dict[str, float], probe: ProbeSpeaker) -> None:
        self._limits, self._probe = limits, probe
        self._starts: dict[tuple[int, int], float] = {}
        self.session: Session | None = None
        self.errors_ms: list[float] = []
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: LogEvent) -> None:
        """Log callback of the session (runs on the session's thread)."""
        if not isinstance(event, TimerFired) or self.session is None:
            return
        now = time.monotonic()
        session = self.session
        # The wait began right after the speaker's last call before its first timer event.
        start = self._starts.setdefault((id(session), session.wait_serial),
                                        self._probe.last_call)
        due = start + self._limits[session.phase.value] - event.remaining
        self.errors_ms.append(round(abs(now - due) * 1000, 2))
        self.events.append({"event": event.event, "phase": session.phase.value,
                            "late_ms": round((now - due) * 1000, 2)})


def measure_timing(engines: list[Engine], cfg: BenchConfig, rig: bool) -> dict[str, Any]:
    """Warnings and time-ups of short turns on the real clock, under playback and recognition."""
    lang = "en"
    overrides = {"turn": 3.0, "warn": 1.0, "mirror": 2.0, "answer": 1.0, "clarify": 2.0,
                 "discuss": 3.0, "silence": 600.0, "nudge": 600.0}
    limits = {"speaking": overrides["turn"], "mirroring": overrides["mirror"],
              "clarifying": overrides["clarify"], "discussing": overrides["discuss"]}
    texts = load_texts(lang)
    exercise = find_exercise(TIMING_EXERCISE, lang)
    engine = next((e for e in engines if e.lang == lang and e.grammar), None)
    stop = threading.Event()
    loads = [threading.Thread(target=_playback_load, args=(stop, rig), daemon=True)]
    if engine is not None:
        loads.append(threading.Thread(target=_recognition_load, args=(stop, engine),
                                      daemon=True))
    for load in loads:
        load.start()
    probe = ProbeSpeaker()
    log = TimerLog(limits, probe)
    try:
        for _ in range(cfg.timing_sessions):
            clock = RealClock()
            session = Session(exercise, NAMES, texts, clock, probe, log,
                              with_overrides(Timing(), overrides))
            log.session = session
            run_live(session, queue.Queue(), clock)
    finally:
        stop.set()
        for load in loads:
            load.join(timeout=10)
    return {"exercise": TIMING_EXERCISE, "durations": overrides,
            "load": "speech played on a second output stream; a listener with "
                    + (engine.label if engine else "no recognizer") + " fed in real time",
            "events": len(log.errors_ms), "p50_ms": percentile(log.errors_ms, 50),
            "p95_ms": percentile(log.errors_ms, 95), "max_ms": max(log.errors_ms, default=None),
            "late_ms": [e["late_ms"] for e in log.events]}


def _playback_load(stop: threading.Event, rig: bool) -> None:
    """Play speech without pause until ``stop`` is set."""
    output = make_output(rig)
    pcm = _audioop().ratecv(speech("Tell each other how your day was, and listen.",
                                   VOICES["en"][0], 160), 2, 1, SAMPLE_RATE, 22050, None)[0]
    try:
        while not stop.is_set():
            output.play(pcm, 22050)
    finally:
        output.close()


def _recognition_load(stop: threading.Event, engine: Engine) -> None:
    """Someone talks at the table: the live listening path, fed in real time."""
    bed = kitchen_noise(10.0, seed=21)
    pcm, _count = talk(engine.lang, 30.0, bed, 20.0, seed=17)
    matcher = IntentMatcher(load_texts(engine.lang), NAMES)
    listener = Listener(VoiceActivity(), engine.make(), lambda item: None)
    listener.set_moment(moment(matcher, engine, "turn"))
    mic = ScriptedMic(itertools.repeat(pcm), real_time=True)
    loop = MicLoop(lambda: mic, listener, admits=lambda t: True, on_lost=lambda: None)
    loop.start()
    stop.wait()
    loop.stop()


# --- targets, table and results -----------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A number checked against the issue's target."""

    section: str
    name: str
    value: float | None
    limit: float
    unit: str
    at_least: bool = False
    """True when the value must reach the limit (accuracy), False when it must stay below."""

    @property
    def passed(self) -> bool | None:
        """None when it could not be measured here."""
        if self.value is None:
            return None
        return self.value >= self.limit if self.at_least else self.value <= self.limit

    @property
    def miss_by(self) -> float | None:
        """How far from the target, when missed."""
        if self.passed is not False:
            return None
        return round(abs(self.value - self.limit), 2)  # type: ignore[operator]

    def as_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {"section": self.section, "name": self.name, "value": self.value,
                "target": ("≥ " if self.at_least else "≤ ") + f"{self.limit:g} {self.unit}",
                "pass": self.passed, "miss_by": self.miss_by, "unit": self.unit}


def targets(results: dict[str, Any]) -> list[Target]:
    """Every target of the issue, with the value measured."""
    found: list[Target] = []
    for lang, lat in (results.get("latency") or {}).items():
        if not isinstance(lat, dict) or "total_ms" not in lat:
            continue
        name = f"{lang} {lat['recognizer']}"
        found += [Target("latency", f"{name} total p50", lat["total_ms"]["p50"], 500, "ms"),
                  Target("latency", f"{name} total p95", lat["total_ms"]["p95"], 800, "ms"),
                  Target("latency", f"{name} after end of speech p95",
                         lat["after_eos_ms"]["p95"], 150, "ms")]
    for lang, acc in (results.get("accuracy") or {}).items():
        if not isinstance(acc, dict) or "recognizers" not in acc:
            continue
        at10 = {label: r["10 dB"]["accuracy"] for label, r in acc["recognizers"].items()
                if "10 dB" in r}
        best = max(at10, key=at10.get) if at10 else None
        found.append(Target("accuracy", f"{lang} at 10 dB, best ({best})",
                            at10.get(best) if best else None, 97 if lang == "en" else 95, "%",
                            at_least=True))
    for lang, entry in (results.get("false_commands") or {}).items():
        for label, r in entry.get("recognizers", {}).items():
            found.append(Target("false commands", f"{lang} {label}", r["commands"], 0, ""))
    cost = results.get("cost") or {}
    for lang, c in cost.get("per_language", {}).items():
        rec = c.get("recognizer") or "no recognizer"
        found += [Target("cost", f"{lang} ({rec}) CPU silent room", c["cpu_silent_pct"], 5, "%"),
                  Target("cost", f"{lang} ({rec}) CPU someone talks", c["cpu_talking_pct"], 30,
                         "%"),
                  Target("cost", f"{lang} ({rec}) peak RSS", c["peak_rss_mb"], 250, "MB"),
                  Target("cost", f"{lang} ({rec}) RSS growth, 2nd half of run",
                         c["growth_mb_per_hour"], 10, "MB/h")]
    for run, s in cost.get("startup", {}).items():
        found.append(Target("cost", f"first word, {run} cache", s["seconds"], 1.5, "s"))
    timing = results.get("timing") or {}
    if "p95_ms" in timing:
        found.append(Target("timing", "timer error p95", timing["p95_ms"], 20, "ms"))
    return found


def show(value: float | None, unit: str) -> str:
    """A value with its unit, or '—'."""
    return "—" if value is None else f"{value:g} {unit}".strip()


def print_table(results: dict[str, Any], checks: list[Target]) -> None:
    """The measurements, each against its target; misses are marked with how much."""
    print(f"\nSamenspraak voice-loop benchmark ({results['mode']}, {results['date']})")
    m = results["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['platform']}; "
          f"load average {m['load_average_at_start'][0]} at start, "
          f"{m.get('load_average_at_end', ['?'])[0]} at end")
    print(f"audio out: {results['audio_output']}")
    print(f"recognizers: {', '.join(results['recognizers'].get('present', [])) or 'none'}")
    if results["mode"] == "quick":
        print("quick run: small samples, so the numbers only show that each measurement works")
    print_details(results)
    width = max((len(c.name) for c in checks), default=20) + 2
    print(f"\n{'section':<15} {'measurement':<{width}} {'value':>12}  {'target':<12} result")
    for c in checks:
        verdict = {True: "ok", None: "not measured"}.get(
            c.passed, f"MISS by {show(c.miss_by, c.unit)}")
        target = ("≥ " if c.at_least else "≤ ") + show(c.limit, c.unit)
        print(f"{c.section:<15} {c.name:<{width}} {show(c.value, c.unit):>12}  {target:<12} "
              f"{verdict}")
    errors = {k: v["error"] for k, v in results.items() if isinstance(v, dict) and "error" in v}
    for section, error in errors.items():
        print(f"{section}: FAILED: {error}")


def print_details(results: dict[str, Any]) -> None:
    """Per-stage latency, accuracy per condition, and the other numbers behind the targets."""
    for lang, lat in (results.get("latency") or {}).items():
        if isinstance(lat, dict) and "total_ms" in lat:
            stages = ", ".join(f"{k[:-3]} {lat[k]['p50']}/{lat[k]['p95']}" for k in (
                "eos_ms", "recognition_ms", "decision_ms", "playback_start_ms", "total_ms"))
            used = "" if lat["session_default"] else ", not the session default"
            print(f"latency {lang} ({lat['recognizer']}{used}), p50/p95 ms: {stages}; answered "
                  f"{lat['responded']}/{lat['trials']}, understood {lat['understood']}")
    for lang, acc in (results.get("accuracy") or {}).items():
        for label, per in (acc.get("recognizers") or {}).items():
            cells = ", ".join(f"{cond} {r['accuracy']}% ({r.get('wrong_command', 0)} wrong)"
                              for cond, r in per.items())
            print(f"accuracy {lang} {label}: {cells} (of {acc['utterances_per_condition']})")
    for lang, entry in (results.get("false_commands") or {}).items():
        if "recognizers" in entry:
            cells = ", ".join(f"{label} {r['commands']} ({r['recognised']} not empty)"
                              for label, r in entry["recognizers"].items())
            print(f"false commands {lang} ({entry['seconds']} s, {entry['utterances']} "
                  f"utterances): {cells}")
    cost = results.get("cost") or {}
    for lang, c in cost.get("per_language", {}).items():
        rec = c["recognizer"] or "no recognizer"
        print(f"cost {lang} ({rec}): load {c['load_seconds']} s; RSS {c['rss_start_mb']} MB "
              f"→ {c['rss_half_mb']} at half-time → {c['rss_end_mb']} MB after "
              f"{c['simulated_minutes']} simulated min (highest {c['rss_max_mb']} MB)")
    timing = results.get("timing") or {}
    if "events" in timing:
        print(f"timing: {timing['events']} timer events, error p50 {timing['p50_ms']} ms, "
              f"max {timing['max_ms']} ms")


def machine() -> dict[str, Any]:
    """The machine the numbers come from."""
    cpu = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "implementation": sys.implementation.name, "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def write_results(path: Path, results: dict[str, Any]) -> None:
    """Write the JSON owner-only."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(results, out, ensure_ascii=False, indent=2, default=str)
        out.write("\n")


# --- the run -----------------------------------------------------------------------------------


@dataclass
class Run:
    """State shared by the measurements of one benchmark run."""

    cfg: BenchConfig
    rig: bool
    cache_dir: Path
    bed: bytes = b""
    engines: list[Engine] = field(default_factory=list)


def section(results: dict[str, Any], name: str, work: Callable[[], dict[str, Any]]) -> None:
    """Run one measurement; a failure is recorded and the others still run."""
    started = time.monotonic()
    print(f"[{time.strftime('%H:%M:%S')}] {name} …", flush=True)
    try:
        results[name] = work()
    except Exception as exc:  # report any failure in this section, then go on with the next
        traceback.print_exc()
        results[name] = {"error": f"{type(exc).__name__}: {exc}"}
    results["seconds"][name] = round(time.monotonic() - started, 1)


def benchmark(cfg: BenchConfig, out: Path, only: Iterable[str] = ()) -> int:
    """Run the measurements (``only`` some), print the table, write the results.

    Returns 1 when a measurement failed, else 0; missed targets do not count as failures.
    """
    only = set(only)
    rig = audio_rig.pulse_available()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-tts-") as cache:
        run = Run(cfg, rig, Path(cache))
        results: dict[str, Any] = {
            "mode": "quick" if cfg.quick else "full",
            "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": " ".join(["scripts/bench.py", *sys.argv[1:]]),
            "machine": machine(),
            "audio_output": ("PulseAudio rig (sounddevice, null sink)" if rig else
                             "fake output stream at a sound card's pace (no PulseAudio rig)"),
            "microphone": "20 ms chunks through Listener (real time where CPU or the clock "
                          "is measured, faster elsewhere)",
            "seconds": {}}
        run.bed = kitchen_noise(cfg.noise_seconds)
        run.engines, results["recognizers"] = discover_engines()
        measurements: dict[str, Callable[[], dict[str, Any]]] = {
            "latency": lambda: measure_latency(run.engines, run.bed, cfg, rig, run.cache_dir),
            "accuracy": lambda: measure_accuracy(run.engines, run.bed, cfg),
            "false_commands": lambda: measure_false_commands(run.engines, run.bed, cfg),
            "cost": lambda: measure_cost(cfg, rig),
            "timing": lambda: measure_timing(run.engines, cfg, rig),
        }
        for name, work in measurements.items():
            if not only or name in only:
                section(results, name, work)
    results["seconds"]["total"] = round(time.monotonic() - started, 1)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    checks = targets(results)
    results["targets"] = [c.as_json() for c in checks]
    write_results(out, results)
    print_table(results, checks)
    print(f"\nwritten to {out} in {results['seconds']['total']} s")
    failed = [k for k, v in results.items() if isinstance(v, dict) and "error" in v]
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run of every measurement (under 3 minutes)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"default {RESULTS}")
    parser.add_argument("--only", action="append", default=[], choices=SECTIONS,
                        help="run only this measurement (repeatable)")
    parser.add_argument("--cost-probe", choices=LANGUAGES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    cfg = QUICK if args.quick else FULL
    if args.cost_probe:
        print(json.dumps(cost_probe(args.cost_probe, cfg, audio_rig.pulse_available())))
        return 0
    return benchmark(cfg, args.out, args.only)


if __name__ == "__main__":
    sys.exit(main())
