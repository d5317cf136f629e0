"""Small messages that pass between the parts of a session.

Inputs flow into the session (:class:`Heard`, :class:`SpeechStarted`, :class:`SpeechEnded`,
:class:`KeyCommand`); log events flow out of it (:class:`PhaseChanged`, :class:`Said`,
:class:`HeardLogged`, :class:`TimerFired`, :class:`Ended`, :class:`Summary`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Intent(StrEnum):
    """A language-independent command."""

    YES = "yes"
    NO = "no"
    DONE = "done"
    NEXT = "next"
    REPEAT = "repeat"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    TIMEOUT = "timeout"
    HELP = "help"
    SLOWER = "slower"
    FASTER = "faster"


class Chime(StrEnum):
    """A short generated tone the speaker can play."""

    TURN_START = "turn_start"
    WARNING = "warning"
    TIME_UP = "time_up"
    PAUSED = "paused"


# --- inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Heard:
    """An utterance that was recognised (or typed)."""

    text: str
    """What was said, as text. Speaking time is counted from voice activity, not from this."""


@dataclass(frozen=True)
class SpeechStarted:
    """Voice activity began: somebody at the table started talking."""


@dataclass(frozen=True)
class SpeechEnded:
    """Voice activity ended."""

    seconds: float
    """How long the stretch of speech lasted."""


@dataclass(frozen=True)
class KeyCommand:
    """A command given without words (a key press), already mapped to an intent."""

    intent: Intent
    """The command the key stands for."""


SessionInput = Heard | SpeechStarted | SpeechEnded | KeyCommand


# --- log events (the public JSON contract) --------------------------------------------------


@dataclass(frozen=True)
class PhaseChanged:
    """The couple entered another phase."""

    phase: str
    """Public phase name, e.g. 'speaking'."""
    speaker: str | None = None
    """Who has the floor, where that applies."""
    listener: str | None = None
    """Who listens (and mirrors), where that applies."""

    def payload(self) -> dict:
        """The JSON fields of this event."""
        out: dict = {"type": "phase", "phase": self.phase}
        if self.speaker is not None:
            out["speaker"] = self.speaker
            out["listener"] = self.listener
        return out


@dataclass(frozen=True)
class Said:
    """The assistant said something."""

    text: str
    """The sentence, as spoken."""

    def payload(self) -> dict:
        """The JSON fields of this event."""
        return {"type": "say", "text": self.text}


@dataclass(frozen=True)
class HeardLogged:
    """The assistant heard an utterance."""

    text: str
    """What was heard."""
    intent: Intent | None
    """The command it was taken as, or None when it was not a command."""

    def payload(self) -> dict:
        """The JSON fields of this event."""
        return {"type": "heard", "text": self.text,
                "intent": self.intent.value if self.intent else None}


@dataclass(frozen=True)
class TimerFired:
    """A turn timer gave a warning or ran out."""

    event: str
    """'warning' or 'expired'."""
    remaining: float
    """Seconds left on the timer."""
    speaker: str | None
    """Whose time it was (None for shared time)."""

    def payload(self) -> dict:
        """The JSON fields of this event."""
        return {"type": "timer", "event": self.event, "remaining": _num(self.remaining),
                "speaker": self.speaker}


@dataclass(frozen=True)
class Ended:
    """The session ended."""

    reason: str
    """'finished' or 'stopped'."""

    def payload(self) -> dict:
        """The JSON fields of this event."""
        return {"type": "end", "reason": self.reason}


@dataclass(frozen=True)
class Summary:
    """What happened in the session, given once at the very end."""

    speaking_seconds: dict[str, float]
    """Speaking time per partner, in seconds."""
    mirror_attempts: int
    """How often a listener was asked to say back what they heard."""
    mirrors_confirmed: int
    """How often the speaker said that the mirror was right."""
    agreements: list[str] = field(default_factory=list)
    """Agreements the couple stated."""

    def payload(self) -> dict:
        """The JSON fields of this event."""
        return {"type": "summary",
                "speaking_seconds": {k: round(v, 1) for k, v in self.speaking_seconds.items()},
                "mirror_attempts": self.mirror_attempts,
                "mirrors_confirmed": self.mirrors_confirmed,
                "agreements": list(self.agreements)}


LogEvent = PhaseChanged | Said | HeardLogged | TimerFired | Ended | Summary


def _num(value: float) -> float | int:
    """Render whole seconds as integers in the log."""
    return int(value) if float(value).is_integer() else round(value, 2)
