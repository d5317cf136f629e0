"""Durations: the defaults, what an exercise file says, and what the command line overrides."""

from __future__ import annotations

from dataclasses import dataclass, replace

PACES: tuple[float, ...] = (0.8, 0.9, 1.0, 1.1, 1.2, 1.3)
"""The pace factors "langzamer"/"sneller" step through; 1.0 is the start."""
RAISED_VOICE_SECONDS = 6.0
"""Seconds of loud talk before it is noticed as raised voices (in a simulation; on the audio
path :class:`assistant.loudness.RaisedVoiceDetector` decides, about this fast)."""


@dataclass(frozen=True)
class Timing:
    """Default durations in seconds. A step's own value wins over these; an override wins over both.

    Override names: turn, mirror, clarify, more, discuss, reflect, agree, answer, silence, nudge,
    warn, chunk, break, wait (how long a 'say' step with ``wait = true`` waits for 'verder').
    """

    turn: float = 120.0
    """Floor time of a turn without its own ``seconds``."""
    mirror: float = 60.0
    """Time for the listener to say back what they heard."""
    clarify: float = 30.0
    """Time for the speaker to clarify after 'nee'."""
    more: float = 60.0
    """Floor time after 'is er meer?' — 'ja'."""
    discuss: float = 180.0
    """Shared talking time."""
    reflect: float = 60.0
    """Quiet thinking time."""
    agree: float = 120.0
    """Time to state an agreement."""
    answer: float = 10.0
    """Wait for ja/nee before asking again."""
    warn: float = 30.0
    """Warning this many seconds before the end of a turn or discussion."""
    silence: float = 30.0
    """End a turn after this much silence."""
    discuss_silence: float = 60.0
    """End a discussion after this much silence."""
    nudge: float = 12.0
    """Say 'neem je tijd' after this much silence."""
    chunk: float | None = None
    """Ask the speaker to pause for a mirror after this much talk (None: as the file says)."""
    break_: float = 1200.0
    """Length of a time-out break."""
    pause_limit: float = 1800.0
    """After this long in pause, the session ends kindly (a reminder comes halfway)."""
    attempts: int = 3
    """Mirror attempts before moving on."""
    reprompts: int = 2
    """How often a question is asked again before the default answer is taken."""
    offer_quiet: float = 600.0
    """After a time-out was offered for raised voices, it is not offered again this long."""
    silence_ends_turns: bool = True
    """False when nothing can hear silence (text mode): turns then end on time or 'klaar'."""
    overrides: tuple[tuple[str, float], ...] = ()
    """Command-line overrides, by name; they win over the exercise file."""

    OVERRIDABLE = ("turn", "mirror", "clarify", "more", "discuss", "reflect", "agree", "answer",
                   "silence", "nudge", "warn", "chunk", "break", "wait")
    MAY_BE_ZERO = ("warn",)
    """Overrides that may be 0: ``warn=0`` means no warning."""

    def get(self, name: str, from_file: float | None = None,
            default: float | None = None) -> float:
        """The duration ``name``: override, else the file's value, else ``default``, else the
        default of that name."""
        for key, value in self.overrides:
            if key == name:
                return value
        if from_file is not None:
            return from_file
        if default is not None:
            return default
        return getattr(self, "break_" if name == "break" else name)

    def warnings(self, from_file: tuple[float, ...] | None) -> tuple[float, ...]:
        """Seconds-left points at which to warn."""
        for key, value in self.overrides:
            if key == "warn":
                return (value,) if value > 0 else ()
        return from_file if from_file is not None else (self.warn,)

    def silence_for(self, from_file: float | None, default: float | None = None) -> float | None:
        """Silence that ends a floor, or None when nothing can hear silence."""
        return self.get("silence", from_file, default) if self.silence_ends_turns else None

    def nudge_for(self, from_file: float | None) -> float | None:
        """Silence after which 'neem je tijd' is said, or None when nothing can hear silence."""
        return self.get("nudge", from_file) if self.silence_ends_turns else None


def with_overrides(timing: Timing, overrides: dict[str, float]) -> Timing:
    """A copy of ``timing`` with command-line overrides applied."""
    return replace(timing, overrides=tuple(overrides.items()))
