"""Speech: real pyttsx3 and espeak-ng renders, the cache, fallbacks, loudness, pace, output loss."""

from __future__ import annotations

import math
import stat
import threading
import time
import wave
from array import array
from pathlib import Path
from types import SimpleNamespace

import pytest

from assistant import audio
from assistant.chimes import chime_pcm
from assistant.engine.messages import Chime
from assistant.playback import (
    SAMPLE_RATE,
    AudioOutput,
    NoOutputDevice,
    OutputDeviceLost,
)
from assistant.tts import (
    DEFAULT_RATE,
    PACE_LIMITS,
    PEAK_CEILING_DBFS,
    TARGET_DBFS,
    EspeakRenderer,
    Pyttsx3Renderer,
    RenderCache,
    RenderError,
    RenderTimeout,
    VoiceSpeaker,
    build_voice_speaker,
    check_wav,
    choose_voice,
    normalise_wav,
)

PROMPT = "Anna, vertel Ben in een paar zinnen wat je bezighoudt."


# --- helpers and fakes ----------------------------------------------------------------------


def levels(pcm: bytes) -> tuple[float, float]:
    """(average dBFS, peak dBFS) of 16-bit PCM."""
    values = array("h", pcm)
    rms = math.sqrt(sum(v * v for v in values) / len(values))
    peak = max(abs(v) for v in values)
    return 20 * math.log10(rms / 32768), 20 * math.log10(peak / 32768)


def write_wav(path: Path, pcm: bytes, rate: int = SAMPLE_RATE) -> None:
    audio.write_wav(path, pcm, rate)


class Counting:
    """Wraps a renderer and counts its renders."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls: list[tuple[str, int]] = []
        self.closed = False

    @property
    def voice_id(self) -> str:
        return self.inner.voice_id

    def render(self, text: str, rate: int, path: Path) -> None:
        self.calls.append((text, rate))
        self.inner.render(text, rate, path)

    def close(self) -> None:
        self.closed = True
        self.inner.close()


class Failing:
    """A renderer that always fails."""

    name = "broken"
    voice_id = "none"

    def render(self, text: str, rate: int, path: Path) -> None:
        raise RenderError("out of order")

    def close(self) -> None:
        pass


class FakeOutput:
    """Records what is played; can fail like a device."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.played: list[bytes] = []
        self.fail = fail
        self.attempts = 0
        self.closed = False
        self.interrupts = 0
        self.playing = False

    def play(self, pcm: bytes, sample_rate: int) -> None:
        assert sample_rate == SAMPLE_RATE
        self.attempts += 1
        if self.fail is not None:
            raise self.fail
        self.played.append(pcm)

    def interrupt(self) -> None:
        self.interrupts += 1

    def is_playing(self) -> bool:
        return self.playing

    def close(self) -> None:
        self.closed = True


class CallbackStream:
    """A callback stream for AudioOutput: a thread pulls ``frames`` every 10 ms, as a card does."""

    def __init__(self, frames: int, pull) -> None:
        self.frames, self.pull, self.active = frames, pull, True
        self.played = bytearray()
        self.first_sound = threading.Event()
        self._running = threading.Event()

    def start(self) -> None:
        self._running.set()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        while self._running.is_set():
            buffer = bytearray(self.frames * 2)
            self.pull(buffer, self.frames, 0.0)
            self.played += buffer
            if any(buffer):
                self.first_sound.set()
            time.sleep(0.01)

    def close(self) -> None:
        self._running.clear()


class FakeEngine:
    """A pyttsx3 engine stand-in: a Dutch and an English voice; misbehaves as told."""

    def __init__(self, *, write: bool = True, hang: threading.Event | None = None) -> None:
        self.voices = [SimpleNamespace(id="gmw/en", name="English", languages=["en-gb"]),
                       SimpleNamespace(id="gmw/nl", name="Dutch", languages=["nl"])]
        self.props: dict = {}
        self.write = write
        self.hang = hang
        self.target: str | None = None
        self.runs = 0

    def getProperty(self, name):  # noqa: N802 - pyttsx3's spelling
        return self.voices if name == "voices" else self.props.get(name)

    def setProperty(self, name, value):  # noqa: N802 - pyttsx3's spelling
        self.props[name] = value

    def save_to_file(self, text, path):
        self.target = path

    def runAndWait(self):  # noqa: N802 - pyttsx3's spelling
        self.runs += 1
        if self.hang is not None:
            self.hang.wait()
        if self.write:
            write_wav(Path(self.target), array("h", [0, 1000, 0, -1000] * 500).tobytes())


@pytest.fixture
def cache(tmp_path) -> RenderCache:
    return RenderCache(tmp_path / "cache" / "tts")


def speaker(renderers, cache, output=None, **kwargs) -> tuple[VoiceSpeaker, list[str], list]:
    notices: list[str] = []
    printed: list[str] = []
    spk = VoiceSpeaker(renderers, output if output is not None else FakeOutput(), cache,
                       on_notice=notices.append, print_fn=printed.append, **kwargs)
    return spk, notices, printed


# --- checks -----------------------------------------------------------------------------------


def test_check_wav_rejects_missing_empty_garbage_and_frameless(tmp_path):
    with pytest.raises(RenderError, match="no file"):
        check_wav(tmp_path / "missing.wav")
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(RenderError, match="empty"):
        check_wav(tmp_path / "empty.wav")
    (tmp_path / "junk.wav").write_bytes(b"this is not audio at all" * 4)
    with pytest.raises(RenderError, match="no valid WAV"):
        check_wav(tmp_path / "junk.wav")
    write_wav(tmp_path / "none.wav", b"")
    with pytest.raises(RenderError, match="without audio"):
        check_wav(tmp_path / "none.wav")
    write_wav(tmp_path / "ok.wav", b"\x01\x00" * 10)
    check_wav(tmp_path / "ok.wav")


# --- the cache --------------------------------------------------------------------------------


def test_cache_key_covers_renderer_voice_rate_and_text():
    base = RenderCache.key("pyttsx3", "gmw/nl", 150, "Hallo")
    assert len(base) == 64
    assert base == RenderCache.key("pyttsx3", "gmw/nl", 150, "Hallo")
    others = {RenderCache.key("espeak", "gmw/nl", 150, "Hallo"),
              RenderCache.key("pyttsx3", "gmw/en", 150, "Hallo"),
              RenderCache.key("pyttsx3", "gmw/nl", 165, "Hallo"),
              RenderCache.key("pyttsx3", "gmw/nl", 150, "Hallo!")}
    assert base not in others and len(others) == 4


def test_cache_files_are_private_atomic_and_round_trip(tmp_path):
    cache = RenderCache(tmp_path / "a" / "b")
    pcm = array("h", range(-500, 500)).tobytes()
    cache.put("k1", pcm)
    for directory in (tmp_path / "a", tmp_path / "a" / "b"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(cache.path("k1").stat().st_mode) == 0o600
    assert [p.name for p in cache.directory.iterdir()] == ["k1.wav"]  # no temporary left
    assert cache.get("k1") == pcm and cache.hits == 1
    assert cache.get("k2") is None and cache.misses == 1


def test_damaged_cache_file_counts_as_missing_and_goes(cache):
    cache.ensure_dir()
    cache.path("bad").write_bytes(b"RIFF garbage")
    assert cache.get("bad") is None
    assert not cache.path("bad").exists()


def test_the_cache_directory_is_the_callers_choice(tmp_path):
    with pytest.raises(TypeError):
        RenderCache()  # no default of its own that could disagree with the CLI's
    with pytest.raises(TypeError):
        build_voice_speaker("nl")
    assert RenderCache(tmp_path / "x").directory == tmp_path / "x"
    assert not (tmp_path / "x").exists()  # created on first use only


# --- voices -----------------------------------------------------------------------------------

VOICES = [SimpleNamespace(id="gmw/en", name="English (Great Britain)", languages=["en-gb"]),
          SimpleNamespace(id="gmw/en-us", name="English (America)", languages=[b"en-us"]),
          SimpleNamespace(id="gmw/nl-be", name="Vlaams", languages=["nl-be"]),
          SimpleNamespace(id="gmw/nl", name="Dutch", languages=["nl"]),
          SimpleNamespace(id="HKEY\\Hedda", name="Microsoft Hedda Desktop", languages=[])]


def test_choose_voice_by_language_and_by_request():
    assert choose_voice(VOICES, "nl") == "gmw/nl"  # exact code beats the regional one
    assert choose_voice(VOICES, "en") == "gmw/en"
    assert choose_voice(VOICES, "en", "en-us") == "gmw/en-us"  # by the last part of the id
    assert choose_voice(VOICES, "nl", "Vlaams") == "gmw/nl-be"  # by name
    assert choose_voice(VOICES, "nl", "HKEY\\Hedda") == "HKEY\\Hedda"  # by id
    assert choose_voice(VOICES, "nl", "klingon") == "gmw/nl"  # unknown: the language's voice
    assert choose_voice(VOICES, "de") is None
    assert choose_voice([SimpleNamespace(id="x1", name="Nederlands Claire", languages=[])],
                        "nl") == "x1"


# --- real renderers ---------------------------------------------------------------------------


def test_espeak_renders_a_valid_wav(tmp_path):
    out = tmp_path / "e.wav"
    EspeakRenderer("nl").render("-v is geen optie; dit is gewoon tekst.", 150, out)
    with wave.open(str(out)) as wav:
        assert wav.getnframes() > SAMPLE_RATE // 2
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)


def test_espeak_reports_a_missing_binary_and_a_bad_voice(tmp_path):
    with pytest.raises(RenderError, match="install the espeak-ng package"):
        EspeakRenderer("nl", binary="espeak-ng-does-not-exist").render("x", 150,
                                                                       tmp_path / "x.wav")
    with pytest.raises(RenderError, match="failed"):
        EspeakRenderer("nl", voice="bogus").render("x", 150, tmp_path / "y.wav")


def test_pyttsx3_renders_dutch_quietly_on_its_own_thread(tmp_path, capfd):
    renderer = Pyttsx3Renderer("nl")
    try:
        assert renderer.voice_id == "gmw/nl"
        for i in range(3):  # a second and third runAndWait must work too
            out = tmp_path / f"p{i}.wav"
            renderer.render(f"Dit is zin {i}.", 150, out)
            check_wav(out)
        assert renderer.broken is None
        assert renderer._worker.thread is not None
        assert renderer._worker.thread.name == "samenspraak-pyttsx3"
    finally:
        renderer.close()
    assert "Audio saved" not in capfd.readouterr().out


# --- speaking through the cache ---------------------------------------------------------------


def test_second_say_comes_from_the_cache(cache):
    espeak = Counting(EspeakRenderer("nl"))
    output = FakeOutput()
    spk, notices, printed = speaker([espeak], cache, output)
    spk.say(PROMPT)
    spk.say(PROMPT)
    assert len(espeak.calls) == 1 and spk.renders == 1
    assert output.played[0] == output.played[1] and len(output.played[0]) > SAMPLE_RATE
    assert notices == [] and printed == []
    # a new speaker on the same cache (the next session) renders nothing either
    again = Counting(EspeakRenderer("nl"))
    spk2, _, _ = speaker([again], cache, FakeOutput())
    spk2.say(PROMPT)
    assert again.calls == []


def test_the_couples_own_words_are_spoken_and_kept_in_no_cache(cache):
    espeak = Counting(EspeakRenderer("nl"))
    output = FakeOutput()
    spk, _, printed = speaker([espeak], cache, output)
    agreement = "Elke avond tien minuten praten."
    spk.say(agreement, keep=False)
    spk.say(agreement, keep=False)
    assert len(espeak.calls) == 2 and len(output.played) == 2 and printed == []
    assert list(cache.directory.glob("*")) == []  # nothing of it on disk
    spk.say(PROMPT)
    assert len(list(cache.directory.glob("*"))) == 1  # the assistant's own sentence is kept


def test_an_agreement_is_said_as_the_couples_own_words() -> None:
    from simkit import exercise

    from assistant.engine.clock import VirtualClock
    from assistant.engine.messages import Heard, PromptPlayed, Say
    from assistant.engine.session import Session
    from assistant.engine.texts import load_texts

    ex = exercise('[[step]]\nkind = "agree"\ntext = "Wat spreken jullie af?"\nseconds = 60\n')
    session = Session(ex, ("Anna", "Ben"), load_texts("nl"), VirtualClock())
    effects = list(session.start())
    effects += [e for s in effects if isinstance(s, Say)
                for e in session.handle(PromptPlayed(s.prompt))]
    effects += session.handle(Heard("elke avond wandelen"))
    effects += session.handle(Heard("klaar"))
    said = [e for e in effects if isinstance(e, Say)]
    private = [e.text for e in said if e.private]
    assert len(private) == 2  # heard back at once, and again among the closing's agreements
    assert all("elke avond wandelen" in text for text in private)
    assert not any("elke avond wandelen" in e.text for e in said if not e.private)


def test_a_prompt_cut_while_it_renders_is_not_played(cache):
    output = FakeOutput()
    cut_during: list[str] = []

    class CutWhileRendering(Counting):
        def render(self, text: str, rate: int, path: Path) -> None:
            if text in cut_during:
                spk.interrupt()  # "stop" heard while this sentence was being rendered
            super().render(text, rate, path)

    spk, _, printed = speaker([CutWhileRendering(EspeakRenderer("nl"))], cache, output)
    cut_during.append("Jullie afspraak: elke avond wandelen.")
    spk.say("Jullie afspraak: elke avond wandelen.", keep=False)
    assert output.played == [] and printed == []
    spk.say(PROMPT)  # the next prompt plays as usual
    assert len(output.played) == 1


def test_prepare_renders_ahead_in_the_background(cache):
    espeak = Counting(EspeakRenderer("nl"))
    output = FakeOutput()
    spk, _, _ = speaker([espeak], cache, output)
    texts = ["Welkom.", "Wie begint?", PROMPT, "Welkom."]
    spk.prepare(texts)
    assert spk.wait_prepared(timeout=30)
    assert sorted(t for t, _ in espeak.calls) == sorted(set(texts))
    for text in texts:
        spk.say(text)
    assert len(espeak.calls) == 3 and len(output.played) == 4
    spk.close()


def test_a_prompt_rendering_in_the_background_is_not_rendered_twice(cache):
    gate, entered = threading.Event(), threading.Event()

    class Gated(Counting):
        def render(self, text, rate, path):
            entered.set()
            gate.wait()
            super().render(text, rate, path)

    espeak = Gated(EspeakRenderer("nl"))
    spk, _, _ = speaker([espeak], cache)
    spk.prepare([PROMPT])
    assert entered.wait(timeout=30)
    result: list = []
    waiter = threading.Thread(target=lambda: result.append(spk.pcm_for(PROMPT)))
    waiter.start()
    gate.set()
    waiter.join(timeout=30)
    assert spk.wait_prepared(timeout=30)
    assert len(espeak.calls) == 1 and result and result[0]
    spk.close()


def test_real_pyttsx3_through_a_warm_output(cache):
    streams: list[CallbackStream] = []

    def factory(device, rate, channels, pull):
        streams.append(CallbackStream(2205, pull))  # ten times faster than real time
        return streams[-1]

    output = AudioOutput(stream_factory=factory)
    pyttsx3 = Counting(Pyttsx3Renderer("nl"))
    spk, notices, _ = speaker([pyttsx3, EspeakRenderer("nl")], cache, output)
    spk.say(PROMPT)
    assert notices == [] and len(pyttsx3.calls) == 1
    expected = cache.get(RenderCache.key("pyttsx3", "gmw/nl", DEFAULT_RATE, PROMPT))
    assert expected in streams[0].played
    spk.close()


# --- fallbacks --------------------------------------------------------------------------------


def test_pyttsx3_writing_nothing_falls_back_to_espeak_once(cache):
    engine = FakeEngine(write=False)
    espeak = Counting(EspeakRenderer("nl"))
    pyttsx3 = Pyttsx3Renderer("nl", engine_factory=lambda: engine)
    spk, notices, printed = speaker([pyttsx3, espeak], cache)
    spk.say("Eerste zin.")
    spk.say("Tweede zin.")
    assert notices == ["tts_fallback_espeak"]
    assert engine.runs == 2  # one retry, then given up and never asked again
    assert "no file" in (pyttsx3.broken or "")
    assert len(espeak.calls) == 2 and printed == []
    spk.close()


def test_pyttsx3_empty_file_once_is_rendered_again(tmp_path):
    engine = FakeEngine()
    original = engine.runAndWait
    calls: list[int] = []

    def flaky():
        calls.append(1)
        if len(calls) > 1:  # the first run writes nothing, like the real driver now and then
            original()

    engine.runAndWait = flaky
    renderer = Pyttsx3Renderer("nl", engine_factory=lambda: engine)
    renderer.render("Hallo.", 150, tmp_path / "h.wav")
    check_wav(tmp_path / "h.wav")
    assert len(calls) == 2 and renderer.broken is None
    renderer.close()


def test_pyttsx3_hanging_times_out_and_falls_back(cache):
    release = threading.Event()
    engine = FakeEngine(hang=release)
    pyttsx3 = Pyttsx3Renderer("nl", timeout=0.05, engine_factory=lambda: engine)
    espeak = Counting(EspeakRenderer("nl"))
    spk, notices, _ = speaker([pyttsx3, espeak], cache)
    try:
        spk.say(PROMPT)
        assert notices == ["tts_fallback_espeak"]
        assert len(espeak.calls) == 1
        with pytest.raises(RenderError):
            pyttsx3.render("x", 150, cache.scratch_path())  # broken for good, fails at once
    finally:
        release.set()
        spk.close()


def test_pyttsx3_timeout_is_a_render_timeout(tmp_path):
    release = threading.Event()
    renderer = Pyttsx3Renderer("nl", timeout=0.05,
                               engine_factory=lambda: FakeEngine(hang=release))
    try:
        with pytest.raises(RenderTimeout):
            renderer.render("x", 150, tmp_path / "x.wav")
    finally:
        release.set()


def test_no_voice_for_the_language_falls_back(cache):
    engine = FakeEngine()
    pyttsx3 = Pyttsx3Renderer("de", engine_factory=lambda: engine)
    spk, notices, _ = speaker([pyttsx3, EspeakRenderer("de")], cache)
    spk.say("Guten Abend.")
    assert notices == ["tts_fallback_espeak"] and "voice" in (pyttsx3.broken or "")


def test_no_renderer_left_prints_and_says_so_once(cache):
    output = FakeOutput()
    spk, notices, printed = speaker([Failing(), Failing()], cache, output)
    spk.say("Eén.")
    spk.say("Twee.")
    assert notices == ["tts_fallback_text"]
    assert printed == ["Eén.", "Twee."] and output.played == []


def test_notice_callback_may_speak_and_comes_first(cache):
    printed: list[str] = []
    spk = VoiceSpeaker([Failing()], FakeOutput(), cache, print_fn=printed.append,
                       on_notice=lambda key: spk.say(f"[{key}]"))
    spk.say("Hallo.")
    assert printed == ["[tts_fallback_text]", "Hallo."]


@pytest.mark.parametrize(("error", "key"), [(NoOutputDevice("none"), "audio_output_missing"),
                                            (OutputDeviceLost("gone"), "audio_output_lost")])
def test_output_failure_prints_from_then_on(cache, error, key):
    espeak = Counting(EspeakRenderer("nl"))
    output = FakeOutput(fail=error)
    spk, notices, printed = speaker([espeak], cache, output)
    spk.say("Eén.")
    spk.chime(Chime.TURN_START)
    spk.say("Twee.")
    assert notices == [key]
    assert printed == ["Eén.", "Twee."]
    assert output.attempts == 1 and len(espeak.calls) == 1  # nothing rendered for nobody


def test_without_output_everything_is_printed(cache):
    espeak = Counting(EspeakRenderer("nl"))
    printed: list[str] = []
    spk = VoiceSpeaker([espeak], None, cache, print_fn=printed.append)
    spk.say("Hallo.")
    spk.chime(Chime.PAUSED)
    assert printed == ["Hallo."] and espeak.calls == []


# --- loudness and pace ------------------------------------------------------------------------


def test_normalise_brings_quiet_speech_to_the_target(tmp_path):
    raw = tmp_path / "raw.wav"
    EspeakRenderer("nl").render(PROMPT, 150, raw)
    with wave.open(str(raw)) as wav:
        loud = array("h", wav.readframes(wav.getnframes()))
    quiet = array("h", (v // 10 for v in loud))  # -20 dB
    write_wav(tmp_path / "quiet.wav", quiet.tobytes())
    average, peak = levels(normalise_wav(tmp_path / "quiet.wav"))
    assert abs(average - TARGET_DBFS) < 0.5
    assert peak <= PEAK_CEILING_DBFS + 0.1


def test_normalise_never_lifts_peaks_past_the_ceiling_and_resamples(tmp_path):
    spiky = array("h", [0] * 4000 + [20000, -20000] + [0] * 4000)
    write_wav(tmp_path / "spiky.wav", spiky.tobytes(), rate=16000)
    pcm = normalise_wav(tmp_path / "spiky.wav")
    _average, peak = levels(pcm)
    assert abs(peak - PEAK_CEILING_DBFS) < 0.2
    assert abs(len(pcm) // 2 - 8002 * SAMPLE_RATE / 16000) <= 2


def test_pace_changes_rate_and_duration_within_limits(cache):
    espeak = Counting(EspeakRenderer("nl"))
    spk, _, _ = speaker([espeak], cache)
    normal = spk.pcm_for(PROMPT)
    spk.set_pace(0.8)
    slower = spk.pcm_for(PROMPT)
    spk.set_pace(1.2)
    faster = spk.pcm_for(PROMPT)
    assert len(slower) > len(normal) * 1.05 and len(faster) < len(normal) * 0.95
    assert [rate for _, rate in espeak.calls] == [150, 120, 180]
    assert spk.pace == 1.2 and spk.rate == round(DEFAULT_RATE * 1.2)
    spk.set_pace(10)
    assert spk.pace == PACE_LIMITS[1] == 2.0 and spk.rate == 2 * DEFAULT_RATE
    spk.set_pace(0.1)
    assert spk.pace == PACE_LIMITS[0] == 0.5 and spk.rate == DEFAULT_RATE // 2


def test_pace_change_renders_the_prepared_prompts_again(cache):
    espeak = Counting(EspeakRenderer("nl"))
    spk, _, _ = speaker([espeak], cache)
    spk.prepare(["Welkom.", "Wie begint?"])
    assert spk.wait_prepared(timeout=30)
    spk.set_pace(1.1)
    assert spk.wait_prepared(timeout=30)
    spk.set_pace(1.1)  # the same pace again renders nothing new
    assert spk.wait_prepared(timeout=30)
    assert sorted(rate for _, rate in espeak.calls) == [150, 150, 165, 165]
    spk.close()


# --- interrupting and audibility ----------------------------------------------------------------


def test_interrupt_reaches_the_output_and_is_audible_follows_it(cache):
    output = FakeOutput()
    spk, _, _ = speaker([Failing()], cache, output)
    assert not spk.is_audible()
    output.playing = True
    assert spk.is_audible()
    spk.interrupt()
    assert output.interrupts == 1


def test_without_output_nothing_is_audible_and_interrupt_is_harmless(cache):
    spk = VoiceSpeaker([Failing()], None, cache, print_fn=lambda text: None)
    spk.interrupt()
    assert not spk.is_audible()


def test_interrupt_cuts_a_prompt_playing_on_a_real_output(cache):
    """say() blocks until heard; interrupt() from another thread ends it early."""
    streams: list[CallbackStream] = []

    def factory(device, rate, channels, pull):
        streams.append(CallbackStream(220, pull))  # real time at 22,050 Hz
        return streams[-1]

    output = AudioOutput(stream_factory=factory)
    spk, _, _ = speaker([EspeakRenderer("nl")], cache, output)
    pcm = spk.pcm_for(PROMPT)
    saying = threading.Thread(target=spk.say, args=(PROMPT,))
    saying.start()
    assert output.busy.wait(10) and streams[0].first_sound.wait(10)
    assert spk.is_audible()
    spk.interrupt()
    saying.join(10)
    assert not saying.is_alive() and not spk.is_audible()
    assert len(streams[0].played.rstrip(b"\0")) < len(pcm) / 2
    spk.close()


# --- chimes, blank text, close ------------------------------------------------------------------


def test_chime_plays_the_generated_tone(cache):
    output = FakeOutput()
    spk, _, _ = speaker([Failing()], cache, output)
    spk.chime(Chime.WARNING)
    assert output.played == [chime_pcm(Chime.WARNING)]


def test_blank_text_is_not_spoken(cache):
    espeak = Counting(EspeakRenderer("nl"))
    output = FakeOutput()
    spk, _, printed = speaker([espeak], cache, output)
    spk.say("   ")
    assert espeak.calls == [] and output.played == [] and printed == []


def test_close_releases_everything_once(cache):
    espeak = Counting(EspeakRenderer("nl"))
    output = FakeOutput()
    spk, _, _ = speaker([espeak], cache, output)
    spk.prepare(["Tot ziens."])
    spk.close()
    spk.close()
    assert espeak.closed and output.closed


def test_build_voice_speaker_wires_the_chain_without_touching_devices(tmp_path):
    spk = build_voice_speaker("en", voice="en-us", rate=170, device="pulse",
                              cache_dir=tmp_path / "c")
    assert [r.name for r in spk.renderers] == ["pyttsx3", "espeak"]
    assert spk.rate == 170 and spk.renderers[1].voice_id == "en-us"
    assert isinstance(spk.output, AudioOutput) and spk.output.device == "pulse"
    spk.close()


def test_an_unexpected_renderer_error_reaches_the_caller(cache):
    class Exploding(Failing):
        def render(self, text, rate, path):
            raise ZeroDivisionError("bug")

    spk, _, printed = speaker([Exploding()], cache)
    with pytest.raises(ZeroDivisionError):
        spk.say("Hallo.")
    assert spk._inflight == {}  # nobody is left waiting for it
