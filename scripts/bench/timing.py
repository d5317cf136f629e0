"""Measurement 5: timer accuracy on the real clock, under playback and recognition.

Short turns of the daily check-in run the way a live session runs: :func:`assistant.live.run_live`
pumps the session from a :class:`~assistant.live.LiveInputs` queue on the real clock, and a
:class:`~assistant.live.PromptPlayer` plays its prompts (on a speaker that is done at once) and
reports them heard. Each warning and time-up is compared with when it was due: the start of its
wait (the moment its last prompt was reported heard) plus the time limit, minus the seconds
left. Meanwhile speech plays on a second output stream and a listener hears someone talk, in
real time; the scripted microphone's own pace is reported with it.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

from assistant.audio import SPEECH_RATE, resample
from assistant.engine.clock import RealClock
from assistant.engine.exercises import find_exercise
from assistant.engine.intents import IntentMatcher
from assistant.engine.messages import (
    LogEvent,
    PhaseChanged,
    SessionInput,
    TimerFired,
)
from assistant.engine.session import Session
from assistant.engine.texts import load_texts
from assistant.engine.timing import Timing, with_overrides
from assistant.listen import Listener
from assistant.live import LiveInputs, PromptPlayer, run_live
from assistant.rig.fakes import InstantSpeaker, ScriptedMic
from assistant.rig.noise import kitchen_noise
from assistant.rig.signals import RATE
from assistant.vad import VoiceActivity
from assistant.voice import MicLoop
from scripts.bench.config import NAMES, TIMING_EXERCISE, VOICES, BenchConfig
from scripts.bench.corpus import speech, talk
from scripts.bench.listening import Engine, moment
from scripts.bench.output import make_output
from scripts.bench.report import percentile

OVERRIDES = {"turn": 3.0, "warn": 1.0, "mirror": 2.0, "answer": 1.0, "clarify": 2.0,
             "discuss": 3.0, "silence": 600.0, "nudge": 600.0, "wait": 1.0}
LIMITS = {"speaking": OVERRIDES["turn"], "mirroring": OVERRIDES["mirror"],
          "clarifying": OVERRIDES["clarify"], "discussing": OVERRIDES["discuss"]}
"""The time limit of each timed phase."""


class TimerLog:
    """Notes each timer event with its wall time and when it was due.

    The session's log events arrive in the order it emitted them, after the call that made
    them; the phase a timer belongs to is the one the log last entered.
    """

    def __init__(self, limits: dict[str, float]) -> None:
        self._limits = limits
        self._starts: dict[int, float] = {}
        self._phase = ""
        self._entered = 0
        self.last_heard = time.monotonic()
        """When the prompt player last reported a prompt heard."""
        self.errors_ms: list[float] = []
        self.events: list[dict[str, Any]] = []

    def heard(self, item: SessionInput, put: Callable[[SessionInput], None]) -> None:
        """The prompt player's report: note its time, then hand it to the session."""
        self.last_heard = time.monotonic()
        put(item)

    def __call__(self, event: LogEvent) -> None:
        """A log event of the session (on the session's thread)."""
        if isinstance(event, PhaseChanged):
            self._phase, self._entered = event.phase, self._entered + 1
            return
        if not isinstance(event, TimerFired) or self._phase not in self._limits:
            return  # only the timed phases' warnings and time-ups are measured
        now = time.monotonic()
        # The wait's clock started when the last prompt before its first timer event was heard.
        start = self._starts.setdefault(self._entered, self.last_heard)
        due = start + self._limits[self._phase] - event.remaining
        self.errors_ms.append(round(abs(now - due) * 1000, 2))
        self.events.append({"event": event.event, "phase": self._phase,
                            "late_ms": round((now - due) * 1000, 2)})


def run_session(log: TimerLog) -> None:
    """One short daily check-in, driven like a live session."""
    lang = "en"
    clock = RealClock()
    inputs = LiveInputs(clock)
    player = PromptPlayer(InstantSpeaker(), lambda item: log.heard(item, inputs.put))
    session = Session(find_exercise(TIMING_EXERCISE, lang), NAMES, load_texts(lang), clock,
                      with_overrides(Timing(), OVERRIDES))
    run_live(session, inputs, player, log)


def measure_timing(engines: list[Engine], cfg: BenchConfig, rig: bool) -> dict[str, Any]:
    """Warnings and time-ups of short turns on the real clock, under playback and recognition."""
    engine = next((e for e in engines if e.lang == "en" and e.grammar), None)
    stop = threading.Event()
    mics: list[ScriptedMic] = []
    loads = [threading.Thread(target=_playback_load, args=(stop, rig), daemon=True)]
    if engine is not None:
        loads.append(threading.Thread(target=_recognition_load, args=(stop, engine, mics),
                                      daemon=True))
    for load in loads:
        load.start()
    log = TimerLog(LIMITS)
    try:
        for _ in range(cfg.timing_sessions):
            run_session(log)
    finally:
        stop.set()
        for load in loads:
            load.join(timeout=10)
    return {"exercise": TIMING_EXERCISE, "durations": OVERRIDES,
            "load": "speech played on a second output stream; a listener with "
                    + (engine.label if engine else "no recognizer") + " fed in real time",
            "events": len(log.errors_ms), "p50_ms": percentile(log.errors_ms, 50),
            "p95_ms": percentile(log.errors_ms, 95), "max_ms": max(log.errors_ms, default=None),
            "late_ms": [e["late_ms"] for e in log.events],
            "mic_pace": mics[0].pace() if mics else None}


def _playback_load(stop: threading.Event, rig: bool) -> None:
    """Play speech without pause until ``stop`` is set."""
    output = make_output(rig)
    pcm, _state = resample(speech("Tell each other how your day was, and listen.",
                                  VOICES["en"][0], 160), RATE, SPEECH_RATE)
    try:
        while not stop.is_set():
            output.play(pcm, SPEECH_RATE)
    finally:
        output.close()


def _recognition_load(stop: threading.Event, engine: Engine, mics: list[ScriptedMic]) -> None:
    """Someone talks at the table: the live listening path, fed in real time."""
    bed = kitchen_noise(10.0, seed=21)
    pcm, _count = talk(engine.lang, 30.0, bed, 20.0, seed=17)
    matcher = IntentMatcher(load_texts(engine.lang), NAMES)
    listener = Listener(VoiceActivity(), engine.make(), lambda _item: None)
    listener.set_moment(moment(matcher, engine, "turn"))
    mic = ScriptedMic(itertools.repeat(pcm), real_time=True)
    mics.append(mic)
    loop = MicLoop(lambda: mic, listener, admits=lambda _t: True, on_lost=lambda: None)
    loop.start()
    stop.wait()
    loop.stop()
