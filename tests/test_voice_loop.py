"""The microphone loop: feeds the listener, stays deaf while the assistant speaks, survives a
microphone that disappears and comes back."""

from __future__ import annotations

import threading

from assistant.engine.messages import SpeechEnded, SpeechStarted
from assistant.listen import Listener
from assistant.mic import InputDeviceLost, NoInputDevice
from assistant.ports import AudioChunk
from assistant.vad import VadSettings, VoiceActivity
from assistant.voice import MicLoop

LOUD = b"\x10\x27" * 320
QUIET = b"\x00\x00" * 320


class FakeMic:
    """Plays a script of chunks; raises InputDeviceLost when the script says so."""

    def __init__(self, script: list) -> None:
        self.script = script
        self.closed = False
        self.finished = threading.Event()

    def read(self, timeout: float | None = None) -> AudioChunk | None:
        if not self.script:
            self.finished.set()
            return None
        item = self.script.pop(0)
        if item is InputDeviceLost:
            raise InputDeviceLost("gone")
        pcm, t = item
        return AudioChunk(pcm, 16000, t)

    def close(self) -> None:
        self.closed = True


def run_loop(mics: list, admits=lambda t: True) -> tuple[list, int]:
    out: list = []
    lost: list[int] = []
    opened = iter(mics)

    def open_mic() -> FakeMic:
        mic = next(opened)
        if isinstance(mic, Exception):
            raise mic
        return mic

    listener = Listener(VoiceActivity(VadSettings(), is_speech=lambda f: f == LOUD), None,
                        out.append)
    loop = MicLoop(open_mic, listener, admits, on_lost=lambda: lost.append(1),
                   retry_seconds=0.001)
    loop.start()
    assert mics[-1].finished.wait(5)
    loop.stop()
    return out, len(lost)


def speech(t0: float) -> list:
    return [(LOUD, t0 + i * 0.02) for i in range(30)] + [(QUIET, t0 + 1 + i * 0.02)
                                                        for i in range(60)]


def test_speech_from_the_microphone_reaches_the_session() -> None:
    out, lost = run_loop([FakeMic(speech(0.0))])
    assert [type(e) for e in out] == [SpeechStarted, SpeechEnded]
    assert lost == 0


def test_what_is_captured_while_the_assistant_speaks_is_dropped() -> None:
    out, _ = run_loop([FakeMic(speech(0.0))], admits=lambda t: t > 5)
    assert out == []


def test_a_lost_microphone_is_said_once_and_found_again() -> None:
    first = FakeMic(speech(0.0)[:20] + [InputDeviceLost])
    second = FakeMic(speech(10.0))
    out, lost = run_loop([first, NoInputDevice("away"), NoInputDevice("away"), second])
    assert lost == 1
    # the cut-off utterance is closed, and speech after reconnecting is heard again
    assert [type(e) for e in out] == [SpeechStarted, SpeechEnded, SpeechStarted, SpeechEnded]


def test_raised_voices_on_the_microphone_are_reported_once() -> None:
    from test_loudness import room_and_talk, speech_like

    from assistant.audio import audioop, chunks
    from assistant.loudness import RaisedVoiceDetector

    calm = room_and_talk(0.5)
    loud = audioop().mul(speech_like(8, 0.05, 7), 2, 10 ** (10 / 20))
    script = [(pcm, i * 0.02) for i, pcm in enumerate(chunks(calm + loud))]
    mic = FakeMic(script)
    raised: list[int] = []
    listener = Listener(VoiceActivity(VadSettings(), is_speech=lambda f: False), None,
                        lambda item: None)
    detector = RaisedVoiceDetector()
    loop = MicLoop(lambda: mic, listener, lambda t: True, on_lost=lambda: None,
                   taps=[lambda pcm, at: raised.append(1) if detector.feed(pcm, at) else None])
    loop.start()
    assert mic.finished.wait(10)
    loop.stop()
    assert raised == [1]


def test_a_failing_tap_is_dropped_and_the_microphone_goes_on(caplog) -> None:
    from test_loudness import room_and_talk

    from assistant.audio import chunks

    script = [(pcm, i * 0.02) for i, pcm in enumerate(chunks(room_and_talk(0.5)))]
    total = len(script)
    mic = FakeMic(script)
    fed: list[float] = []
    listener = Listener(VoiceActivity(VadSettings(), is_speech=lambda f: False), None,
                        lambda item: None)
    listener.feed = lambda pcm, at=None: fed.append(at)  # type: ignore[method-assign]
    calls: list[float] = []

    def broken(pcm: bytes, at: float) -> None:
        calls.append(at)
        raise RuntimeError("the recorder's disk is gone")

    loop = MicLoop(lambda: mic, listener, lambda t: True, on_lost=lambda: None, taps=[broken])
    loop.start()
    assert mic.finished.wait(10)
    loop.stop()
    assert len(calls) == 1  # dropped after its first failure
    assert len(fed) == total  # every chunk still reached the listener
    assert any("it hears no more" in r.getMessage() for r in caplog.records)
