"""The effects a session has queued for its driver, and the prompts not heard yet."""

from __future__ import annotations

from assistant.engine.messages import (
    Chime,
    CutSpeech,
    Effect,
    Log,
    PlayChime,
    PlayRecording,
    Said,
    Say,
)


class Outbox:
    """The effects waiting for the driver, and the prompts asked for but not heard yet."""

    def __init__(self) -> None:
        self._effects: list[Effect] = []
        self._serial = 0
        self._unheard: set[int] = set()

    @property
    def speaking(self) -> bool:
        """True while a prompt or chime has not been heard yet."""
        return bool(self._unheard)

    def add(self, effect: Effect) -> None:
        """Queue an effect."""
        self._effects.append(effect)

    def say(self, text: str, private: bool = False) -> None:
        """Log and say one sentence (``private``: the couple's own words, see :class:`Say`)."""
        self._effects.append(Log(Said(text)))
        self._effects.append(Say(text, self._next(), private))

    def chime(self, chime: Chime) -> None:
        """Play a chime after what is queued."""
        self._effects.append(PlayChime(chime, self._next()))

    def recording(self, path: str, text: str) -> None:
        """Log what a recording says and play it after what is queued."""
        self._effects.append(Log(Said(text)))
        self._effects.append(PlayRecording(path, text, self._next()))

    def heard(self, prompt: int) -> bool:
        """Prompt ``prompt`` is over; True when nothing is left to hear."""
        self._unheard.discard(prompt)
        return not self._unheard

    def cut(self) -> bool:
        """Cut what is being said; True when there was something to cut."""
        if not self._unheard:
            return False
        self._unheard.clear()
        self._effects.append(CutSpeech())
        return True

    def drain(self) -> list[Effect]:
        """The effects queued since the last drain."""
        out, self._effects = self._effects, []
        return out

    def _next(self) -> int:
        self._serial += 1
        self._unheard.add(self._serial)
        return self._serial
