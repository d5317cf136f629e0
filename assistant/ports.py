"""The narrow protocols behind which hardware lives.

A real implementation and a fake sit side by side; a session receives them through its
constructor. Nothing here touches a device at import time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from assistant.engine.messages import Chime


class Speaker(Protocol):
    """Says prompts and plays chimes."""

    def say(self, text: str) -> None:
        """Speak ``text``; return once it has been spoken (live) or at once (simulation)."""

    def chime(self, chime: Chime) -> None:
        """Play a short tone."""

    def change_pace(self, faster: bool) -> bool:
        """Speak faster or slower from now on; False when already at the limit."""

    def prepare(self, texts: Iterable[str]) -> None:
        """Render prompts ahead of time, where the speaker renders at all."""

    def close(self) -> None:
        """Release the engine and the output device."""


class Recognizer(Protocol):
    """Turns one utterance of 16-bit mono PCM into text."""

    sample_rate: int
    """The sample rate the recognizer expects, in Hz."""
    name: str
    """A short name for messages and benchmarks, e.g. 'vosk' or 'pocketsphinx'."""

    def start(self, phrases: Sequence[str] | None) -> None:
        """Begin an utterance; ``phrases`` restricts recognition to them (None: free speech)."""

    def accept(self, pcm: bytes) -> None:
        """Feed audio of the current utterance."""

    def finish(self) -> str:
        """End the utterance and return the recognised text ('' when nothing was understood)."""


class NullSpeaker:
    """Says nothing: simulation and tests read the event log instead."""

    def say(self, text: str) -> None:
        """Do nothing."""

    def chime(self, chime: Chime) -> None:
        """Do nothing."""

    def change_pace(self, faster: bool) -> bool:
        """Accept the change; there is nothing to speed up."""
        return True

    def prepare(self, texts: Iterable[str]) -> None:
        """Do nothing."""

    def close(self) -> None:
        """Do nothing."""
