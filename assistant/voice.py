"""The hands-free session: the one place that wires the whole flow together.

    MicLoop (Microphone)   the microphone, read on a thread of its own
    → SpeakingGate         drops what the assistant itself just said
    → VoiceActivity        speech started, the utterance's audio, speech ended
      (taps beside it: RaisedVoiceDetector for a sustained rise above the couple's own
       level, AgreementRecorder for their own voice while they state an agreement)
    → Recognizer           the words, restricted to what the moment allows
    → Session              intents, phases and timers in; effects out
    → PromptPlayer         speaks on a thread of its own, reports each prompt heard
    → VoiceSpeaker         pyttsx3 → cache → pydub → sounddevice

The microphone thread turns audio into inputs (speech started, ended, the words heard); the
session, on the calling thread, matches the words to commands and answers with effects; the
prompt player speaks on a thread of its own and reports each prompt back once it is heard.
Every part can fail on its own and the session goes on: no loudspeaker → printed text; no
microphone or no recognizer → keys and timers; a device that disappears → the same, said once.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from assistant.engine.clock import Clock
from assistant.engine.errors import UsageError
from assistant.engine.exercises import Exercise
from assistant.engine.messages import Announce, Listen, LogEvent, RaisedVoices
from assistant.engine.practice import Practice
from assistant.engine.resume import ResumePoint
from assistant.engine.session import Session
from assistant.engine.steps import foreseeable_lines
from assistant.engine.texts import Texts
from assistant.engine.timing import Timing
from assistant.listen import Listener, moment_for
from assistant.live import (
    TYPED_KEYS,
    EventLog,
    LineReader,
    LiveInputs,
    PromptPlayer,
    QuietSpeaker,
    TextSpeaker,
    logger,
    run_live,
)
from assistant.loudness import RaisedVoiceDetector
from assistant.ports import AudioSource, Recognizer
from assistant.recorder import AgreementRecorder
from assistant.voicebank import VoiceBank

_LOGGER = logging.getLogger(__name__)

MIC_RETRY_SECONDS = 3.0
"""How often a lost microphone is looked for again."""
SPEAKER_TAIL_SECONDS = 0.3
"""The microphone stays deaf this long after the assistant stops speaking."""
RECOGNIZERS = ("auto", "vosk", "pocketsphinx", "none")
"""Which recognizer to use: the best available, one of them by force, or none at all."""


@dataclass(frozen=True)
class VoiceSettings:
    """What a hands-free session needs to know beyond the exercise: devices, voice, model."""

    cache_dir: Path
    """Where rendered prompts are kept."""
    recognizer: str = "auto"
    """One of :data:`RECOGNIZERS`."""
    model: Path | None = None
    """The vosk model folder named by the user (None: look in models/<lang>/)."""
    voice: str | None = None
    """Speech voice id or name (None: one for the language)."""
    rate: int | None = None
    """Speech rate in words per minute (None: the calm default)."""
    input_device: str | None = None
    """Microphone name or number (None: the system default)."""
    output_device: str | None = None
    """Loudspeaker name or number (None: the system default)."""
    events: Path | None = None
    """Where to write the JSON event log (None: nowhere)."""
    home: Path | None = None
    """The user's data folder: a coach's recorded prompts are found there (None: none)."""
    timing: Timing = field(default_factory=Timing)
    """Durations, with the user's overrides."""


def open_recognizer(choice: str, lang: str, model: Path | None
                    ) -> tuple[Recognizer | None, list[str]]:
    """The recognizer ``choice`` asks for, and the notice keys to say about it.

    A model folder given (``--model``, ``SAMENSPRAAK_MODEL``) is wanted: unless pocketsphinx or
    none is chosen, it is loaded or the run stops. Raises :class:`UsageError` when vosk is
    wanted and its model is missing or broken.
    """
    from assistant.asr import find_model, load_recognizer

    if choice == "none":
        return None, ["asr_keys_only"]
    if choice == "vosk" or (choice == "auto" and model is not None):
        return _wanted_vosk(lang, find_model(lang, model, {})), []
    path = None if choice == "pocketsphinx" else find_model(lang, None, {})
    forced = choice == "pocketsphinx"  # asked for: Dutch command dictionary too
    recognizer, notices = load_recognizer(lang, path,
                                          dutch_pocketsphinx=True if forced else None)
    if recognizer is not None:  # a working fallback: no need to say a model is missing
        notices = [n for n in notices if not n.startswith("asr_no_model_")]
    elif f"asr_no_model_{lang}" in notices:  # that sentence already says to use the keys
        notices = [n for n in notices if n != "asr_keys_only"]
    return recognizer, notices


def _wanted_vosk(lang: str, path: Path | None) -> Recognizer:
    """The vosk model at ``path``, or a one-line :class:`UsageError` that says what to do."""
    from assistant.asr import ModelCorrupt, ModelMissing, VoskRecognizer

    where = f"put one in models/{lang}/ (scripts/get-model {lang}) or pass --model DIR"
    if path is None:
        raise UsageError(f"no vosk model for '{lang}': {where}")
    if not path.exists():
        raise UsageError(f"no vosk model at {path}: {where}")
    try:
        return VoskRecognizer(path, lang=lang)
    except ModelMissing:
        raise UsageError(f"no vosk model in {path}: {where}") from None
    except ModelCorrupt as exc:
        raise UsageError(str(exc)) from None
    except ImportError:  # the package, not the model, is what is missing
        raise UsageError("vosk is not installed: run scripts/setup (or pip install vosk)"
                         ) from None


class SafeRecognizer:
    """A :class:`~assistant.ports.Recognizer` that cannot take the microphone loop down.

    A recognizer is a third-party decoder (C underneath) that may raise anything, at any call.
    The first failure is logged and reported once through ``on_failure``; from then on it hears
    nothing, so voice activity (turns ending on silence, speaking time), keys and timers go on.
    """

    def __init__(self, inner: Recognizer, on_failure: Callable[[Exception], None]) -> None:
        self.sample_rate = inner.sample_rate
        """The wrapped recognizer's rate."""
        self.name = inner.name
        """The wrapped recognizer's name."""
        self.free_speech = inner.free_speech
        """Whether the wrapped recognizer takes free speech."""
        self._inner = inner
        self._on_failure = on_failure
        self.failed: Exception | None = None
        """The failure that put it out of use (None while it works)."""

    def _guard(self, call: Callable[[], str | None], default: str | None) -> str | None:
        if self.failed is not None:
            return default
        try:
            return call()
        except Exception as err:  # whatever the decoder raises: stop using it, say so once
            _LOGGER.exception("the speech recognizer failed; going on without it")
            self.failed = err
            self._on_failure(err)
            return default

    def start(self, phrases: Sequence[str] | None) -> None:
        """Begin an utterance (nothing once failed)."""
        self._guard(lambda: self._inner.start(phrases), None)

    def accept(self, pcm: bytes) -> None:
        """Feed audio (nothing once failed)."""
        self._guard(lambda: self._inner.accept(pcm), None)

    def partial(self) -> str:
        """What it hears so far ('' once failed)."""
        return self._guard(self._inner.partial, "") or ""

    def finish(self) -> str:
        """The utterance's text ('' once failed)."""
        return self._guard(self._inner.finish, "") or ""


class MicLoop:
    """Reads the microphone on its own thread and feeds the listener; reconnects a lost device."""

    def __init__(self, open_mic: Callable[[], AudioSource], listener: Listener,
                 admits: Callable[[float], bool], on_lost: Callable[[], None],
                 retry_seconds: float = MIC_RETRY_SECONDS,
                 first_mic: AudioSource | None = None,
                 taps: Sequence[Callable[[bytes, float], None]] = ()) -> None:
        """``taps`` also get every admitted chunk with its capture time (the raised-voice
        detector, the agreement recorder); they must be quick."""
        self._retry = retry_seconds
        self._first_mic = first_mic
        self._open_mic = open_mic
        self._listener = listener
        self._admits = admits
        self._on_lost = on_lost
        self._taps = tuple(taps)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="microphone", daemon=True)

    def start(self) -> None:
        """Start reading."""
        self._thread.start()

    def stop(self) -> None:
        """Stop reading and wait for the thread."""
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        from assistant.mic import InputDeviceLost, NoInputDevice

        mic, self._first_mic = self._first_mic, None
        told = False
        while not self._stop.is_set():
            if mic is None:
                try:
                    mic = self._open_mic()
                    told = False
                except NoInputDevice as err:  # expected while the device is away
                    _LOGGER.info("no microphone yet: %s", err)
                    self._stop.wait(self._retry)
                    continue
            try:
                chunk = mic.read(timeout=0.2)
            except InputDeviceLost as err:  # unplugged or failed mid-session: say so, retry
                _LOGGER.warning("%s", err)
                self._listener.flush()
                mic = None
                if not told:
                    self._on_lost()
                    told = True
                continue
            if chunk is None:
                continue
            if self._admits(chunk.captured_at):
                self._listener.feed(chunk.pcm, chunk.captured_at)
                for tap in self._taps:
                    try:
                        tap(chunk.pcm, chunk.captured_at)
                    except Exception:  # a side listener must not take the microphone down
                        _LOGGER.exception("%s failed; it hears no more", tap)
                        self._taps = tuple(t for t in self._taps if t is not tap)
            else:
                self._listener.flush()
        if mic is not None:
            mic.close()


def run_voice(settings: VoiceSettings, exercise: Exercise, texts: Texts,
              names: tuple[str, str], clock: Clock, stdin: TextIO | None = None,
              practice: Practice | None = None, resume: ResumePoint | None = None,
              observe: Callable[[Session, LogEvent], None] | None = None,
              recorder: AgreementRecorder | None = None, inputs: LiveInputs | None = None,
              quiet: bool = False) -> Session:
    """Run an exercise hands-free; everything that fails falls back and the session goes on.

    ``recorder`` keeps the couple's own voice while they state an agreement. With ``inputs``
    the caller also feeds the session (a live display's keys); ``quiet`` plays chimes only."""
    from assistant.mic import Microphone, MicSettings, NoInputDevice, SpeakingGate
    from assistant.tts import build_voice_speaker
    from assistant.vad import VoiceActivity

    stdin = stdin or sys.stdin
    inputs = inputs or LiveInputs(clock)
    # first what can refuse the run (a named model that is missing), before any device opens
    recognizer, notice_keys = open_recognizer(settings.recognizer, exercise.lang, settings.model)
    notices = [texts.notices[k] for k in notice_keys if k in texts.notices]

    def on_notice(key: str) -> None:  # the speaker fell back to something else: say so once
        if key in texts.notices:
            inputs.put(Announce(texts.notices[key]))

    speaker = build_voice_speaker(exercise.lang, voice=settings.voice, rate=settings.rate,
                                  device=settings.output_device, cache_dir=settings.cache_dir,
                                  on_notice=on_notice, print_fn=TextSpeaker().say,
                                  voicebank=VoiceBank(settings.home, exercise.lang)
                                  if settings.home is not None else None)
    if quiet:
        speaker = QuietSpeaker(speaker)

    def open_mic() -> Microphone:
        mic = Microphone(MicSettings(device=settings.input_device))
        mic.open()
        return mic

    keys = LineReader(stdin, inputs.put, keys=TYPED_KEYS)
    first_mic = None
    try:
        first_mic = open_mic()  # the loop reads this one; it reopens only after a loss
    except NoInputDevice:
        notices.append(texts.notices["no_input_device"])
    if (recognizer is None or first_mic is None) and stdin.isatty():
        keys.start()

    def on_recognizer_failed(err: Exception) -> None:  # hear nothing more; keys take over
        inputs.put(Announce(texts.notices["asr_keys_only"]))
        if stdin.isatty():
            keys.start()

    if recognizer is not None:
        recognizer = SafeRecognizer(recognizer, on_recognizer_failed)

    # The flow, in order.
    gate = SpeakingGate(speaker.is_audible, tail=SPEAKER_TAIL_SECONDS)
    listener = Listener(VoiceActivity(), recognizer, inputs.put)

    def on_mic_lost() -> None:
        inputs.put(Announce(texts.notices["input_lost"]))
        if stdin.isatty():
            keys.start()  # one reader for the whole session, however often the mic goes

    loudness = RaisedVoiceDetector()

    def raised_voices(pcm: bytes, at: float) -> None:
        if loudness.feed(pcm, at):
            inputs.put(RaisedVoices())

    taps = [raised_voices, *([recorder.feed] if recorder is not None else [])]
    mic_loop = MicLoop(open_mic, listener, admits=gate.admits, on_lost=on_mic_lost,
                       first_mic=first_mic, taps=taps)
    session = Session(exercise, names, texts, clock, settings.timing,
                      notices=dict.fromkeys(notices), practice=practice, resume=resume)
    player = PromptPlayer(speaker, inputs.put)
    log = EventLog.open(settings.events, clock) if settings.events else None
    free = recognizer.free_speech if recognizer is not None else True

    def on_listen(listen: Listen) -> None:
        listener.set_moment(moment_for(listen, free))
        if recorder is not None:
            recorder.listening(listen.free_speech)

    speaker.prepare(foreseeable_lines(exercise, names, texts))
    mic_loop.start()
    try:
        run_live(session, inputs, player, logger(session, log, observe), on_listen)
    finally:
        mic_loop.stop()
        if log is not None:
            log.close()
    return session
