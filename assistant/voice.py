"""The hands-free session: the one place that wires the whole flow together.

    microphone → speaking gate → voice activity → recognizer → session inputs
    session → speaker (pyttsx3 → WAV cache → pydub → sounddevice)

Every part can fail on its own and the session goes on: no loudspeaker → printed text; no
microphone or no recognizer → keys and timers; a device that disappears → the same, said once.
Also the diagnostics ``samenspraak check`` and ``samenspraak hear``.
"""

from __future__ import annotations

import json
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from assistant.engine.clock import Clock
from assistant.engine.errors import UsageError
from assistant.engine.exercises import Exercise
from assistant.engine.intents import IntentMatcher
from assistant.engine.messages import Heard, Intent, KeyCommand
from assistant.engine.session import Session, Timing, with_overrides
from assistant.engine.texts import Texts, load_texts
from assistant.listen import Listener, moment_for
from assistant.live import EventLog, TextSpeaker, empty_line, run_live, summary_lines

if TYPE_CHECKING:
    from assistant.cli import Settings
    from assistant.ports import Recognizer

_LOGGER = logging.getLogger(__name__)

MIC_RETRY_SECONDS = 3.0
"""How often a lost microphone is looked for again."""
SPEAKER_TAIL_SECONDS = 0.3
"""The microphone stays deaf this long after the assistant stops speaking."""
KEYS = {"j": Intent.YES, "y": Intent.YES, "n": Intent.NO, "p": Intent.PAUSE,
        "s": Intent.STOP, "h": Intent.REPEAT, "r": Intent.REPEAT}
"""Keys (then Enter) that stand for commands when nothing can hear; an empty line is done/next."""


def _recognizer_for(settings: Settings, lang: str) -> tuple[Recognizer | None, list[str]]:
    """The recognizer the settings ask for, and the notices to say about it."""
    from assistant.asr import find_model, load_recognizer

    if settings.recognizer == "none":
        return None, ["asr_keys_only"]
    path = find_model(lang, settings.model, {"SAMENSPRAAK_MODEL": settings.model_env or ""})
    if settings.recognizer == "vosk" and path is None:
        raise UsageError(f"no vosk model for '{lang}': put one in models/{lang}/ "
                              f"(scripts/get-model {lang}) or pass --model DIR")
    if settings.recognizer == "pocketsphinx":
        path = None
    forced = settings.recognizer == "pocketsphinx"  # asked for: Dutch command dictionary too
    recognizer, notices = load_recognizer(lang, path,
                                          allow_pocketsphinx=settings.recognizer != "vosk",
                                          dutch_pocketsphinx=True if forced else None)
    if settings.recognizer == "vosk" and recognizer is None:
        raise UsageError(f"the vosk model for '{lang}' could not be loaded; "
                              "see 'samenspraak check' and models/README.md")
    if recognizer is not None:  # a working fallback: no need to say a model is missing
        notices = [n for n in notices if not n.startswith("asr_no_model_")]
    elif f"asr_no_model_{lang}" in notices:  # that sentence already says to use the keys
        notices = [n for n in notices if n != "asr_keys_only"]
    return recognizer, notices


def _key_reader(inputs: queue.Queue, stream=None) -> threading.Thread:  # noqa: ANN001
    """Read keys (a letter, then Enter) from the terminal as commands."""
    stream = stream or sys.stdin

    def reader() -> None:
        for line in stream:
            key = line.strip().lower()[:1]
            if not key:
                inputs.put(empty_line)
            elif key in KEYS:
                inputs.put(KeyCommand(KEYS[key]))

    thread = threading.Thread(target=reader, name="keys", daemon=True)
    thread.start()
    return thread


class MicLoop:
    """Reads the microphone on its own thread and feeds the listener; reconnects a lost device."""

    def __init__(self, open_mic: Callable[[], object], listener: Listener,
                 admits: Callable[[float], bool], on_lost: Callable[[], None],
                 retry_seconds: float = MIC_RETRY_SECONDS, first_mic: object = None) -> None:
        self._retry = retry_seconds
        self._first_mic = first_mic
        self._open_mic = open_mic
        self._listener = listener
        self._admits = admits
        self._on_lost = on_lost
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
            else:
                self._listener.flush()
        if mic is not None:
            mic.close()


def run_voice(settings: Settings, exercise: Exercise, texts: Texts, names: tuple[str, str],
              clock: Clock) -> int:
    """Run an exercise hands-free; everything that fails falls back and the session goes on."""
    from assistant.mic import Microphone, MicSettings, NoInputDevice, SpeakingGate
    from assistant.tts import build_voice_speaker
    from assistant.vad import VoiceActivity

    inputs: queue.Queue = queue.Queue()
    notices: list[str] = []
    session_ref: list[Session] = []

    def on_notice(key: str) -> None:
        text = texts.notices.get(key)
        if text and session_ref:
            session_ref[0].announce(text)
        elif text:
            notices.append(text)

    speaker = build_voice_speaker(exercise.lang, voice=settings.voice, rate=settings.rate,
                                  device=settings.output_device, cache_dir=settings.cache_dir,
                                  on_notice=on_notice, print_fn=TextSpeaker().say)
    recognizer, rec_notices = _recognizer_for(settings, exercise.lang)
    notices += [texts.notices[k] for k in rec_notices if k in texts.notices]

    def open_mic() -> Microphone:
        mic = Microphone(MicSettings(device=settings.input_device))
        mic.open()
        return mic

    keys_needed = recognizer is None
    first_mic = None
    try:
        first_mic = open_mic()  # the loop reads this one; it reopens only after a loss
    except NoInputDevice:
        notices.append(texts.notices["no_input_device"])
        keys_needed = True
    output = speaker.output
    gate = SpeakingGate(output.busy.is_set if output else None, tail=SPEAKER_TAIL_SECONDS)
    listener = Listener(VoiceActivity(), recognizer, inputs.put)
    matcher = IntentMatcher(texts, names)
    log = EventLog.open(settings.events, clock) if settings.events else None
    timing = with_overrides(Timing(), dict(settings.durations))
    session = Session(exercise, names, texts, clock, speaker, log or (lambda e: None), timing,
                      notices=dict.fromkeys(notices))
    session_ref.append(session)

    def publish() -> None:
        listening = session.listening()
        listener.set_moment(moment_for(session.command_phrases(), matcher.fillers,
                                       listening.free_speech, listening.short_answer,
                                       getattr(recognizer, "free_speech", True)))

    def on_mic_lost() -> None:
        inputs.put(lambda s: s.announce(texts.notices["input_lost"]))
        if sys.stdin.isatty():
            _key_reader(inputs)

    mic_loop = MicLoop(open_mic, listener, admits=gate.admits, on_lost=on_mic_lost,
                       first_mic=first_mic)
    mic_loop.start()
    if keys_needed and sys.stdin.isatty():
        _key_reader(inputs)
    try:
        run_live(session, inputs, clock, on_idle=publish,
                 on_interrupt=output.interrupt if output else None)
    finally:
        mic_loop.stop()
        speaker.close()
        if log:
            log.close()
    print("\n".join(summary_lines(session.summary(), texts)))
    return 0


# --- diagnostics --------------------------------------------------------------------------------


def cmd_hear(settings: Settings) -> int:
    """Recognise a WAV file through the live listening path and print one JSON line."""
    from assistant.audiofile import AudioFileError, read_wav_pcm16
    from assistant.vad import VoiceActivity

    texts = load_texts(settings.lang or "nl")
    assert settings.wav is not None
    try:
        pcm = read_wav_pcm16(settings.wav, 16000)
    except AudioFileError as err:
        print(f"samenspraak: {err}", file=sys.stderr)
        return 2
    recognizer, _ = _recognizer_for(settings, texts.lang)
    if recognizer is None:
        print(f"samenspraak: no speech recognizer for '{texts.lang}': "
              "install a vosk model (see models/README.md)", file=sys.stderr)
        return 2
    matcher = IntentMatcher(texts)
    allowed = {Intent.YES, Intent.NO} if settings.expect == "yesno" else set(Intent)
    heard: list[str] = []
    listener = Listener(VoiceActivity(), recognizer,
                        lambda item: heard.append(item.text) if isinstance(item, Heard) else None)
    listener.set_moment(moment_for(matcher.phrases_for(allowed), matcher.fillers,
                                   settings.expect == "free", settings.expect == "yesno",
                                   getattr(recognizer, "free_speech", True)))
    step = 320 * 2
    for offset in range(0, len(pcm), step):
        listener.feed(pcm[offset:offset + step])
    listener.feed(b"\x00" * 32000)  # a second of silence closes the last utterance
    listener.flush()
    text = " ".join(t for t in heard if t).strip()
    intent = matcher.match(text, allowed) if settings.expect != "free" else None
    print(json.dumps({"text": text, "intent": intent.value if intent else None},
                     ensure_ascii=False))
    return 0


def _verdict(ok: bool, line: str, advice: str = "") -> bool:
    mark = "ok  " if ok else "FAIL"
    print(f"[{mark}] {line}" + (f"\n       → {advice}" if advice and not ok else ""))
    return ok


def cmd_check(settings: Settings) -> int:
    """List devices, play a chime, record three seconds, load the model; say what to do."""
    from assistant import mic as mic_mod
    from assistant.engine.messages import Chime
    from assistant.vad import rms_function

    lang = settings.lang or "nl"
    all_ok = True
    try:
        sd = mic_mod.load_sounddevice()
        devices = sd.query_devices()
    except (OSError, ImportError) as err:  # PortAudio missing or broken
        _verdict(False, f"audio system: {err}", "run scripts/setup (it installs PortAudio)")
        devices = []
        sd = None
    print("audio devices:")
    for index, dev in enumerate(devices):
        kinds = "/".join(k for k, n in (("in", dev["max_input_channels"]),
                                         ("out", dev["max_output_channels"])) if n)
        print(f"  {index:>2}  {dev['name']:<40} {kinds:<6} {dev['default_samplerate']:.0f} Hz")
    has_out = any(d["max_output_channels"] for d in devices)
    has_in = any(d["max_input_channels"] for d in devices)
    all_ok &= _verdict(has_out, "a loudspeaker is present" if has_out else "no loudspeaker",
                       "plug in a speaker or headphones; sessions then print their text")
    if has_out:
        from assistant.chimes import chime_pcm
        from assistant.playback import AudioOutput, AudioOutputError
        from assistant.tts import SAMPLE_RATE
        try:
            out = AudioOutput(settings.output_device)
            out.play(chime_pcm(Chime.TURN_START), SAMPLE_RATE)
            out.close()
            all_ok &= _verdict(True, "played a chime (did you hear it?)")
        except AudioOutputError as err:
            all_ok &= _verdict(False, f"could not play: {err}",
                               "choose another device with --speaker (see the list above)")
    all_ok &= _verdict(has_in, "a microphone is present" if has_in else "no microphone",
                       "plug in a microphone; sessions then use keys and timers")
    if has_in:
        try:
            mic = mic_mod.Microphone(mic_mod.MicSettings(device=settings.input_device))
            mic.open()
            rms = rms_function()
            print("recording 3 seconds: say something …", flush=True)
            levels = []
            end = time.monotonic() + 3
            while time.monotonic() < end:
                chunk = mic.read(timeout=0.5)
                if chunk is not None:
                    levels.append(rms(chunk.pcm, 2))
            mic.close()
            peak = max(levels, default=0.0)
            heard = peak > 300
            all_ok &= _verdict(bool(levels), f"recorded {len(levels) * 0.02:.1f} s, "
                               f"loudest level {peak:.0f} (speech is usually above 300)",
                               "check the microphone is not muted")
            _verdict(heard, "speech level looks fine" if heard else "very quiet recording",
                     "speak up, move the microphone closer, or raise its volume")
        except (mic_mod.NoInputDevice, mic_mod.InputDeviceLost) as err:
            all_ok &= _verdict(False, f"could not record: {err}",
                               "choose another device with --mic (see the list above)")
    from assistant.asr import find_model

    path = find_model(lang, settings.model, {"SAMENSPRAAK_MODEL": settings.model_env or ""})
    started = time.perf_counter()
    recognizer, notice_keys = _recognizer_for(settings, lang)
    took = time.perf_counter() - started
    name = getattr(recognizer, "name", None)
    if recognizer is not None and name == "vosk":
        all_ok &= _verdict(True, f"vosk model {path} loaded in {took:.2f} s")
    elif recognizer is not None:
        _verdict(False, f"no vosk model for '{lang}'; using {name} ({took:.2f} s to load)",
                 f"for better recognition: scripts/get-model {lang} (see models/README.md)")
    else:
        all_ok &= _verdict(False, f"no speech recognizer for '{lang}' ({', '.join(notice_keys)})",
                           f"install the model: scripts/get-model {lang} "
                           "(see models/README.md); sessions use keys and timers until then")
    print("all fine" if all_ok else "see the advice above")
    return 0 if all_ok else 1


COMMANDS = {"check": cmd_check, "hear": cmd_hear}
