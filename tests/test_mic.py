"""The microphone on a fake PortAudio, the speaking gate, and the PCM source."""

from __future__ import annotations

import importlib.abc
import sys
from array import array
from types import SimpleNamespace

import pytest

from assistant.devices import AudioUnavailable, Device, list_devices
from assistant.mic import (
    AudioChunk,
    InputDeviceLost,
    Microphone,
    MicSettings,
    NoInputDevice,
    PcmSource,
    SpeakingGate,
    load_sounddevice,
)
from assistant.rig.signals import tone, tone_frequency


class FakePortAudioError(Exception):
    """Stands in for sounddevice.PortAudioError."""


class FakeStream:
    """A RawInputStream whose audio the test hands in."""

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.running = False
        self.closed = False
        self.finished = False

    def start(self):
        if self.kwargs.get("start_error"):
            raise FakePortAudioError(self.kwargs["start_error"])
        self.running = True

    def abort(self):
        if self.running:
            self.running = False
            self._finish()

    def close(self, ignore_errors=True):
        self.closed = True

    def deliver(self, pcm: bytes, status=None) -> None:
        """What PortAudio's thread does when a block has been recorded."""
        frames = len(pcm) // 2 // self.kwargs["channels"]
        self.kwargs["callback"](pcm, frames, None, status)

    def die(self) -> None:
        """The device vanished: PortAudio stops the stream on its own."""
        self.running = False
        self._finish()

    def _finish(self):
        if not self.finished:
            self.finished = True
            self.kwargs["finished_callback"]()


class FakeSoundDevice:
    """Just enough of the sounddevice module for the Microphone."""

    PortAudioError = FakePortAudioError

    def __init__(self, devices=None, default_input=0, supported=((16000, 1),), open_error=None,
                 start_error=None):
        self.devices = devices if devices is not None else [
            {"name": "Kitchen mic", "max_input_channels": 1, "default_samplerate": 48000.0},
            {"name": "Speakers", "max_input_channels": 0, "default_samplerate": 48000.0},
        ]
        self.default = SimpleNamespace(device=[default_input, 1])
        self.supported = set(supported)
        self.open_error = open_error
        self.start_error = start_error
        self.streams: list[FakeStream] = []

    def query_devices(self, device=None, kind=None):
        listed = [dict(d, index=i) for i, d in enumerate(self.devices)]
        if kind is None:
            return listed
        if device is None:
            device = self.default.device[0]
            if device < 0:
                raise FakePortAudioError("Error querying device -1")
        if isinstance(device, str):
            hits = [d for d in listed if device.lower() in d["name"].lower()
                    and d["max_input_channels"] > 0]
            if len(hits) != 1:
                raise ValueError(f"No input device matching {device!r}")
            return hits[0]
        return listed[device]

    def check_input_settings(self, device, samplerate, channels, dtype):
        assert dtype == "int16"
        if (samplerate, channels) not in self.supported:
            raise FakePortAudioError("Invalid sample rate")

    def RawInputStream(self, **kwargs):  # noqa: N802 - the name sounddevice gives it
        if self.open_error:
            raise FakePortAudioError(self.open_error)
        stream = FakeStream(**kwargs, start_error=self.start_error)
        self.streams.append(stream)
        return stream


class Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def block(value: int, samples: int = 320) -> bytes:
    return array("h", [value] * samples).tobytes()


def open_mic(sd=None, **settings) -> tuple[Microphone, FakeStream, Clock]:
    clock = Clock()
    mic = Microphone(MicSettings(**settings), backend=sd or FakeSoundDevice(), clock=clock)
    mic.open()
    return mic, mic._stream, clock


# --- opening --------------------------------------------------------------------------------------


def test_opens_the_default_device_at_16khz_mono_in_20ms_blocks():
    mic, stream, _ = open_mic()
    assert stream.kwargs["samplerate"] == 16000
    assert stream.kwargs["channels"] == 1
    assert stream.kwargs["dtype"] == "int16"
    assert stream.kwargs["blocksize"] == 320
    assert stream.running
    assert mic.device_name == "Kitchen mic"
    assert mic.device_rate == 16000


def test_chunks_carry_the_time_the_callback_saw_them():
    mic, stream, clock = open_mic()
    stream.deliver(block(5))
    clock.now += 0.02
    stream.deliver(block(6))
    clock.now += 1.0  # read later: the capture times stay
    first, second = mic.read(timeout=0), mic.read(timeout=0)
    assert first == AudioChunk(block(5), 16000, 100.0)
    assert second == AudioChunk(block(6), 16000, pytest.approx(100.02))
    assert mic.read(timeout=0) is None


def test_blocks_of_another_size_come_out_as_20ms_chunks():
    mic, stream, _ = open_mic()
    stream.deliver(block(1, 500))
    stream.deliver(block(2, 460))
    chunks = [mic.read(timeout=0) for _ in range(3)]
    assert [len(c.pcm) for c in chunks] == [640, 640, 640]
    assert mic.read(timeout=0) is None


def test_a_device_that_refuses_16khz_is_recorded_at_its_own_rate_and_converted():
    sd = FakeSoundDevice(supported={(48000, 1)})
    mic, stream, _ = open_mic(sd)
    assert stream.kwargs["samplerate"] == 48000
    assert stream.kwargs["blocksize"] == 960
    assert mic.device_rate == 48000
    pcm = tone(440, 0.5, rate=48000)
    for i in range(0, len(pcm), 1920):
        stream.deliver(pcm[i:i + 1920])
    chunks = []
    while (chunk := mic.read(timeout=0)) is not None:
        chunks.append(chunk)
    assert {len(c.pcm) for c in chunks} == {640}
    assert {c.rate for c in chunks} == {16000}
    assert len(chunks) in (24, 25)
    assert tone_frequency(b"".join(c.pcm for c in chunks)) == pytest.approx(440, abs=3)


def test_a_stereo_only_device_is_mixed_to_mono():
    sd = FakeSoundDevice(devices=[{"name": "USB", "max_input_channels": 2,
                                   "default_samplerate": 16000.0}], supported={(16000, 2)})
    mic, stream, _ = open_mic(sd)
    assert stream.kwargs["channels"] == 2
    stereo = array("h", [1000, 3000] * 320).tobytes()
    stream.deliver(stereo)
    assert mic.read(timeout=0).pcm == block(2000)


def test_no_microphone_at_all_says_what_to_do():
    sd = FakeSoundDevice(devices=[], default_input=-1)
    with pytest.raises(NoInputDevice, match="connect a microphone"):
        Microphone(backend=sd).open()


def test_a_named_device_that_is_not_there_is_named_in_the_message():
    with pytest.raises(NoInputDevice, match="'Studio'"):
        Microphone(MicSettings(device="Studio"), backend=FakeSoundDevice()).open()


def test_a_device_is_chosen_by_part_of_its_name():
    mic, stream, _ = open_mic(device="kitchen")
    assert stream.kwargs["device"] == 0


def test_a_device_that_cannot_be_opened_says_so():
    sd = FakeSoundDevice(open_error="Device unavailable")
    with pytest.raises(NoInputDevice, match="close other programs"):
        Microphone(backend=sd).open()


def test_a_device_that_opens_but_will_not_start_is_released():
    sd = FakeSoundDevice(start_error="Device busy")
    for _ in range(3):  # the microphone loop tries again every few seconds
        with pytest.raises(NoInputDevice, match="close other programs"):
            Microphone(backend=sd).open()
    assert len(sd.streams) == 3 and all(s.closed for s in sd.streams)


def test_a_device_with_no_usable_format_says_so():
    sd = FakeSoundDevice(supported=set())
    with pytest.raises(NoInputDevice, match="accepts neither 16000 Hz nor its own 48000 Hz"):
        Microphone(backend=sd).open()


def test_missing_sounddevice_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import fails: not installed
    with pytest.raises(AudioUnavailable, match="scripts/setup") as info:
        load_sounddevice()
    assert not isinstance(info.value, NoInputDevice)  # `check` reports it, sessions go on


class _PortAudioMissing(importlib.abc.MetaPathFinder):
    """Makes `import sounddevice` fail the way it does without libportaudio2."""

    def find_spec(self, name, path=None, target=None):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return None


def test_missing_portaudio_says_to_install_libportaudio2(monkeypatch):
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_PortAudioMissing(), *sys.meta_path])
    with pytest.raises(AudioUnavailable, match=r"install libportaudio2 \(scripts/setup does\)"):
        load_sounddevice()
    with pytest.raises(AudioUnavailable):
        list_devices()


def test_a_microphone_without_an_audio_system_is_no_input_device(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    with pytest.raises(NoInputDevice, match="sounddevice is not installed"):
        Microphone().open()


def test_list_devices_describes_every_device():
    sd = FakeSoundDevice(devices=[
        {"name": "Speakers", "max_input_channels": 0, "max_output_channels": 2,
         "default_samplerate": 48000.0},
        {"name": "Headset", "max_input_channels": 1, "max_output_channels": 2,
         "default_samplerate": 44100.0},
    ], default_input=1)
    sd.default = SimpleNamespace(device=[1, 0])
    assert list_devices(sd) == [
        Device(0, "Speakers", 0, 2, 48000.0, is_default_input=False, is_default_output=True),
        Device(1, "Headset", 1, 2, 44100.0, is_default_input=True, is_default_output=False),
    ]
    assert [d.kinds for d in list_devices(sd)] == ["out", "in/out"]


def test_list_devices_without_defaults_or_enumeration():
    sd = FakeSoundDevice()
    sd.default = SimpleNamespace(device=None)
    assert not any(d.is_default_input or d.is_default_output for d in list_devices(sd))

    def broken(*args, **kwargs):
        raise FakePortAudioError("Error querying host API")

    sd.query_devices = broken
    with pytest.raises(AudioUnavailable, match="cannot list audio devices"):
        list_devices(sd)


# --- losing the device, closing -------------------------------------------------------------------


def test_a_device_that_disappears_is_reported_once_after_its_last_audio():
    mic, stream, _ = open_mic()
    stream.deliver(block(1))
    stream.die()
    assert mic.read(timeout=0).pcm == block(1)
    with pytest.raises(InputDeviceLost, match="Kitchen mic"):
        mic.read(timeout=0)
    assert mic.read(timeout=0) is None
    assert mic.closed
    assert stream.closed


def test_a_lost_microphone_can_be_opened_again():
    sd = FakeSoundDevice()
    mic, stream, _ = open_mic(sd)
    stream.die()
    with pytest.raises(InputDeviceLost):
        mic.read(timeout=0)
    mic.open()
    sd.streams[-1].deliver(block(9))
    assert mic.read(timeout=0).pcm == block(9)


def test_a_stream_that_goes_silent_counts_as_lost():
    mic, stream, clock = open_mic(stall_seconds=2.0)
    stream.deliver(block(1))
    assert mic.read(timeout=0) is not None
    clock.now += 1.5
    assert mic.read(timeout=0) is None  # a hiccup, not yet lost
    clock.now += 1.0
    with pytest.raises(InputDeviceLost, match="no audio for 2.0 s"):
        mic.read(timeout=0)


def test_closing_is_not_a_loss_and_ends_the_chunks():
    mic, stream, _ = open_mic()
    stream.deliver(block(1))
    mic.close()
    assert stream.finished and stream.closed
    assert mic.read(timeout=0) is None
    assert list(mic.chunks()) == []


def test_a_reader_that_falls_far_behind_loses_the_oldest_blocks_without_blocking_the_callback():
    mic, stream, _ = open_mic(queue_seconds=0.1)
    for value in range(8):
        stream.deliver(block(value))
    assert mic.dropped_blocks == 3
    assert [mic.read(timeout=0).pcm for _ in range(5)] == [block(v) for v in range(3, 8)]
    assert mic.read(timeout=0) is None


def test_chunks_iterates_until_the_device_is_lost():
    mic, stream, _ = open_mic()
    for value in range(3):
        stream.deliver(block(value))
    stream.die()
    got = []
    with pytest.raises(InputDeviceLost):
        for chunk in mic.chunks():
            got.append(chunk.pcm)
    assert got == [block(v) for v in range(3)]


# --- the speaking gate ----------------------------------------------------------------------------


def test_the_gate_drops_chunks_while_the_assistant_speaks_and_for_a_tail_after():
    clock = Clock()
    speaking = [False]
    gate = SpeakingGate(lambda: speaking[0], tail=0.3, clock=clock)
    assert gate.admits(clock.now)
    speaking[0] = True
    clock.now += 1.0
    assert not gate.admits(clock.now - 0.01)
    clock.now += 0.02
    speaking[0] = False
    assert not gate.admits(clock.now - 0.01)  # captured while still speaking
    assert not gate.admits(clock.now + 0.2)  # within the tail
    assert gate.admits(clock.now + 0.3)


def test_a_caller_that_blocked_while_speaking_tells_the_gate_afterwards():
    clock = Clock()
    gate = SpeakingGate(tail=0.4, clock=clock)
    gate.spoke_until(110.0)
    assert not gate.admits(105.0)  # queued while the prompt played
    assert not gate.admits(110.3)
    assert gate.admits(110.4)
    gate.mute_until(109.0)  # never shortens
    assert gate.muted_until == pytest.approx(110.4)


# --- recorded PCM as a source ---------------------------------------------------------------------


def test_pcm_source_hands_out_20ms_chunks_with_virtual_times_then_closes():
    source = PcmSource(block(1, 800), start=10.0)
    chunks = []
    while not source.closed:
        chunks.append(source.read())
    assert [len(c.pcm) for c in chunks] == [640, 640, 320]
    assert [c.captured_at for c in chunks] == pytest.approx([10.02, 10.04, 10.05])
    assert source.read() is None
