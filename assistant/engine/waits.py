"""What the assistant waits for, how a wait ends, and the deadlines of a wait in progress.

A step yields a :class:`Wait`; the session turns it into an :class:`ActiveWait` with absolute
deadlines on the session clock, and answers the step with an :class:`Outcome` when it ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from assistant.engine.messages import Intent, SpeechEnded, SpeechStarted
from assistant.engine.phases import EVERYWHERE, WHILE_BREAK, WHILE_PAUSED, Phase


class WaitKind(StrEnum):
    """What kind of silence or talk the assistant waits through."""

    FLOOR = "floor"
    """Somebody talks (a turn, a mirror, a discussion, an agreement)."""
    QUIET = "quiet"
    """Thinking time: talk does not count."""
    ANSWER = "answer"
    """A ja/nee is expected; asked again on silence."""
    PAUSED = "paused"
    """The exercise is paused."""
    BREAK = "break"
    """A time-out break."""


class Reason(StrEnum):
    """Why a wait ended."""

    DONE = "done"
    EXPIRED = "expired"
    SILENCE = "silence"
    CHUNK = "chunk"
    YES = "yes"
    NO = "no"
    DEFAULT = "default"
    """Nobody answered a question: its default answer is taken."""


class Alarm(StrEnum):
    """What a deadline does when it is reached."""

    WARN = "warn"
    EXPIRE = "expire"
    NUDGE = "nudge"
    SILENCE = "silence"
    CHUNK = "chunk"
    REPROMPT = "reprompt"
    PAUSE_REMINDER = "pause_reminder"
    PAUSE_LIMIT = "pause_limit"
    BREAK_ALMOST = "break_almost"
    BREAK_END = "break_end"


@dataclass(frozen=True)
class Deadline:
    """One deadline of a wait: an alarm, and for warnings the seconds left when it rings."""

    alarm: Alarm
    """What happens."""
    left: float = 0.0
    """Seconds left on the timer when a warning rings (0 for the other alarms)."""


EXPIRE = Deadline(Alarm.EXPIRE)
REPROMPT = Deadline(Alarm.REPROMPT)


@dataclass(frozen=True)
class Wait:
    """What the assistant waits for now; yielded by a step, answered with an :class:`Outcome`."""

    kind: WaitKind
    """Floor, quiet, answer, paused or break."""
    ends_on: frozenset[Intent]
    """Commands that end this wait (besides the commands that work everywhere)."""
    talker: str | None = None
    """Whose speaking time this is (None: shared or nobody's)."""
    limit: float | None = None
    """Seconds until the time is up."""
    warn_at: tuple[float, ...] = ()
    """Seconds left at which to warn."""
    silence: float | None = None
    """End after this much silence."""
    nudge: float | None = None
    """Say 'neem je tijd' after this much silence."""
    chunk: float | None = None
    """End with reason 'chunk' after this much talk."""
    collect: bool = False
    """Keep the text of what is said (agreements)."""
    question: tuple[str, ...] = ()
    """answer: the question, asked again on silence."""
    commands: frozenset[Intent] | None = None
    """Commands that work besides ``ends_on``, when not the usual ones of its kind."""
    then: Callable[[Outcome], None] | None = None
    """Who takes the outcome, for a question asked outside the steps (None: the steps)."""

    def allowed(self) -> frozenset[Intent]:
        """The commands that can be acted upon during this wait."""
        if self.commands is not None:
            return self.commands | self.ends_on
        if self.kind is WaitKind.PAUSED:
            return WHILE_PAUSED
        if self.kind is WaitKind.BREAK:
            return WHILE_BREAK
        return EVERYWHERE | self.ends_on

    @property
    def counts_talk(self) -> bool:
        """Whether speech during this wait counts as somebody's speaking time."""
        return self.kind in (WaitKind.FLOOR, WaitKind.ANSWER)


@dataclass(frozen=True)
class Outcome:
    """How a wait ended."""

    reason: Reason
    """Why it ended."""
    talked: float = 0.0
    """Seconds of speech during the wait."""
    texts: tuple[str, ...] = ()
    """What was said, when the wait collected it."""
    remaining: float | None = None
    """Seconds left on its timer."""


@dataclass
class ActiveWait:
    """A wait in progress, with absolute deadlines on the session clock."""

    wait: Wait
    """What is waited for."""
    started: float
    """When it began (clock seconds)."""
    phase: Phase
    """The phase it belongs to (where resume goes back to)."""
    deadlines: dict[Deadline, float] = field(default_factory=dict)
    """Fixed deadlines: warnings, expiry, a question asked again, pause and break alarms."""
    talked: float = 0.0
    """Seconds of speech so far."""
    speaking_since: float | None = None
    """When the current stretch of speech began, while somebody talks."""
    last_activity: float = 0.0
    """When somebody last started or stopped talking (silence counts from here)."""
    nudged: bool = False
    """Whether 'neem je tijd' was said in the current silence."""
    reprompts: int = 0
    """How often the question was asked again."""
    texts: list[str] = field(default_factory=list)
    """What was said, when the wait collects it."""
    held_from: float | None = None
    """While set, no deadline runs: the wait waits for its prompt to be heard (or is held)."""

    @classmethod
    def begin(cls, wait: Wait, now: float, phase: Phase) -> ActiveWait:
        """A new wait starting ``now``, its expiry (or re-ask) and warnings set."""
        active = cls(wait=wait, started=now, phase=phase, last_activity=now)
        if wait.limit is not None:
            active.deadlines[REPROMPT if wait.kind is WaitKind.ANSWER else EXPIRE] = \
                now + wait.limit
            for left in wait.warn_at:
                active.deadlines[Deadline(Alarm.WARN, left)] = now + wait.limit - left
        return active

    def hold(self, now: float) -> None:
        """Stop every deadline from running until :meth:`release`."""
        if self.held_from is None:
            self.held_from = now

    def release(self, now: float, keep_speech: bool = True) -> None:
        """Run the deadlines again as if no time had passed since :meth:`hold`."""
        if self.held_from is None:
            return
        delta, self.held_from = now - self.held_from, None
        self.started += delta
        self.last_activity += delta
        self.deadlines = {k: v + delta for k, v in self.deadlines.items()}
        if not keep_speech:
            self.speaking_since = None

    def time_left(self, now: float) -> float | None:
        """Seconds left on its timer as a screen shows it (frozen while held), or None."""
        end = self.deadlines.get(EXPIRE)
        at = now if self.held_from is None else self.held_from
        return None if end is None else max(0.0, end - at)

    def adjust(self, seconds: float, now: float) -> bool:
        """Move the expiry by ``seconds`` (never closer than a second) and its warnings with it:
        a warning still ahead rings at its point before the new end. False without a timer."""
        end = self.deadlines.get(EXPIRE)
        if end is None:
            return False
        at = now if self.held_from is None else self.held_from
        end = self.deadlines[EXPIRE] = max(at + 1.0, end + seconds)
        for left in self.wait.warn_at:
            warn = Deadline(Alarm.WARN, left)
            if end - left > at:
                self.deadlines[warn] = end - left
            else:
                self.deadlines.pop(warn, None)
        return True

    def remaining(self, now: float) -> float | None:
        """Seconds left on its timer, or None when it has none."""
        end = self.deadlines.get(EXPIRE)
        return None if end is None else max(0.0, end - now)

    def pending(self) -> dict[Deadline, float]:
        """Every deadline that can ring now, silence and talk-based ones included."""
        if self.held_from is not None:
            return {}
        pending = dict(self.deadlines)
        wait = self.wait
        if self.speaking_since is None:
            if wait.silence is not None:
                pending[Deadline(Alarm.SILENCE)] = self.last_activity + wait.silence
            if wait.nudge is not None and not self.nudged and (
                    wait.silence is None or wait.nudge < wait.silence):
                pending[Deadline(Alarm.NUDGE)] = self.last_activity + wait.nudge
        elif wait.chunk is not None:
            pending[Deadline(Alarm.CHUNK)] = \
                self.speaking_since + max(0.0, wait.chunk - self.talked)
        return pending

    def speech(self, item: SpeechStarted | SpeechEnded, now: float) -> float:
        """Somebody started or stopped talking; the seconds of speech that ended (or 0)."""
        self.last_activity = now
        if isinstance(item, SpeechStarted):
            self.speaking_since = now
            return 0.0
        self.speaking_since = None
        self.nudged = False
        return item.seconds

    def end_speech(self, now: float) -> float:
        """Close the stretch of speech in progress; the seconds it lasted (0 when none)."""
        if self.speaking_since is None:
            return 0.0
        seconds, self.speaking_since = now - self.speaking_since, None
        return seconds

    def outcome(self, reason: Reason, now: float) -> Outcome:
        """How this wait ended, with what it gathered."""
        return Outcome(reason, self.talked, tuple(self.texts), self.remaining(now))
