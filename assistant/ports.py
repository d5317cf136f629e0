"""The seams of Samenspraak: every piece of hardware or engine behind one narrow protocol.

A real implementation and a fake sit side by side (the fakes live in :mod:`assistant.rig.fakes`,
shared by the tests and the benchmark); drivers receive them through constructors. Nothing
here touches a device at import time.

- :class:`Speaker` — says a prompt, blocking: ``tts.VoiceSpeaker``, ``live.TextSpeaker``;
- :class:`Renderer` — text to a WAV file: ``tts.Pyttsx3Renderer``, ``tts.EspeakRenderer``;
- :class:`AudioOutput` — plays PCM, blocking: ``playback.AudioOutput``;
- :class:`AudioSource` — hands out 20 ms chunks: ``mic.Microphone``, ``mic.PcmSource``;
- :class:`Recognizer` — one utterance to text (and the text so far): ``asr.VoskRecognizer``,
  ``asr.PocketsphinxRecognizer``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from assistant.engine.messages import Chime


class Speaker(Protocol):
    """Says prompts and plays chimes, one at a time; :class:`assistant.live.PromptPlayer`
    calls it on a thread of its own, so it may block for as long as it speaks."""

    def say(self, text: str, keep: bool = True) -> None:
        """Speak ``text``; return once it has been heard (or shown). ``keep`` False: the
        couple's own words, which no cache may keep."""

    def chime(self, chime: Chime) -> None:
        """Play a short tone; return once it has been heard."""

    def play_file(self, path: str, text: str) -> None:
        """Play a recording; ``text`` is what it says, shown where nothing can be played."""

    def set_pace(self, factor: float) -> None:
        """Speak at ``factor`` times the normal rate from the next prompt on."""

    def prepare(self, texts: Iterable[str]) -> None:
        """Render prompts ahead of time, where the speaker renders at all."""

    def interrupt(self) -> None:
        """Cut the prompt that is playing now short (any thread)."""

    def close(self) -> None:
        """Release the engine and the output device."""


class Renderer(Protocol):
    """Turns text into a WAV file (a speech synthesizer)."""

    name: str
    """Short name, part of the cache key and of the fallback notice key."""

    @property
    def voice_id(self) -> str:
        """The voice actually used (resolved from the language or the requested voice)."""

    def render(self, text: str, rate: int, path: Path) -> None:
        """Write ``text`` spoken at ``rate`` words per minute to the WAV file ``path``."""

    def close(self) -> None:
        """Release the engine."""


class AudioOutput(Protocol):
    """Plays 16-bit mono PCM and blocks until it has been heard."""

    def play(self, pcm: bytes, sample_rate: int) -> None:
        """Play ``pcm``; return once the last sample has been played."""

    def interrupt(self) -> None:
        """Cut what is playing now short (any thread)."""

    def is_playing(self) -> bool:
        """Whether something is audible right now (any thread)."""

    def close(self) -> None:
        """Release the device."""


@dataclass(frozen=True)
class AudioChunk:
    """A short piece of microphone audio."""

    pcm: bytes
    """16-bit little-endian mono PCM."""
    rate: int
    """Sample rate of ``pcm`` in Hz."""
    captured_at: float
    """Monotonic time at which the block holding the chunk's last sample arrived."""


class AudioSource(Protocol):
    """Hands out microphone chunks (a microphone, or recorded PCM)."""

    @property
    def closed(self) -> bool:
        """True once no more chunks will come."""

    def read(self, timeout: float | None = None) -> AudioChunk | None:
        """The next chunk, or None when none came within ``timeout`` or the source is closed."""

    def close(self) -> None:
        """Stop and release the source."""


class Recognizer(Protocol):
    """Turns one utterance of 16-bit mono PCM into text."""

    sample_rate: int
    """The sample rate the recognizer expects, in Hz."""
    name: str
    """A short name for messages and benchmarks, e.g. 'vosk' or 'pocketsphinx'."""
    free_speech: bool
    """Whether it can transcribe speech beyond a list of phrases (else it always needs one)."""

    def start(self, phrases: Sequence[str] | None) -> None:
        """Begin an utterance; ``phrases`` restricts recognition to them (None: free speech)."""

    def accept(self, pcm: bytes) -> None:
        """Feed audio of the current utterance."""

    def partial(self) -> str:
        """What the utterance sounds like so far, before :meth:`finish` ('' when unsure).

        A short answer heard whole here ends the utterance sooner (``listen.Moment.early_end``).
        """

    def finish(self) -> str:
        """End the utterance and return the recognised text ('' when nothing was understood)."""
