"""Faults, injected one at a time into a whole hands-free session (``voice.run_voice``).

The devices, the speech engine and the recognizer are fakes that fail the way real ones do;
everything between them — the microphone loop, voice activity, the session, the prompt player,
the speaker with its fallbacks — is the real wiring. Time is virtual: when no input comes
within 50 ms the session's clock jumps to its next deadline. Each time: one clear message, the
session goes on to its end, and nothing already saved is lost.
"""

from __future__ import annotations

import datetime as dt
import io
import queue
import sqlite3
import threading
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from simkit import exercise, say
from test_cli import samenspraak
from test_tts import Failing, FakeEngine, FakeOutput

from assistant import voice
from assistant.audio import CHUNK_SAMPLES, SAMPLE_WIDTH, write_wav
from assistant.cli.practice import keep
from assistant.engine.clock import VirtualClock
from assistant.engine.messages import SessionInput
from assistant.engine.texts import load_texts
from assistant.history import DB_NAME, History
from assistant.mic import InputDeviceLost, NoInputDevice
from assistant.playback import AudioOutput, DeviceError, OutputDeviceLost
from assistant.ports import AudioChunk
from assistant.rig.speech import espeak_pcm
from assistant.tts import EspeakRenderer, Pyttsx3Renderer, RenderCache, VoiceSpeaker

NL = load_texts("nl")
STEPS = ('[[step]]\nkind = "turn"\ntext = "{speaker}, vertel."\nseconds = 60\n'
         '[[step]]\nkind = "swap"\n'
         '[[step]]\nkind = "turn"\ntext = "{speaker}, vertel."\nseconds = 60\n'
         '[[step]]\nkind = "ask"\nto = "both"\ntext = "Ging het goed?"\n')
CHUNK = CHUNK_SAMPLES * SAMPLE_WIDTH


class Hurried:
    """The live input queue, on a virtual clock that jumps to the next deadline when idle."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._queue: queue.Queue[SessionInput] = queue.Queue()

    def put(self, item: SessionInput) -> None:
        self._queue.put(item)

    def next_input(self, session) -> SessionInput | None:
        deadline = session.next_deadline()
        try:
            return self._queue.get(timeout=0.05 if deadline is not None else 20)
        except queue.Empty:
            assert deadline is not None, f"stuck in {session.phase} with nothing to wait for"
            self._clock.advance_to(deadline)
            return None


class Mic:
    """A microphone that hands out PCM in 20 ms chunks, then fails or goes quiet as told."""

    def __init__(self, pcm: bytes = b"", then: Exception | None = None,
                 fail_open: Exception | None = None) -> None:
        self._chunks = [pcm[i:i + CHUNK] for i in range(0, len(pcm) - CHUNK + 1, CHUNK)]
        self._then = then
        self._fail_open = fail_open
        self.drained = threading.Event()

    def open(self) -> None:
        if self._fail_open is not None:
            raise self._fail_open

    def read(self, timeout: float | None = None) -> AudioChunk | None:
        if self._chunks:
            return AudioChunk(self._chunks.pop(0), 16000, time.monotonic())
        self.drained.set()
        if self._then is not None:
            error, self._then = self._then, None
            raise error
        time.sleep(0.01)
        return None

    def close(self) -> None:
        pass


class Recognizer:
    """A recognizer that hears 'klaar', or raises in the call named by ``fail_in``."""

    sample_rate, name, free_speech = 16000, "fake", True

    def __init__(self, fail_in: str | None = None) -> None:
        self.fail_in = fail_in
        self.calls = 0

    def _maybe_fail(self, where: str) -> None:
        self.calls += 1
        if where == self.fail_in:
            self.failed_at = self.calls
            raise RuntimeError(f"decoder crashed in {where}")

    def start(self, phrases) -> None:
        self._maybe_fail("start")

    def accept(self, pcm: bytes) -> None:
        self._maybe_fail("accept")

    def partial(self) -> str:
        return ""

    def finish(self) -> str:
        self._maybe_fail("finish")
        return "klaar"


class Tone:
    """A renderer that writes a short valid WAV: the engine that works."""

    name, voice_id = "espeak", "nl"

    def __init__(self) -> None:
        self.renders = 0

    def render(self, text: str, rate: int, path: Path) -> None:
        self.renders += 1
        write_wav(path, (b"\x00\x10\x00\xf0" * 800), 16000)

    def close(self) -> None:
        pass


@dataclass
class Outcome:
    session: object
    printed: list[str]
    """What went to the screen instead of the loudspeaker."""
    spoken_lines: list[str] = field(default_factory=list)
    """Every sentence the session said, heard or printed."""


def run_voice_with(monkeypatch, tmp_path: Path, *, renderers=None, output=None,
                   mics: list[Mic] | None = None, recognizer=None) -> Outcome:
    """``voice.run_voice`` with fake hardware behind its seams; every prompt printed is noted."""
    from assistant import mic as mic_module
    from assistant import tts

    clock = VirtualClock()
    printed: list[str] = []
    said: list[str] = []
    monkeypatch.setattr(voice, "LiveInputs", lambda _clock: Hurried(clock))
    output = output if output is not None else FakeOutput()
    spoken_by: list[VoiceSpeaker] = []

    def build(lang, *, voice, rate, device, cache_dir, on_notice, print_fn, voicebank=None):
        speaker = VoiceSpeaker(renderers if renderers is not None else [Tone()], output,
                               RenderCache(cache_dir), on_notice=on_notice,
                               print_fn=printed.append)
        original_say = speaker.say

        def say_and_note(text: str, keep: bool = True) -> None:  # what reached the speaker
            said.append(text)
            original_say(text, keep)
        speaker.say = say_and_note  # type: ignore[method-assign]
        spoken_by.append(speaker)
        return speaker

    monkeypatch.setattr(tts, "build_voice_speaker", build)
    opened = iter(mics if mics is not None else [Mic()])
    last = Mic(fail_open=NoInputDevice("no microphone"))
    monkeypatch.setattr(mic_module, "Microphone", lambda settings: next(opened, last))
    monkeypatch.setattr(voice, "open_recognizer",
                        lambda choice, lang, model: (recognizer, [] if recognizer else
                                                     ["asr_keys_only"]))
    settings = voice.VoiceSettings(cache_dir=tmp_path / "cache")
    finished = []

    def go() -> None:
        finished.append(voice.run_voice(settings, exercise(STEPS), NL, ("Anna", "Ben"), clock,
                                        stdin=io.StringIO("")))
    worker = threading.Thread(target=go, daemon=True)
    worker.start()
    worker.join(60)
    assert finished, "the session did not end within a minute"
    return Outcome(finished[0], printed, said)


def notice_count(outcome: Outcome, key: str) -> int:
    sentence = NL.notices[key]
    return outcome.spoken_lines.count(sentence)


def assert_ended_kindly(outcome: Outcome) -> None:
    session = outcome.session
    assert session.done and session.end_reason == "finished"
    goodbye = NL.lines("goodbye")[-1]
    assert any(goodbye in line for line in outcome.spoken_lines)


SPEECH = espeak_pcm("ik ben klaar met vertellen", voice="nl") + bytes(32000)


# --- the audio devices ------------------------------------------------------------------------

def test_the_loudspeaker_fails_at_opening(monkeypatch, tmp_path):
    def refuse(device, rate, channels, pull):
        raise DeviceError("Device unavailable")

    out = AudioOutput(stream_factory=refuse)
    outcome = run_voice_with(monkeypatch, tmp_path, output=out)
    assert notice_count(outcome, "audio_output_missing") == 1
    assert_ended_kindly(outcome)
    assert NL.notices["audio_output_missing"] in outcome.printed
    assert any("vertel" in line for line in outcome.printed)  # every prompt reached the screen


def test_the_loudspeaker_fails_mid_session(monkeypatch, tmp_path):
    class Flaky(FakeOutput):
        def play(self, pcm: bytes, sample_rate: int) -> None:
            if len(self.played) >= 2:
                raise OutputDeviceLost("the audio device disappeared")
            super().play(pcm, sample_rate)

    out = Flaky()
    outcome = run_voice_with(monkeypatch, tmp_path, output=out)
    assert len(out.played) == 2
    assert notice_count(outcome, "audio_output_lost") == 1
    assert NL.notices["audio_output_lost"] in outcome.printed
    assert_ended_kindly(outcome)


def test_the_microphone_fails_at_opening(monkeypatch, tmp_path):
    broken = [Mic(fail_open=NoInputDevice("no default microphone"))] * 3
    outcome = run_voice_with(monkeypatch, tmp_path, mics=broken, recognizer=Recognizer())
    assert notice_count(outcome, "no_input_device") == 1
    assert_ended_kindly(outcome)


def test_the_microphone_fails_mid_session(monkeypatch, tmp_path):
    first = Mic(SPEECH, then=InputDeviceLost("the microphone stopped delivering audio"))
    outcome = run_voice_with(monkeypatch, tmp_path, mics=[first], recognizer=Recognizer())
    assert first.drained.is_set()
    assert notice_count(outcome, "input_lost") == 1
    assert_ended_kindly(outcome)


# --- the recognizer ---------------------------------------------------------------------------

@pytest.mark.parametrize("fail_in", ["start", "accept", "finish"])
def test_the_recognizer_raises_and_listening_goes_on_without_it(monkeypatch, tmp_path, fail_in):
    recognizer = Recognizer(fail_in)
    mic = Mic(SPEECH * 3)
    outcome = run_voice_with(monkeypatch, tmp_path, mics=[mic], recognizer=recognizer)
    assert mic.drained.is_set()
    assert notice_count(outcome, "asr_keys_only") == 1  # said once, though it failed per call
    assert_ended_kindly(outcome)
    assert recognizer.calls == recognizer.failed_at  # never asked again once it failed
    speaking = outcome.session.summary().speaking_seconds
    assert sum(speaking.values()) > 1.0  # voice activity still counts who spoke


# --- the speech engine ------------------------------------------------------------------------

def test_the_speech_engine_writes_an_empty_file(monkeypatch, tmp_path):
    empty = Pyttsx3Renderer("nl", engine_factory=lambda: FakeEngine(write=False))
    out = FakeOutput()
    outcome = run_voice_with(monkeypatch, tmp_path, renderers=[empty, EspeakRenderer("nl")],
                             output=out)
    assert empty.broken and "bad output" in empty.broken
    assert notice_count(outcome, "tts_fallback_espeak") == 1
    assert out.played and outcome.printed == []  # espeak-ng spoke everything
    assert_ended_kindly(outcome)


def test_the_speech_engine_hangs(monkeypatch, tmp_path):
    never = threading.Event()
    hung = Pyttsx3Renderer("nl", timeout=0.3, engine_factory=lambda: FakeEngine(hang=never))
    out = FakeOutput()
    outcome = run_voice_with(monkeypatch, tmp_path, renderers=[hung, Tone()], output=out)
    never.set()
    assert hung.broken and "no answer" in hung.broken
    assert notice_count(outcome, "tts_fallback_espeak") == 1
    assert out.played
    assert_ended_kindly(outcome)


def test_every_speech_engine_fails(monkeypatch, tmp_path):
    outcome = run_voice_with(monkeypatch, tmp_path, renderers=[Failing(), Failing()])
    assert notice_count(outcome, "tts_fallback_text") == 1
    assert any("vertel" in line for line in outcome.printed)
    assert_ended_kindly(outcome)


# --- the disk -----------------------------------------------------------------------------------

AGREE = '[[step]]\nkind = "agree"\ntext = "Wat spreken jullie af?"\nseconds = 60\n'


def _agreed(text: str):
    """A simulated session that ends with ``text`` agreed, by a couple who said it may be kept."""
    from assistant.engine.practice import Practice
    from assistant.engine.timing import Timing
    from assistant.simulate import Scenario, simulate

    return simulate(exercise(AGREE), Scenario((say(text), say("klaar"))), ("Anna", "Ben"), NL,
                    Timing(), lambda line: None, Practice(keep_agreements=True))


def test_the_disk_is_full_while_saving_the_history(tmp_path, capsys):
    home = tmp_path / "home"
    with History(home) as history:
        first = _agreed("elke avond tien minuten praten")
        keep(history, first, dt.datetime(2026, 1, 1, 20, 0).astimezone(), 0.0)
        assert len(history.sessions()) == 1
        pages = history.db.execute("PRAGMA page_count").fetchone()[0]
        history.db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full now
        second = _agreed("x" * 20000)  # needs pages the disk does not have
        keep(history, second, dt.datetime(2026, 1, 2, 20, 0).astimezone(), 0.0)
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "could not be kept" in err and "full" in err, err
        assert "Traceback" not in err
    with History(home) as history:  # nothing already saved is lost, nothing half-saved
        records = history.sessions()
        assert [r.agreements for r in records] == [("elke avond tien minuten praten",)]
        assert history.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.parametrize("damage", ["garbage", "truncated", "zeroed header"])
def test_a_damaged_history_is_set_aside_and_the_session_goes_on(tmp_path, damage):
    home = tmp_path / "home"
    with History(home) as history:
        keep(history, _agreed("samen koken op zondag"), dt.datetime(2026, 1, 1).astimezone(),
             0.0)
    db = home / DB_NAME
    good = db.read_bytes()
    bad = {"garbage": b"this is not a database" * 100, "truncated": good[:len(good) // 3],
           "zeroed header": bytes(100) + good[100:]}[damage]
    db.write_bytes(bad)
    result = samenspraak("run", "spiegelen", "--input", "text", "--names", "Anna", "Ben",
                         "--home", str(home), stdin="")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "set aside" in lines[0] and "Traceback" not in result.stderr
    (aside,) = home.glob(f"{DB_NAME}.damaged-*")
    assert aside.read_bytes() == bad  # kept as it was, for whoever wants to rescue it
    with History(home) as history:
        assert [r.exercise for r in history.sessions()] == ["spiegelen"]


@pytest.mark.parametrize("damage", ["empty", "garbage", "header only", "wrong rate"])
def test_a_damaged_cache_file_is_rendered_again(monkeypatch, tmp_path, damage):
    cache = RenderCache(tmp_path / "cache")
    tone = Tone()
    texts = ["Anna, vertel.", "Ben, vertel.", "Ging het goed?"]
    for text in texts:
        path = cache.ensure_dir() / f"{cache.key(tone.name, tone.voice_id, 150, text)}.wav"
        if damage == "empty":
            path.write_bytes(b"")
        elif damage == "garbage":
            path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage")
        elif damage == "header only":
            write_wav(path, b"", 16000)
        else:
            with wave.open(str(path), "wb") as w:
                w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
                w.writeframes(b"\x01\x00" * 800)
    out = FakeOutput()
    outcome = run_voice_with(monkeypatch, tmp_path, renderers=[tone], output=out)
    assert outcome.printed == [] and out.played  # nothing fell back to text
    assert_ended_kindly(outcome)
    for text in texts:
        assert cache.get(cache.key(tone.name, tone.voice_id, 150, text)) is not None


def test_a_session_survives_a_history_that_cannot_even_be_opened(tmp_path):
    blocker = tmp_path / "home"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    result = samenspraak("run", "spiegelen", "--input", "text", "--names", "Anna", "Ben",
                         "--home", str(blocker), stdin="")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "--home" in result.stderr
    assert blocker.read_text(encoding="utf-8") == "a file where the folder should be"


def test_a_locked_history_is_not_taken_for_damaged(tmp_path):
    """Another process holding the database (a second session) is no damage: one line, exit 2,
    and the history stays where it is, whole."""
    home = tmp_path / "home"
    with History(home) as history:
        keep(history, _agreed("op tijd naar bed"), dt.datetime(2026, 1, 1).astimezone(), 0.0)
    other = sqlite3.connect(home / DB_NAME)
    other.execute("BEGIN EXCLUSIVE")
    try:
        result = samenspraak("run", "spiegelen", "--input", "text", "--names", "Anna", "Ben",
                             "--home", str(home), stdin="")
    finally:
        other.rollback()
        other.close()
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "locked" in result.stderr
    assert not list(home.glob(f"{DB_NAME}.damaged-*"))
    with History(home) as history:
        assert [r.agreements for r in history.sessions()] == [("op tijd naar bed",)]


def test_a_named_model_that_is_missing_stops_the_run_before_any_device_opens(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant import mic as mic_module
    from assistant import tts
    from assistant.engine.errors import UsageError

    opened: list[str] = []
    monkeypatch.setattr(tts, "build_voice_speaker", lambda *a, **k: opened.append("speaker"))
    monkeypatch.setattr(mic_module, "Microphone", lambda settings: opened.append("microphone"))
    settings = voice.VoiceSettings(cache_dir=tmp_path / "cache", model=tmp_path / "nothing")
    with pytest.raises(UsageError, match="no vosk model at"):
        voice.run_voice(settings, exercise(STEPS), load_texts("nl"), ("Anna", "Ben"),
                        VirtualClock(), stdin=io.StringIO())
    assert opened == []
