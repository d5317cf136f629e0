"""Small messages that pass between the parts of a session.

The session is sans-I/O: :data:`SessionInput` flows in (something heard, speech started or
ended, a key, a prompt that has been heard, a notice, a stop), :data:`Effect` flows out (say
this, play that chime, log this event, speak at this pace, cut the speech, listen for this).
Log events (:class:`PhaseChanged`, :class:`Said`, :class:`HeardLogged`, :class:`TimerFired`,
:class:`Ended`, :class:`Summary`) are the public JSON contract of the event log.
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


@dataclass(frozen=True)
class AdjustTime:
    """More or less time on the running timer (a coach's + or − key)."""

    seconds: float
    """Seconds to add; negative to take away (the timer never goes below one second)."""


@dataclass(frozen=True)
class Proceed:
    """An empty line or Enter: "klaar" or "verder", whichever fits the moment."""


@dataclass(frozen=True)
class PromptPlayed:
    """The speaker has finished a prompt or chime (heard, printed, cut short or failed)."""

    prompt: int
    """The number of the :class:`Say` or :class:`PlayChime` effect that is over."""


@dataclass(frozen=True)
class Announce:
    """A notice to say at once (a fallback, a lost device), changing nothing else."""

    text: str
    """The sentence, already in the session's language."""


@dataclass(frozen=True)
class Stop:
    """End now, kindly, with the summary (Ctrl-C, end of typed input, a lost device)."""


@dataclass(frozen=True)
class RaisedVoices:
    """Speech well above the couple's own level went on for seconds (emotions taking over)."""


SessionInput = (Heard | SpeechStarted | SpeechEnded | KeyCommand | Proceed | PromptPlayed
                | Announce | Stop | RaisedVoices | AdjustTime)
"""Everything a driver can hand to :meth:`Session.handle`."""


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
    """'warning', 'expired', or 'adjusted' (more or less time by a key)."""
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


def log_line(t: float, event: LogEvent) -> dict:
    """One line of the JSON event log: seconds since the start, then the event's fields."""
    return {"t": _num(round(t, 3)), **event.payload()}


def _num(value: float) -> float | int:
    """Render whole seconds as integers in the log."""
    return int(value) if float(value).is_integer() else round(value, 2)


# --- effects (what the session asks its driver to do) ---------------------------------------


@dataclass(frozen=True)
class Say:
    """Speak a sentence; report :class:`PromptPlayed` with ``prompt`` once it has been heard."""

    text: str
    """The sentence."""
    prompt: int
    """Its number, unique within the session."""
    private: bool = False
    """It holds the couple's own words (an agreement): spoken now, never kept in a cache."""


@dataclass(frozen=True)
class PlayChime:
    """Play a chime after what is already queued; report :class:`PromptPlayed` when done."""

    chime: Chime
    """Which chime."""
    prompt: int
    """Its number, unique within the session (shared with :class:`Say`)."""


@dataclass(frozen=True)
class PlayRecording:
    """Play a recording of the couple's own voice; report :class:`PromptPlayed` when done."""

    path: str
    """The WAV file."""
    text: str
    """What it says (shown where nothing can be played)."""
    prompt: int
    """Its number, unique within the session (shared with :class:`Say`)."""


@dataclass(frozen=True)
class Log:
    """Write one event to the event log (and nowhere else)."""

    event: LogEvent
    """The event."""


@dataclass(frozen=True)
class SetPace:
    """Speak at another pace from the next prompt on."""

    factor: float
    """Speaking rate relative to the normal one (1.0)."""


@dataclass(frozen=True)
class CutSpeech:
    """Stop the prompt that is playing and drop the queued ones; no report is needed for them."""


@dataclass(frozen=True)
class Listen:
    """What is worth listening for from now on (sent whenever it changes)."""

    phrases: tuple[str, ...]
    """The command phrases valid now, for a recognizer's grammar."""
    fillers: tuple[str, ...]
    """Words that may surround a command (and the partners' names)."""
    free_speech: bool
    """True when what is said matters beyond commands (an agreement is being stated)."""
    short_answer: bool
    """True when a ja/nee is expected: the end of speech can be detected sooner."""


Effect = Say | PlayChime | PlayRecording | Log | SetPace | CutSpeech | Listen
"""Everything the session can ask of its driver."""
