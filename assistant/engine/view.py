"""A read-only picture of a session for a screen: who talks, the phase, the running timer,
speaking time so far and what comes next. Made on the session's own thread, then handed on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.engine.phases import ROLE_PHASES, Phase
from assistant.engine.waits import EXPIRE, ActiveWait, WaitKind

if TYPE_CHECKING:
    from assistant.engine.session import Session


@dataclass(frozen=True)
class SessionView:
    """What a screen shows of a session at one moment."""

    phase: str
    """Public phase name, e.g. 'speaking'."""
    speaker: str
    """Who has the floor (in the exercise's roles)."""
    listener: str
    """Who listens and mirrors."""
    roles: bool
    """True when speaker and listener matter in this phase (speaking, mirroring, …)."""
    talker: str | None
    """Whose time runs now (None: shared time or nobody's)."""
    seconds_left: float | None
    """Seconds left on the running timer (None: no timer runs)."""
    seconds_total: float | None
    """The running timer's whole length, with any time added or taken away."""
    speaking_seconds: dict[str, float]
    """Speaking time per partner so far."""
    next_kind: str | None
    """The kind of the next step that is not a swap (None: the last step runs)."""
    next_speaker: str | None
    """Who has the floor in that step."""
    next_listener: str | None
    """Who listens in that step."""
    title: str
    """The exercise's title."""

    @property
    def paused(self) -> bool:
        """True in a pause or a time-out break."""
        return self.phase in (Phase.PAUSED.value, Phase.BREAK.value)


def view_of(session: Session, active: ActiveWait | None, step_index: int) -> SessionView:
    """The view of ``session`` now, ``active`` its wait and ``step_index`` its step."""
    now = session.now()
    left = total = None
    if active is not None and active.wait.kind is not WaitKind.PAUSED \
            and EXPIRE in active.deadlines:
        left = active.time_left(now)
        total = max(active.deadlines[EXPIRE] - active.started, left or 0.0)
    roles = session.roles
    speaker, listener = roles.speaker, roles.listener
    next_kind = None
    for step in session.exercise.steps[step_index + 1:]:
        if step.kind == "swap":
            speaker, listener = listener, speaker
            continue
        next_kind = step.kind
        break
    phase = session.phase
    return SessionView(
        phase=phase.value, speaker=roles.speaker, listener=roles.listener,
        roles=phase in ROLE_PHASES, talker=active.wait.talker if active else None,
        seconds_left=left, seconds_total=total,
        speaking_seconds=dict(session.stats.speaking_seconds), next_kind=next_kind,
        next_speaker=speaker if next_kind else None, next_listener=listener if next_kind else None,
        title=session.exercise.title)
