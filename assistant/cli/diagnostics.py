"""The diagnostics: ``samenspraak check`` (devices, a chime, a recording, the model) and
``samenspraak hear`` (a WAV file through the very listening path a session uses)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from assistant.cli.settings import EXIT_USAGE, Settings, partner_names
from assistant.engine.errors import UsageError
from assistant.engine.intents import IntentMatcher
from assistant.engine.messages import Heard, Intent, Listen
from assistant.engine.phases import MOMENTS
from assistant.engine.texts import load_texts
from assistant.ports import Recognizer
from assistant.voice import open_recognizer


def cmd_hear(settings: Settings) -> int:
    """Recognise a WAV file through the live listening path and print one JSON line.

    The moment (``--expect``) is one a session listens in, with the session's own commands
    there (:data:`~assistant.engine.phases.MOMENTS`) and its names (``--names``, else the
    same default names), and the recognizer starts fresh as at the start of a session: a
    session that stays in that moment hears the same in the same audio. (A real one moves on
    once it acts on a command; ``intent`` is that first command.)
    """
    from assistant.audio import chunks
    from assistant.audiofile import AudioFileError, read_wav_pcm16
    from assistant.listen import Listener, moment_for
    from assistant.vad import VoiceActivity

    texts = load_texts(settings.lang or "nl")
    assert settings.wav is not None, "the parser makes the file required"
    try:
        pcm = read_wav_pcm16(settings.wav, 16000)
    except AudioFileError as err:
        print(f"samenspraak: {err}", file=sys.stderr)
        return EXIT_USAGE
    if not pcm:  # a header and nothing after it: nothing could be heard, say so
        raise UsageError(f"{settings.wav} holds no audio (a WAV header and no samples)")
    if settings.recognizer == "none":
        raise UsageError("hear needs a recognizer; --recognizer none hears no words")
    recognizer, _ = open_recognizer(settings.recognizer, texts.lang, settings.model)
    if recognizer is None:
        raise UsageError(f"no speech recognizer for '{texts.lang}': install a vosk model with "
                         f"scripts/get-model {texts.lang} (see models/README.md)")
    matcher = IntentMatcher(texts, partner_names(settings, texts))
    free = settings.expect == "free"
    allowed, short = MOMENTS[settings.expect]
    heard: list[str] = []
    listener = Listener(VoiceActivity(), recognizer,
                        lambda item: heard.append(item.text) if isinstance(item, Heard) else None)
    listen = Listen(tuple(matcher.phrases_for(allowed)), tuple(matcher.fillers), free, short)
    listener.set_moment(moment_for(listen, recognizer.free_speech))
    for piece in chunks(pcm):
        listener.feed(piece)
    listener.feed(b"\x00" * 32000)  # a second of silence closes the last utterance
    listener.flush()
    utterances = [{"text": text, "intent": _value(matcher.match(text, allowed))}
                  for text in heard if text]
    acted = next((u["intent"] for u in utterances if u["intent"]), None)
    print(json.dumps({"text": " ".join(u["text"] for u in utterances), "intent": acted,
                      "utterances": utterances}, ensure_ascii=False))
    return 0


def _value(intent: Intent | None) -> str | None:
    return intent.value if intent is not None else None


def _verdict(ok: bool, line: str, advice: str = "", note: bool = False) -> bool:
    """Print one checked line, with its advice when it failed; ``note``: it works, and the
    advice would make it better (the line does not count as failed)."""
    mark = "note" if note else "ok  " if ok else "FAIL"
    print(f"[{mark}] {line}" + (f"\n       → {advice}" if advice and (note or not ok) else ""))
    return ok


def privacy_line(home: Path, cache_dir: Path) -> str:
    """One line on what leaves this computer (nothing) and where a session keeps its data."""
    return (f"privacy: nothing is sent anywhere (no network is used; speech is recognised and "
            f"spoken on this computer); the history is kept in {home}, spoken prompts in "
            f"{cache_dir}, both readable by you only; no transcript unless you ask (--events)")


def cmd_check(settings: Settings) -> int:
    """List devices, play a chime, record three seconds, load the model; say what to do."""
    from assistant.devices import AudioUnavailable, list_devices
    from assistant.history import default_home

    # check has no --home: where `run` would keep the history, from the same environment
    print(privacy_line(settings.home or default_home(os.environ), settings.cache_dir))
    try:
        devices = list_devices()
    except AudioUnavailable as err:  # PortAudio or sounddevice missing or broken
        _verdict(False, f"audio system: {err}", "run scripts/setup (it installs PortAudio)")
        devices = []
    print("audio devices:")
    for dev in devices:
        print(f"  {dev.index:>2}  {dev.name:<40} {dev.kinds:<6} {dev.default_rate:.0f} Hz")
    has_out = any(d.outputs for d in devices)
    has_in = any(d.inputs for d in devices)
    all_ok = _verdict(has_out, "a loudspeaker is present" if has_out else "no loudspeaker",
                      "plug in a speaker or headphones; sessions then print their text")
    if has_out:
        all_ok &= _check_output(settings)
    all_ok &= _verdict(has_in, "a microphone is present" if has_in else "no microphone",
                       "plug in a microphone; sessions then use keys and timers")
    if has_in:
        all_ok &= _check_input(settings)
    all_ok &= _check_recognizer(settings)
    print("all fine" if all_ok else "see the advice above")
    return 0 if all_ok else 1


def _check_output(settings: Settings) -> bool:
    from assistant.chimes import chime_pcm
    from assistant.engine.messages import Chime
    from assistant.playback import SAMPLE_RATE, AudioOutput, AudioOutputError

    try:
        out = AudioOutput(settings.output_device)
        out.play(chime_pcm(Chime.TURN_START), SAMPLE_RATE)
        out.close()
    except AudioOutputError as err:
        return _verdict(False, f"could not play: {err}",
                        "choose another device with --speaker (see the list above)")
    return _verdict(True, "played a chime (did you hear it?)")


def _check_input(settings: Settings) -> bool:
    from assistant.audio import rms
    from assistant.mic import InputDeviceLost, Microphone, MicSettings, NoInputDevice

    try:
        mic = Microphone(MicSettings(device=settings.input_device))
        mic.open()
        print("recording 3 seconds: say something …", flush=True)
        levels = []
        end = time.monotonic() + 3
        while time.monotonic() < end:
            chunk = mic.read(timeout=0.5)
            if chunk is not None:
                levels.append(rms(chunk.pcm))
        mic.close()
    except (NoInputDevice, InputDeviceLost) as err:
        return _verdict(False, f"could not record: {err}",
                        "choose another device with --mic (see the list above)")
    peak = max(levels, default=0.0)
    ok = _verdict(bool(levels), f"recorded {len(levels) * 0.02:.1f} s, loudest level "
                  f"{peak:.0f} (speech is usually above 300)", "check the microphone is not muted")
    heard = peak > 300
    _verdict(heard, "speech level looks fine" if heard else "very quiet recording",
             "speak up, move the microphone closer, or raise its volume")
    return ok


def _check_recognizer(settings: Settings) -> bool:
    """Say which recognizer runs, from which model, how long it took to load and its pace."""
    lang = settings.lang or "nl"
    if settings.recognizer == "none":
        return _verdict(True, "recognizer none, as asked: sessions hear voice activity, keys "
                        "and timers, no words")
    started = time.perf_counter()
    try:
        recognizer, _ = open_recognizer(settings.recognizer, lang, settings.model)
    except UsageError as err:  # the model asked for is missing or broken: a verdict, go on
        return _verdict(False, str(err), "sessions stop with this message until it is mended")
    took = time.perf_counter() - started
    if recognizer is None:
        return _verdict(False, f"no speech recognizer for '{lang}'",
                        f"install the model: scripts/get-model {lang} (see models/README.md); "
                        "sessions use keys and timers until then")
    model = getattr(recognizer, "model_path", None)
    source = f"model {model}" if model else "the en-us model inside the pocketsphinx package"
    pace = _decoding_pace(recognizer, lang)
    line = (f"recognizer {recognizer.name} for '{lang}', {source}: loaded in {took:.2f} s; "
            f"decodes 1 s of audio in {pace:.3f} s (real-time factor {pace:.3f})")
    if recognizer.name == "vosk":
        return _verdict(True, line)
    return _verdict(True, line, f"for better recognition: scripts/get-model {lang} "
                    "(see models/README.md)", note=True)


def _decoding_pace(recognizer: Recognizer, lang: str) -> float:
    """Seconds the recognizer needs for one second of a voice-like sound (no network, no file).

    The sound is a vowel-like tone between quiet stretches; it is heard as free speech where
    the recognizer can, else under the language's command grammar, as a session would. It is
    heard twice and the second time counts: the first sets up the decoder (a language model, a
    grammar), which a session does once.
    """
    from assistant.asr import recognize_pcm
    from assistant.engine.texts import LANGUAGES

    phrases = None
    if not recognizer.free_speech and lang in LANGUAGES:
        matcher = IntentMatcher(load_texts(lang))
        phrases = matcher.phrases_for(set(Intent))
    sound = _voice_like_second()
    recognize_pcm(recognizer, sound, phrases)  # the first pass sets up its decoder; not counted
    started = time.perf_counter()
    recognize_pcm(recognizer, sound, phrases)
    return time.perf_counter() - started


def _voice_like_second(rate: int = 16000) -> bytes:
    """0.2 s quiet, 0.6 s of a 120 Hz voice with two vowel formants, 0.2 s quiet (16-bit PCM)."""
    import math
    import struct

    quiet = int(0.2 * rate)
    voiced = int(0.6 * rate)
    harmonics = [(k * 120.0, 1.0 / k * (2.0 if 600 <= k * 120 <= 900 or
                                         1100 <= k * 120 <= 1300 else 0.5))
                 for k in range(1, 30)]
    samples = [0] * quiet
    for n in range(voiced):
        t = n / rate
        fade = min(1.0, n / 800, (voiced - n) / 800)
        value = sum(a * math.sin(2 * math.pi * f * t) for f, a in harmonics)
        samples.append(int(max(-1.0, min(1.0, 0.12 * fade * value)) * 32767))
    samples += [0] * quiet
    return struct.pack(f"<{len(samples)}h", *samples)
