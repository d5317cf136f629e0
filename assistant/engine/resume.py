"""Resume after a crash: where a session was, saved at every phase change, and the way back.

A :class:`ResumePoint` holds what a session has done so far — the step it was in, who had the
floor, speaking times, mirrors, agreements. The driver stores it (in the history's database) each
time the phase changes; a session started with one goes back to that step, with everything the
couple had already done, after asking "Wil je verder waar je was?" (or at once, for
``samenspraak resume``).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from assistant.engine.phases import ANSWERS
from assistant.engine.waits import Outcome, Reason, Wait, WaitKind

if TYPE_CHECKING:
    from assistant.engine.session import Session


@dataclass(frozen=True)
class ResumePoint:
    """Where a session was, and what the couple had done."""

    step: int
    """Index of the step it was in (0-based)."""
    speaker: str
    """Who had the floor (the roles turn with swap steps)."""
    speaking: dict[str, float]
    """Speaking seconds per partner so far."""
    mirror_attempts: int = 0
    """Mirrors tried so far."""
    mirrors_confirmed: int = 0
    """Mirrors confirmed so far."""
    agreements: tuple[str, ...] = ()
    """Agreements made so far."""
    turns: tuple[tuple[str, float, float], ...] = ()
    """Who spoke when so far."""
    phase: str = "intro"
    """The phase it was in (for messages and tests)."""
    ask: bool = True
    """Ask "Wil je verder waar je was?" first (False: go back at once)."""

    def to_json(self) -> dict[str, Any]:
        """The point as JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any], ask: bool = True) -> ResumePoint:
        """The point from :meth:`to_json`'s data (``ask`` as the caller wants it now)."""
        return cls(step=int(data["step"]), speaker=str(data["speaker"]),
                   speaking={str(k): float(v) for k, v in data["speaking"].items()},
                   mirror_attempts=int(data.get("mirror_attempts", 0)),
                   mirrors_confirmed=int(data.get("mirrors_confirmed", 0)),
                   agreements=tuple(data.get("agreements", ())),
                   turns=tuple((str(n), float(a), float(b)) for n, a, b in data.get("turns", ())),
                   phase=str(data.get("phase", "intro")), ask=ask)


def snapshot(session: Session, step: int) -> ResumePoint:
    """Where ``session`` is now, in step ``step``."""
    stats = session.stats
    return ResumePoint(step=step, speaker=session.roles.speaker,
                       speaking=dict(stats.speaking_seconds),
                       mirror_attempts=stats.mirror_attempts,
                       mirrors_confirmed=stats.mirrors_confirmed,
                       agreements=tuple(stats.agreements), turns=tuple(stats.turns),
                       phase=session.phase.value)


def go_back(session: Session, point: ResumePoint) -> Generator[Wait, Outcome, bool]:
    """Ask whether to go on where they were (unless told not to ask); restore if so.

    Until that is settled ``session.resume_point`` stays set: where the session is meanwhile
    must not take the place of the point (a Ctrl-C at the question keeps it)."""
    s = session
    if not 0 <= point.step < len(s.exercise.steps):  # the exercise file changed since
        s.resume_point = None
        return False
    if point.ask:
        question = s.texts.lines("resume_ask")
        s.ask_question()
        s.tell(question)
        outcome = yield Wait(WaitKind.ANSWER, ANSWERS, limit=s.timing.get("answer"),
                             question=tuple(question))
        if outcome.reason is not Reason.YES:
            s.resume_point = None
            s.say(s.texts.lines("resume_fresh"))
            return False
    s.resume_point = None
    stats = s.stats
    for name, seconds in point.speaking.items():
        if name in stats.speaking_seconds:
            stats.speaking_seconds[name] = seconds
    stats.mirror_attempts = point.mirror_attempts
    stats.mirrors_confirmed = point.mirrors_confirmed
    stats.agreements[:] = list(point.agreements)
    stats.turns[:] = list(point.turns)
    if point.speaker != s.roles.speaker and point.speaker in s.names:
        s.roles.swap()
    s.say(s.texts.lines("resume_back"))
    return True
