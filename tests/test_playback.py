"""AudioOutput with a fake stream factory: no sound card, no real time."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
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


class FakeClock:
    """Monotonic seconds that advance by one on every reading."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        self.t += 1.0
        return self.t


class FakeStream:
    def __init__(self, owner: FakeFactory, rate: int, channels: int) -> None:
        self.owner = owner
        self.rate = rate
        self.channels = channels
        self.events: list[str] = []
        self.written = bytearray()
        self.busy_seen: list[bool] = []
        self.closed = False

    def start(self) -> None:
        self.events.append("start")

    def write(self, data: bytes) -> None:
        self.owner.writes += 1
        if self.owner.fail_on_write == self.owner.writes:
            raise DeviceError("device unplugged")
        if self.owner.on_write is not None:
            self.owner.on_write()
        self.events.append("write")
        self.busy_seen.append(self.owner.output.busy.is_set())
        self.written += data

    def stop(self) -> None:
        self.events.append("stop")

    def close(self) -> None:
        self.closed = True


class FakeFactory:
    def __init__(self, refuse=lambda rate, channels: False) -> None:
        self.refuse = refuse
        self.calls: list[tuple] = []
        self.streams: list[FakeStream] = []
        self.writes = 0
        self.fail_on_write: int | None = None
        self.on_write = None
        self.output: AudioOutput | None = None

    def __call__(self, device, rate: int, channels: int) -> FakeStream:
        self.calls.append((device, rate, channels))
        if self.refuse(rate, channels):
            raise DeviceError(f"Invalid sample rate {rate}/{channels}")
        stream = FakeStream(self, rate, channels)
        self.streams.append(stream)
        return stream


def make(device=None, **factory_args) -> tuple[AudioOutput, FakeFactory, FakeClock]:
    factory = FakeFactory(**factory_args)
    clock = FakeClock()
    out = AudioOutput(device, stream_factory=factory, block_frames=100, clock=clock)
    factory.output = out
    return out, factory, clock


def pcm(frames: int) -> bytes:
    return array("h", (i % 1000 for i in range(frames))).tobytes()


def test_play_writes_everything_then_stops_before_returning():
    out, factory, _ = make()
    data = pcm(1050)
    out.play(data, SAMPLE_RATE)
    stream = factory.streams[0]
    assert bytes(stream.written) == data
    assert stream.events[0] == "start" and stream.events[-1] == "stop"
    assert stream.events.count("write") == 11  # blocks of 100 frames
    out.close()


def test_stream_is_opened_once_and_kept_warm():
    out, factory, _ = make()
    for _ in range(3):
        out.play(pcm(300), SAMPLE_RATE)
    assert factory.calls == [(None, SAMPLE_RATE, 1)]
    assert factory.streams[0].events.count("start") == 3
    assert not factory.streams[0].closed
    out.close()
    assert factory.streams[0].closed


def test_busy_while_playing_and_timestamps_from_the_clock():
    out, factory, _ = make()
    assert not out.busy.is_set()
    out.play(pcm(250), SAMPLE_RATE)
    assert factory.streams[0].busy_seen == [True, True, True]
    assert not out.busy.is_set() and not out.is_playing()
    # clock readings: first write → 101, end → 102
    assert out.last_play_started == 101.0
    assert out.ended_at == 102.0
    out.close()


def test_empty_pcm_plays_nothing():
    out, factory, _ = make()
    out.play(b"", SAMPLE_RATE)
    assert factory.calls == []
    out.close()


def test_open_eagerly_reports_no_device_with_advice():
    out, factory, _ = make("USB Headset", refuse=lambda rate, channels: True)
    with pytest.raises(NoOutputDevice) as info:
        out.open()
    message = str(info.value)
    assert "USB Headset" in message and "samenspraak check" in message
    assert len(factory.calls) == 5  # every fallback format was tried
    out.close()


def test_numeric_device_name_becomes_an_index():
    out, factory, _ = make("3")
    out.open()
    assert factory.calls[0][0] == 3
    out.close()


def test_unsupported_rate_falls_back_and_resamples():
    out, factory, _ = make(refuse=lambda rate, channels: rate == SAMPLE_RATE)
    out.play(pcm(SAMPLE_RATE // 10), SAMPLE_RATE)  # 0.1 s
    assert out.stream_format == (48000, 1)
    written = len(factory.streams[0].written) // 2
    assert abs(written - 4800) <= 2
    out.close()


def test_stereo_only_device_gets_both_channels():
    out, factory, _ = make(refuse=lambda rate, channels: channels == 1)
    out.play(pcm(2205), SAMPLE_RATE)
    assert out.stream_format == (48000, 2)
    frames = len(factory.streams[0].written) // 4
    assert abs(frames - 4800) <= 2
    out.close()


def test_device_lost_mid_play_raises_once_then_fails_fast():
    out, factory, _ = make()
    factory.fail_on_write = 2
    with pytest.raises(OutputDeviceLost) as info:
        out.play(pcm(500), SAMPLE_RATE)
    assert "unplugged" in str(info.value)
    assert out.lost and not out.busy.is_set()
    assert factory.streams[0].closed
    with pytest.raises(OutputDeviceLost):
        out.play(pcm(500), SAMPLE_RATE)
    assert len(factory.calls) == 1  # no new attempt on a lost device
    out.reset()
    out.play(pcm(100), SAMPLE_RATE)
    assert len(factory.calls) == 2 and not out.lost
    out.close()


def test_interrupt_cuts_playback_short():
    out, factory, _ = make()
    factory.on_write = out.interrupt
    out.play(pcm(1000), SAMPLE_RATE)
    stream = factory.streams[0]
    assert stream.events == ["start", "write", "stop"]
    factory.on_write = None
    out.play(pcm(200), SAMPLE_RATE)  # a new play starts uninterrupted
    assert stream.events[3:] == ["start", "write", "write", "stop"]
    out.close()


def test_close_is_idempotent_and_final():
    out, _, _ = make()
    out.play(pcm(10), SAMPLE_RATE)
    out.close()
    out.close()
    with pytest.raises(AudioOutputError):
        out.play(pcm(10), SAMPLE_RATE)


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


def test_the_stream_lives_on_one_named_worker_thread():
    seen: list[str] = []
    out, factory, _ = make()
    factory.on_write = lambda: seen.append(threading.current_thread().name)
    out.play(pcm(250), SAMPLE_RATE)
    out.play(pcm(250), SAMPLE_RATE)
    assert set(seen) == {"samenspraak-audio-out"}
    out.close()
    assert factory.streams[0].closed  # released on the worker when it stopped


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
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root, env=env)


def test_interrupt_cuts_the_play_in_progress_even_when_a_new_one_follows_at_once():
    """Ctrl-C while a long prompt plays: the closing words must not wait for its end."""
    out, factory, _ = make()
    release = threading.Event()
    started = threading.Event()

    def hold_first_write() -> None:
        if factory.writes == 1:
            started.set()
            release.wait(5)

    factory.on_write = hold_first_write
    first = threading.Thread(target=out.play, args=(pcm(1000), SAMPLE_RATE))
    first.start()
    assert started.wait(5)
    out.interrupt()
    second = threading.Thread(target=out.play, args=(pcm(300), SAMPLE_RATE))
    second.start()  # queued behind the first, as the closing words are
    release.set()
    first.join(5)
    second.join(5)
    writes = factory.streams[0].events
    assert writes == ["start", "write", "stop", "start", "write", "write", "write", "stop"]
    out.close()
