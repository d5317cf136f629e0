"""Audio edge cases through the real listening path (VoiceActivity → Listener → a recognizer)
into a real session on the virtual clock: no crash, no phase that never ends, bounded memory.
"""

from __future__ import annotations

import tracemalloc
import wave
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from simkit import exercise

from assistant.audio import CHUNK_SAMPLES, SAMPLE_WIDTH
from assistant.audiofile import read_wav_pcm16
from assistant.engine.clock import VirtualClock
from assistant.engine.messages import Heard, Listen, PlayChime, PromptPlayed, Say
from assistant.engine.session import Session
from assistant.engine.texts import load_texts
from assistant.engine.timing import Timing
from assistant.listen import Listener, moment_for
from assistant.rig.noise import kitchen_noise
from assistant.rig.signals import noise, silence, tone
from assistant.rig.speech import espeak_pcm
from assistant.vad import VoiceActivity

CHUNK = CHUNK_SAMPLES * SAMPLE_WIDTH
STEPS = ('[[step]]\nkind = "turn"\ntext = "{speaker}, vertel."\nseconds = 120\n'
         '[[step]]\nkind = "mirror"\ntext = "{listener}, wat hoorde je?"\n'
         '[[step]]\nkind = "ask"\nto = "both"\ntext = "Ging het goed?"\n')
LONGEST = 3600.0
"""Virtual seconds within which every session here must have ended."""


class Hears:
    """A recognizer that hears ``text`` in every utterance of at least 0.15 s; keeps no audio."""

    sample_rate, name, free_speech = 16000, "fake", True

    def __init__(self, text: str = "klaar") -> None:
        self.text = text
        self.bytes = 0
        self.utterances = 0

    def start(self, phrases) -> None:
        self.bytes = 0

    def accept(self, pcm: bytes) -> None:
        self.bytes += len(pcm)

    def partial(self) -> str:
        return ""

    def finish(self) -> str:
        self.utterances += 1
        return self.text if self.bytes >= 0.15 * 32000 else ""


def drive(audio: Iterable[bytes], recognizer: Hears | None = None) -> tuple[Session, list]:
    """Feed ``audio`` (any pieces of 16 kHz mono PCM) to a session as a microphone would, then
    silence until the session ends; what reached it from the listener."""
    clock = VirtualClock()
    texts = load_texts("nl")
    session = Session(exercise(STEPS), ("Anna", "Ben"), texts, clock, Timing())
    heard: list = []
    listener = Listener(VoiceActivity(), recognizer, heard.append, clock=clock.now)

    def perform(effects: list) -> None:
        for effect in effects:
            if isinstance(effect, Say | PlayChime):
                perform(session.handle(PromptPlayed(effect.prompt)))
            elif isinstance(effect, Listen):
                listener.set_moment(moment_for(effect))

    def feed(chunk: bytes) -> None:
        clock.advance(len(chunk) / 32000)
        before = len(heard)
        listener.feed(chunk, clock.now())
        for item in heard[before:]:
            perform(session.handle(item))
        perform(session.tick())

    perform(session.start())
    for chunk in chunks_of(audio):
        if session.done:
            break
        feed(chunk)
    quiet = bytes(CHUNK)
    while not session.done:
        assert clock.now() < LONGEST, f"stuck in {session.phase} at {clock.now():.0f} s"
        feed(quiet)
    return session, heard


def chunks_of(pieces: Iterable[bytes]) -> Iterator[bytes]:
    buffer = b""
    for piece in pieces:
        buffer += piece
        while len(buffer) >= CHUNK:
            yield buffer[:CHUNK]
            buffer = buffer[CHUNK:]


def speech() -> bytes:
    return espeak_pcm("ik vertel je iets over mijn dag op het werk", voice="nl")


def clipped(pcm: bytes, gain: float = 20.0) -> bytes:
    samples = array("h", pcm)
    return array("h", (max(-32768, min(32767, int(s * gain))) for s in samples)).tobytes()


def offset(pcm: bytes, dc: int = 12000) -> bytes:
    samples = array("h", pcm)
    return array("h", (max(-32768, min(32767, s + dc)) for s in samples)).tobytes()


CASES = {
    "silence": lambda: [silence(60)],
    "noise only": lambda: [kitchen_noise(60)],
    "white noise": lambda: [noise(30, 0.3)],
    "clipping": lambda: [clipped(speech()) + silence(1)] * 3,
    "clipped tone": lambda: [tone(220, 5, amplitude=1.0) + silence(1)],
    "DC offset": lambda: [offset(speech()) + silence(1)] * 3,
    "DC only": lambda: [offset(silence(20))],
}


@pytest.mark.parametrize("case", list(CASES))
def test_edge_audio_never_crashes_or_sticks(case: str) -> None:
    session, _ = drive(CASES[case](), Hears())
    assert session.done and session.end_reason == "finished"


def write_wav(path: Path, pcm16k: bytes, rate: int, channels: int) -> None:
    from assistant.audio import resample

    data, _ = resample(pcm16k, 16000, rate, None)
    if channels == 2:
        samples = array("h", data)
        data = array("h", (s for s in samples for _ in range(2))).tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data)


@pytest.mark.parametrize(("rate", "channels"), [(8000, 1), (44100, 1), (48000, 1), (48000, 2),
                                                (44100, 2), (16000, 2)])
def test_any_rate_and_channel_count_reaches_the_session(tmp_path, rate, channels) -> None:
    path = tmp_path / f"{rate}-{channels}.wav"
    write_wav(path, silence(0.5) + speech() + silence(1.5), rate, channels)
    pcm = read_wav_pcm16(path, 16000)
    assert abs(len(pcm) / 32000 - (len(speech()) / 32000 + 2.0)) < 0.05
    recognizer = Hears()
    session, heard = drive([pcm], recognizer)
    assert Heard("klaar") in heard  # the utterance was found after conversion
    assert session.done


def test_the_same_command_fifty_times_in_a_row() -> None:
    word = espeak_pcm("herhaal", voice="nl") + silence(1.2)
    recognizer = Hears("herhaal")
    session, heard = drive([silence(1)] + [word] * 50, recognizer)
    assert heard.count(Heard("herhaal")) == 50
    assert session.done and session.end_reason == "finished"


def test_a_five_minute_monologue_in_bounded_memory() -> None:
    piece = speech() + silence(0.3)
    repeats = round(300 / (len(piece) / 32000))
    recognizer = Hears("")  # a story: nothing to act on

    def monologue() -> Iterator[bytes]:  # made as it is fed: only the listening is measured
        for _ in range(repeats):
            yield piece

    tracemalloc.start()
    try:
        session, heard = drive(monologue(), recognizer)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert session.done
    assert peak < 4 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB while listening to 5 minutes"
    assert sum(session.summary().speaking_seconds.values()) > 60
