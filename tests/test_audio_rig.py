"""End-to-end audio through the virtual PulseAudio rig, and the rig's own analysis helpers.

The rig tests run in real time on real (virtual) devices: sounddevice plays into the null sink,
the pipe source carries synthesized speech into the Microphone, the VAD cuts it. In CI they must
run; elsewhere they are skipped, with the reason, when no rig is up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.audio import read_wav
from assistant.engine.messages import SpeechEnded, SpeechStarted
from assistant.mic import InputDeviceLost, Microphone, MicSettings
from assistant.rig.pulse import MicFeeder, RigUnavailable, SinkRecorder, check_rig, point_at_rig
from assistant.rig.signals import (
    active_stretches,
    noise,
    rms_windows,
    silence,
    speech_span,
    tone,
    tone_frequency,
    tone_purity,
)
from assistant.rig.speech import SAMPLE_RATE, espeak_pcm, synth, synth_wav
from assistant.vad import END_SILENCE, UtteranceAudio, VadSettings, VoiceActivity

ROOT = Path(__file__).resolve().parents[1]


def require_pulse() -> None:
    """Skip when the rig is down, saying how to start it; fail instead in CI.

    The rig itself (assistant.rig.pulse) knows nothing of pytest; the other rig tests import
    this from here.
    """
    try:
        check_rig()
    except RigUnavailable as exc:
        if exc.required:
            pytest.fail(str(exc), pytrace=False)
        pytest.skip(str(exc))


# --- the analysis helpers (no rig needed) ---------------------------------------------------------


def test_tone_frequency_and_purity_recognise_a_pure_tone():
    pcm = tone(880, 0.3)
    assert tone_frequency(pcm) == pytest.approx(880, abs=2)
    assert tone_purity(pcm, 880) > 0.95
    assert tone_purity(pcm, 990) < 0.01
    assert tone_purity(noise(0.3, 0.3), 880) < 0.01


def test_active_stretches_find_sounds_and_bridge_short_gaps():
    pcm = silence(0.5) + tone(440, 0.3) + silence(0.1) + tone(440, 0.2) + silence(0.6) \
        + tone(660, 0.4) + silence(0.3)
    stretches = active_stretches(pcm, min_gap=0.15)
    assert len(stretches) == 2
    (a0, a1), (b0, b1) = stretches
    assert a0 == pytest.approx(0.5, abs=0.03) and a1 == pytest.approx(1.1, abs=0.03)
    assert b0 == pytest.approx(1.7, abs=0.03) and b1 == pytest.approx(2.1, abs=0.03)
    assert max(rms_windows(silence(0.2))) == 0


def test_espeak_speech_is_16khz_mono_with_a_plausible_span():
    pcm = espeak_pcm("klaar", voice="nl")
    start, end = speech_span(pcm)
    assert len(pcm) % 2 == 0
    assert 0 <= start < 0.2
    assert 0.2 < end - start < 1.2


def test_synth_and_espeak_pcm_agree_and_synth_wav_round_trips(tmp_path):
    assert synth("ja", lang="nl", voice="f3") == espeak_pcm("ja", voice="nl+f3")
    wav = read_wav(synth_wav("ja", tmp_path / "ja.wav", lang="nl"))
    assert (wav.rate, wav.channels, wav.width) == (SAMPLE_RATE, 1, 2)
    assert wav.pcm == synth("ja", lang="nl")


def test_importing_the_rig_needs_no_pytest_sound_card_or_daemon():
    code = ("import sys, assistant.rig, assistant.rig.signals, assistant.rig.speech, "
            "assistant.rig.pulse; "
            "assert 'pytest' not in sys.modules, 'pytest'; "
            "assert 'sounddevice' not in sys.modules, 'sounddevice'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.parametrize("ci", ["", "1"])
def test_a_missing_rig_is_a_plain_exception_that_says_why(tmp_path, monkeypatch, ci):
    monkeypatch.setenv("SAMENSPRAAK_PULSE_DIR", str(tmp_path))
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path / 'no-daemon'}")
    monkeypatch.setenv("CI", ci)
    with pytest.raises(RigUnavailable) as info:
        check_rig()
    assert info.value.required is bool(ci)
    assert info.value.reason and "pulse-up" in str(info.value)


# --- the rig --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rig() -> None:
    require_pulse()


@pytest.fixture
def feeder(rig: None):
    with MicFeeder() as running:
        yield running


def _listen(mic: Microphone, vad: VoiceActivity, until: float,
            ends: int | None = None) -> list[tuple[float, object]]:
    """VAD events, with the time each fired, until ``until`` (monotonic).

    With ``ends``, stop half a second after that many utterances ended (still catching a
    spurious extra one that starts within that half second).
    """
    events: list[tuple[float, object]] = []
    while time.monotonic() < until:
        chunk = mic.read(timeout=0.5)
        if chunk is None:
            continue
        for event in vad.process(chunk.pcm):
            events.append((time.monotonic(), event))
            if isinstance(event, SpeechEnded) and ends is not None:
                ends -= 1
                if ends == 0:
                    until = min(until, time.monotonic() + 0.5)
    return events


@pytest.mark.audio
def test_a_tone_played_through_sounddevice_is_found_in_the_monitor_recording(rig: None):
    point_at_rig()
    import sounddevice as sd

    recorder = SinkRecorder().start()
    with sd.RawOutputStream(samplerate=16000, channels=1, dtype="int16") as out:
        out.write(silence(0.2) + tone(880, 0.5) + silence(0.4))
    time.sleep(0.2)  # real time on a real device: let the monitor catch the tail
    recording = recorder.stop()

    stretches = recording.stretches()
    assert len(stretches) == 1, stretches
    start, end = stretches[0]
    assert end - start == pytest.approx(0.5, abs=0.06)
    middle = recording.between(start + 0.1, end - 0.1)
    assert tone_frequency(middle) == pytest.approx(880, abs=5)
    assert tone_purity(middle, 880) > 0.9


@pytest.mark.audio
def test_microphone_delivers_20ms_chunks_in_real_time(feeder: MicFeeder):
    with Microphone(MicSettings()) as mic:
        assert mic.device_rate == 16000
        first = mic.read(timeout=2)
        assert first is not None
        chunks = [first]
        while chunks[-1].captured_at - first.captured_at < 1.0:
            chunk = mic.read(timeout=2)
            assert chunk is not None
            chunks.append(chunk)
    assert {len(c.pcm) for c in chunks} == {640}
    times = [c.captured_at for c in chunks]
    assert times == sorted(times)
    assert 40 <= len(chunks) <= 60  # one second of 20 ms chunks, give or take the start-up burst


@pytest.mark.audio
@pytest.mark.parametrize(("voice", "text"), [
    ("en", "yes"), ("nl", "klaar"), ("en", "I felt alone when you came home late"),
])
def test_speech_into_the_microphone_is_cut_into_one_utterance(
        feeder: MicFeeder, voice: str, text: str):
    speech = espeak_pcm(text, voice=voice)
    span_start, span_end = speech_span(speech)
    end_silence = END_SILENCE["yesno"] if len(text) < 8 else END_SILENCE["free"]
    vad = VoiceActivity(VadSettings(end_silence=end_silence))

    with Microphone(MicSettings()) as mic:
        _listen(mic, vad, time.monotonic() + 0.3)  # the feeder's silence: nothing happens
        utterance = feeder.say(speech)
        events = _listen(mic, vad, time.monotonic() + len(speech) / 32000 + end_silence + 1.5,
                         ends=1)

    kinds = [type(e) for _, e in events]
    assert kinds[0] is SpeechStarted and kinds[-1] is SpeechEnded, kinds
    assert kinds.count(SpeechStarted) == 1 and kinds.count(SpeechEnded) == 1
    assert utterance.started_at is not None
    spoken_at = utterance.started_at + span_start
    last_sample_at = utterance.started_at + span_end
    started_at = events[0][0]
    ended_at, ended = events[-1]
    assert 0 <= started_at - spoken_at < 0.4
    assert ended.seconds == pytest.approx(span_end - span_start, abs=0.25)
    # webrtcvad may call a trailing fricative ("yes") silence already, hence the early margin.
    assert end_silence - 0.15 <= ended_at - last_sample_at < end_silence + 0.4
    audio = b"".join(e.pcm for _, e in events if isinstance(e, UtteranceAudio))
    heard_start, heard_end = speech_span(audio)
    assert heard_start >= 0.1  # the pre-roll keeps some silence before the first sound
    assert heard_end - heard_start == pytest.approx(span_end - span_start, abs=0.1)


@pytest.mark.audio
def test_short_answers_in_a_row_end_quickly_one_by_one(feeder: MicFeeder):
    words = [espeak_pcm(w, voice="nl") for w in ("ja", "nee", "pauze", "stop")]
    vad = VoiceActivity(VadSettings(end_silence=END_SILENCE["yesno"]))
    with Microphone(MicSettings()) as mic:
        said = []
        for word in words:
            said.append(feeder.say(word))
            feeder.say(silence(1.0))
        events = _listen(mic, vad, time.monotonic() + sum(len(w) for w in words) / 32000 + 5.0,
                         ends=len(words))

    ends = [(t, e) for t, e in events if isinstance(e, SpeechEnded)]
    assert len(ends) == len(words), [type(e).__name__ for _, e in events]
    for (ended_at, _), utterance, word in zip(ends, said, words, strict=True):
        assert utterance.started_at is not None
        latency = ended_at - (utterance.started_at + speech_span(word)[1])
        assert END_SILENCE["yesno"] - 0.15 <= latency < END_SILENCE["yesno"] + 0.4


@pytest.mark.audio
def test_a_microphone_whose_sound_server_dies_is_reported_lost_once(rig: None, tmp_path: Path):
    private = tmp_path / "pulse"
    env = {**os.environ, "SAMENSPRAAK_PULSE_DIR": str(private)}
    env.pop("PULSE_SERVER", None)
    subprocess.run(["bash", str(ROOT / "scripts" / "pulse-up")], env=env, check=True,
                   capture_output=True, timeout=60)
    pid = int((private / "pulse" / "pid").read_text())
    feeder = MicFeeder(fifo=private / "mic.fifo").start()
    saved = os.environ.get("PULSE_SERVER")
    try:
        # The ALSA pulse plugin connects when a device is opened: this stream goes to the
        # private daemon, whatever PortAudio listed at import.
        os.environ["PULSE_SERVER"] = f"unix:{private / 'pulse' / 'native'}"
        mic = Microphone(MicSettings(device="pulse"))
        mic.open()
        _restore(saved)
        assert mic.read(timeout=2) is not None
        os.kill(pid, signal.SIGTERM)
        with pytest.raises(InputDeviceLost, match="stopped delivering"):
            for _ in range(100):
                mic.read(timeout=0.5)
        assert mic.read(timeout=0.1) is None
        assert mic.closed
    finally:
        _restore(saved)
        feeder.stop(check=False)
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass  # already gone, as the test intended


def _restore(pulse_server: str | None) -> None:
    """Put PULSE_SERVER back as it was."""
    if pulse_server is None:
        os.environ.pop("PULSE_SERVER", None)
    else:
        os.environ["PULSE_SERVER"] = pulse_server
