"""AudioOutput with a fake callback stream: no sound card; a thread stands in for PortAudio's."""

from __future__ import annotations

import ctypes.util
import os
import subprocess
import sys
import threading
import time
from array import array
from pathlib import Path

import pytest

from assistant.playback import (
    SAMPLE_RATE,
    AudioOutput,
    AudioOutputError,
    DeviceError,
    NoOutputDevice,
    OutputDeviceLost,
    convert_pcm,
)

ROOT = Path(__file__).resolve().parent.parent


class FakeStream:
    """A callback stream: a thread pulls ``frames`` per period, like PortAudio's would."""

    def __init__(self, owner: FakeFactory, rate: int, channels: int, pull) -> None:
        self.owner = owner
        self.rate = rate
        self.channels = channels
        self.pull = pull
        self.played = bytearray()
        self.busy_seen: list[bool] = []
        self.starts = 0
        self.closed = False
        self.opened_on = threading.current_thread().name
        self._active = True
        self._running = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self._active

    def start(self) -> None:
        self.starts += 1
        self._running.set()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        frames = self.owner.frames
        while self._running.is_set():
            buffer = bytearray(frames * 2 * self.channels)
            self.pull(buffer, frames, self.owner.delay)
            self.played += buffer
            if any(buffer):
                self.busy_seen.append(self.owner.output.busy.is_set())
            time.sleep(self.owner.period)

    def fail(self) -> None:
        """The device went away: no more callbacks, the stream is no longer active."""
        self._active = False
        self._running.clear()

    def hang(self) -> None:
        """The device stops asking for audio, but the stream still looks active."""
        self._running.clear()

    def close(self) -> None:
        self.closed = True
        self._running.clear()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)


class FakeFactory:
    def __init__(self, refuse=lambda rate, channels: False, frames: int = 100,
                 period: float = 0.0005, delay: float = 0.0) -> None:
        self.refuse = refuse
        self.frames, self.period, self.delay = frames, period, delay
        self.calls: list[tuple] = []
        self.streams: list[FakeStream] = []
        self.output: AudioOutput | None = None

    def __call__(self, device, rate: int, channels: int, pull) -> FakeStream:
        self.calls.append((device, rate, channels))
        if self.refuse(rate, channels):
            raise DeviceError(f"Invalid sample rate {rate}/{channels}")
        stream = FakeStream(self, rate, channels, pull)
        self.streams.append(stream)
        return stream


def make(device=None, stall_seconds: float = 5.0, **factory_args
         ) -> tuple[AudioOutput, FakeFactory]:
    factory = FakeFactory(**factory_args)
    out = AudioOutput(device, stream_factory=factory, stall_seconds=stall_seconds)
    factory.output = out
    return out, factory


def pcm(frames: int) -> bytes:
    """A ramp that never touches zero, so the prompt is told apart from the silence around it."""
    return array("h", (1 + i % 1000 for i in range(frames))).tobytes()


def sound(played: bytes | bytearray) -> bytes:
    """What was played, without the silence around and between prompts."""
    samples = array("h", bytes(played))
    return array("h", (s for s in samples if s)).tobytes()


def play_in_thread(out: AudioOutput, data: bytes) -> tuple[threading.Thread, list]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            out.play(data, SAMPLE_RATE)
        except BaseException as exc:  # handed to the test
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def test_play_hands_every_frame_to_the_callback_and_returns_once_it_was_taken():
    out, factory = make()
    data = pcm(1050)
    out.play(data, SAMPLE_RATE)
    assert sound(factory.streams[0].played) == data
    out.close()


def test_one_stream_runs_for_the_whole_session_and_plays_silence_in_between():
    out, factory = make()
    for _ in range(3):
        out.play(pcm(300), SAMPLE_RATE)
        time.sleep(0.01)
    stream = factory.streams[0]
    assert factory.calls == [(None, SAMPLE_RATE, 1)]
    assert stream.starts == 1 and not stream.closed
    assert sound(stream.played) == pcm(300) * 3
    assert stream.played.count(0) > 100  # silence between the prompts
    out.close()
    assert stream.closed


def test_open_starts_the_stream_before_the_first_prompt():
    out, factory = make()
    out.open()
    assert factory.streams[0].starts == 1
    out.play(pcm(100), SAMPLE_RATE)
    assert factory.streams[0].starts == 1
    out.close()


def test_busy_while_playing_and_the_device_delay_is_waited_for():
    out, factory = make(delay=0.3)
    assert not out.busy.is_set()
    before = time.monotonic()
    out.play(pcm(250), SAMPLE_RATE)
    after = time.monotonic()
    assert factory.streams[0].busy_seen and all(factory.streams[0].busy_seen)
    assert not out.busy.is_set() and not out.is_playing()
    # The first sample is heard `delay` after the callback took it; play() returns once the
    # last one is heard, not when the callback took it.
    assert before + 0.3 <= out.last_play_started <= after
    assert after - before >= 0.3
    assert out.ended_at >= out.last_play_started
    out.close()


def test_empty_pcm_plays_nothing():
    out, factory = make()
    out.play(b"", SAMPLE_RATE)
    assert factory.calls == []
    out.close()


def test_open_eagerly_reports_no_device_with_advice():
    out, factory = make("USB Headset", refuse=lambda rate, channels: True)
    with pytest.raises(NoOutputDevice) as info:
        out.open()
    message = str(info.value)
    assert "USB Headset" in message and "samenspraak check" in message
    assert len(factory.calls) == 5  # every fallback format was tried
    out.close()


def test_a_device_that_hangs_while_opening_counts_as_no_device():
    released = threading.Event()

    def hanging(device, rate, channels, pull):  # PortAudio stuck inside the driver
        released.wait(10)
        raise RuntimeError("never opened")

    out = AudioOutput(stream_factory=hanging, answer_seconds=0.2)
    started = time.monotonic()
    with pytest.raises(NoOutputDevice, match="did not answer within 0.2 s"):
        out.play(pcm(1600))
    assert time.monotonic() - started < 2.0
    again = time.monotonic()  # the worker is still stuck: the next prompt does not wait again
    with pytest.raises(NoOutputDevice, match="did not answer within 0.2 s"):
        out.play(pcm(1600))
    assert time.monotonic() - again < 0.1
    released.set()
    out.close()


def test_numeric_device_name_becomes_an_index():
    out, factory = make("3")
    out.open()
    assert factory.calls[0][0] == 3
    out.close()


def test_unsupported_rate_falls_back_and_resamples():
    out, factory = make(refuse=lambda rate, channels: rate == SAMPLE_RATE)
    out.play(pcm(SAMPLE_RATE // 10), SAMPLE_RATE)  # 0.1 s
    assert out.stream_format == (48000, 1)
    assert abs(len(sound(factory.streams[0].played)) // 2 - 4800) <= 2
    out.close()


def test_stereo_only_device_gets_both_channels():
    out, factory = make(refuse=lambda rate, channels: channels == 1)
    out.play(pcm(2205), SAMPLE_RATE)
    assert out.stream_format == (48000, 2)
    assert abs(len(sound(factory.streams[0].played)) // 4 - 4800) <= 2
    out.close()


def test_device_lost_mid_play_raises_once_then_fails_fast():
    out, factory = make(frames=100, period=0.005)  # about 0.1 s per 4,000 frames
    thread, errors = play_in_thread(out, pcm(SAMPLE_RATE))
    time.sleep(0.05)
    factory.streams[0].fail()
    thread.join(5)
    assert len(errors) == 1 and isinstance(errors[0], OutputDeviceLost)
    assert "stopped" in str(errors[0]) and "loudspeaker" in str(errors[0])
    assert out.lost and not out.busy.is_set()
    assert factory.streams[0].closed
    with pytest.raises(OutputDeviceLost):
        out.play(pcm(500), SAMPLE_RATE)
    assert len(factory.calls) == 1  # no new attempt on a lost device
    out.reset()
    out.play(pcm(100), SAMPLE_RATE)
    assert len(factory.calls) == 2 and not out.lost
    out.close()


def test_a_device_that_stops_asking_for_audio_counts_as_lost():
    out, factory = make(stall_seconds=0.2, frames=100, period=0.005)
    out.open()
    factory.streams[0].hang()
    started = time.monotonic()
    with pytest.raises(OutputDeviceLost, match="no audio"):
        out.play(pcm(500), SAMPLE_RATE)
    assert time.monotonic() - started < 2
    out.close()


def test_every_waiting_play_hears_of_the_lost_device():
    out, factory = make(frames=100, period=0.005)
    first, first_errors = play_in_thread(out, pcm(SAMPLE_RATE))
    time.sleep(0.02)
    second, second_errors = play_in_thread(out, pcm(SAMPLE_RATE))
    time.sleep(0.02)
    factory.streams[0].fail()
    first.join(5)
    second.join(5)
    assert [type(e) for e in first_errors + second_errors] == [OutputDeviceLost] * 2
    out.close()


def test_interrupt_cuts_at_once_and_later_plays_are_whole():
    out, factory = make(frames=220, period=0.01)  # real time at 22,050 Hz
    long = pcm(SAMPLE_RATE * 5)
    thread, errors = play_in_thread(out, long)
    time.sleep(0.1)
    cut_at = time.monotonic()
    out.interrupt()
    thread.join(5)
    assert time.monotonic() - cut_at < 0.1 and not errors
    assert not out.is_playing()
    time.sleep(0.05)
    stream = factory.streams[0]
    assert len(sound(stream.played)) < len(long) / 10
    before = len(sound(stream.played))
    out.play(pcm(500), SAMPLE_RATE)  # a new play starts uninterrupted
    assert sound(stream.played)[before:] == pcm(500)
    out.close()


def test_interrupt_cuts_the_play_in_progress_even_when_a_new_one_follows_at_once():
    """Ctrl-C while a long prompt plays: the closing words must not wait for its end."""
    out, factory = make(frames=220, period=0.01)
    first, _ = play_in_thread(out, pcm(SAMPLE_RATE * 5))
    time.sleep(0.05)
    out.interrupt()
    closing = pcm(300)
    started = time.monotonic()
    out.play(closing, SAMPLE_RATE)  # queued right behind the first, as the closing words are
    assert time.monotonic() - started < 0.5
    first.join(5)
    assert sound(factory.streams[0].played).endswith(closing)
    out.close()


def test_interrupt_also_cuts_a_prompt_whose_caller_left_play_early():
    """A play() that ends in an exception (Ctrl-C on its thread) leaves its frames queued;
    no caller waits for them any more, yet interrupt() must still silence them."""
    factory = FakeFactory(frames=220, period=0.01)
    raise_once = threading.Event()  # set: the next clock reading on a caller's thread raises

    def clock() -> float:
        if raise_once.is_set() and not threading.current_thread().daemon:
            raise_once.clear()
            raise KeyboardInterrupt
        return time.monotonic()

    out = AudioOutput(stream_factory=factory, clock=clock)
    factory.output = out
    out.open()
    raise_once.set()
    caller, errors = play_in_thread(out, pcm(SAMPLE_RATE * 5))
    caller.join(5)
    assert [type(e) for e in errors] == [KeyboardInterrupt]
    stream = factory.streams[0]

    def heard() -> int:
        return len(sound(stream.played))

    def grows(within: float) -> bool:
        before, deadline = heard(), time.monotonic() + within
        while time.monotonic() < deadline:
            if heard() > before:
                return True
            time.sleep(0.005)
        return False

    assert grows(within=2.0)  # the callback plays the abandoned prompt on (5 s of it)
    out.interrupt()
    deadline = time.monotonic() + 2.0
    while grows(within=0.05) and time.monotonic() < deadline:
        pass  # a buffer already handed to the device may still finish
    assert not grows(within=0.2)  # and then nothing more of it
    out.close()


def test_close_cuts_a_waiting_play_and_is_idempotent_and_final():
    out, _ = make(frames=220, period=0.01)
    thread, errors = play_in_thread(out, pcm(SAMPLE_RATE * 5))
    time.sleep(0.05)
    out.close()
    thread.join(5)
    assert not thread.is_alive() and not errors
    out.close()
    with pytest.raises(AudioOutputError):
        out.play(pcm(10), SAMPLE_RATE)


def test_the_stream_is_opened_and_closed_on_one_named_worker_thread():
    out, factory = make()
    out.play(pcm(250), SAMPLE_RATE)
    assert factory.streams[0].opened_on == "samenspraak-audio-out"
    out.close()
    assert factory.streams[0].closed


def test_convert_pcm_identity_and_rate_change():
    data = pcm(2205)
    assert convert_pcm(data, SAMPLE_RATE, SAMPLE_RATE, 1) is data
    assert abs(len(convert_pcm(data, SAMPLE_RATE, 44100, 1)) // 2 - 4410) <= 2


def test_convert_pcm_matches_what_pydub_did():
    """The helpers replaced pydub's set_frame_rate/set_channels; the samples must not change."""
    from assistant.audio import import_pydub

    segment_module = import_pydub()[0]
    data = pcm(2205)
    seg = segment_module.AudioSegment(data=data, sample_width=2, frame_rate=SAMPLE_RATE,
                                      channels=1)
    expected = seg.set_frame_rate(48000).set_channels(2).raw_data
    assert convert_pcm(data, SAMPLE_RATE, 48000, 2) == expected


def test_a_missing_portaudio_means_no_output_device(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import fails as if not installed
    out = AudioOutput()
    with pytest.raises(NoOutputDevice, match="libportaudio2"):
        out.open()
    out.close()


def test_importing_the_speech_modules_needs_no_sound_card_or_engine():
    code = ("import sys, assistant.playback, assistant.tts, assistant.chimes; "
            "assert 'sounddevice' not in sys.modules; assert 'pyttsx3' not in sys.modules; "
            "assert 'pydub' not in sys.modules")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=env)


def test_alsa_messages_are_counted_instead_of_printed():
    """ALSA prints from C to fd 2 (underruns, unknown devices); the handler keeps them away."""
    code = ("import ctypes, ctypes.util\n"
            "from assistant.playback import alsa_messages, quiet_alsa\n"
            "name = ctypes.util.find_library('asound')\n"
            "print(quiet_alsa() == (name is not None))\n"
            "if name:\n"
            "    lib = ctypes.CDLL(name)\n"
            "    handle = ctypes.c_void_p()\n"
            "    lib.snd_pcm_open(ctypes.byref(handle), b'no_such_pcm_samenspraak', 0, 0)\n"
            "print(alsa_messages() > 0 or name is None)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=True)
    assert done.stdout.split() == ["True", "True"]
    assert "ALSA lib" not in done.stderr
    if ctypes.util.find_library("asound"):  # without the handler, ALSA would have printed
        plain = subprocess.run(
            [sys.executable, "-c", "import ctypes, ctypes.util\n"
             "lib = ctypes.CDLL(ctypes.util.find_library('asound'))\n"
             "h = ctypes.c_void_p()\n"
             "lib.snd_pcm_open(ctypes.byref(h), b'no_such_pcm_samenspraak', 0, 0)\n"],
            capture_output=True, text=True, check=True)
        assert "ALSA lib" in plain.stderr


# --- on the PulseAudio rig ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rig() -> None:
    from test_audio_rig import require_pulse

    require_pulse()


@pytest.mark.audio
def test_on_the_rig_a_prompt_starts_at_once_after_silence_and_play_returns_once_heard(rig):
    from assistant.rig.pulse import SinkRecorder, point_at_rig
    from assistant.rig.signals import RATE, tone

    point_at_rig()
    recorder = SinkRecorder().start()
    out = AudioOutput()
    out.open()
    played = []
    for frequency in (660, 880):
        time.sleep(1.0)  # the stream runs on, playing silence
        asked = time.monotonic()
        out.play(tone(frequency, 0.5), RATE)
        played.append((asked, out.last_play_started, time.monotonic()))
    time.sleep(0.3)  # let the monitor catch the tail
    out.close()
    recording = recorder.stop()

    stretches = recording.stretches()
    assert len(stretches) == 2, stretches
    for (asked, first_sample, returned), (start, end) in zip(played, stretches, strict=True):
        assert first_sample - asked < 0.15  # no device waking up: the next callback takes it
        assert returned - asked == pytest.approx(0.5 + (first_sample - asked), abs=0.1)
        assert end - start == pytest.approx(0.5, abs=0.06)
        # the loudspeaker played it to its end before play() returned (the recorder's clock
        # is good to a few 10 ms)
        assert recording.started_at + end <= returned + 0.1


def test_open_soon_starts_the_stream_in_the_background_and_a_failure_shows_at_play():
    out, factory = make()
    out.open_soon()
    deadline = time.monotonic() + 5
    while not factory.streams and time.monotonic() < deadline:
        time.sleep(0.01)
    assert factory.streams and factory.streams[0].opened_on == "samenspraak-audio-out"
    out.close()
    out.open_soon()  # closed: nothing happens
    broken, _ = make(refuse=lambda rate, channels: True)
    broken.open_soon()
    with pytest.raises(NoOutputDevice):
        broken.play(pcm(100), SAMPLE_RATE)
    broken.close()


def test_the_benchmarks_paced_stream_plays_in_real_time_and_measures_its_own_pace():
    """Without the rig the benchmark plays on a fake card at a card's pace, and says so."""
    sys.path.insert(0, str(ROOT))
    from scripts.bench.output import PacedCallbackStream, rig_pace

    out = AudioOutput(stream_factory=PacedCallbackStream)
    out.open()
    started = time.monotonic()
    out.play(pcm(SAMPLE_RATE // 5), SAMPLE_RATE)  # 0.2 s
    took = time.monotonic() - started
    out.close()
    assert 0.2 <= took < 0.45
    pace = rig_pace(False, seconds=0.3)
    assert pace["cold_s"] == pytest.approx(1.0, abs=0.35)
    assert pace["warm_s"] == pytest.approx(1.0, abs=0.2)
    assert pace["longest_gap_ms"] < 100 and "fake" in pace["stream"]
