"""A practice, not a one-off: what a couple's history brings into the next session.

The driver reads the history (``assistant.history``) and hands the session a :class:`Practice`;
the session opens with the last agreement and asks how it went, and at the first agreement asks
once whether agreements may be kept. Without a practice (a simulation without ``--home``) none
of this is said.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.engine.phases import ANSWERS
from assistant.engine.waits import Outcome, Reason, Wait, WaitKind

if TYPE_CHECKING:
    from assistant.engine.session import Session


@dataclass(frozen=True)
class Practice:
    """What the history knows of this couple."""

    last_agreement: str | None = None
    """Their most recent agreement, as text."""
    recording: str | None = None
    """The couple saying it, recorded (a file the speaker can play), where there is one."""
    days_in_a_row: int = 0
    """Days in a row, up to yesterday or today, on which they did this exercise."""
    keep_agreements: bool | None = None
    """Their answer to 'may I keep your agreement?' (None: not asked yet)."""


class PracticeSteps:
    """The read-back at the start and the question about keeping agreements."""

    def __init__(self, session: Session, practice: Practice) -> None:
        self._s = session
        self.practice = practice
        self.keep: bool | None = practice.keep_agreements
        """Whether this couple's agreements may be kept (None: not asked yet)."""

    def opening(self) -> Generator[Wait, Outcome, None]:
        """Days in a row; last time's agreement (in their own voice where recorded); how it went."""
        s, p = self._s, self.practice
        if p.days_in_a_row > 1:
            s.say(s.texts.lines("practice_days", days=p.days_in_a_row))
        if not p.last_agreement:
            return
        s.ask_question()
        s.say(s.texts.lines("practice_last_time"))
        if p.recording:
            s.play_recording(p.recording, p.last_agreement)
        else:
            s.say([p.last_agreement], private=True)
        question = s.texts.lines("practice_how_did_it_go")
        s.tell(question)
        outcome = yield Wait(WaitKind.ANSWER, ANSWERS, limit=s.timing.get("answer"),
                             question=tuple(question))
        if outcome.reason is Reason.YES:
            s.say(s.texts.lines("practice_went_well"))
        elif outcome.reason is Reason.NO:
            s.say(s.texts.lines("practice_went_badly"))

    def may_keep(self) -> Generator[Wait, Outcome, None]:
        """At the first agreement: may it be kept, only on this computer? Asked once."""
        if self.keep is not None:
            return
        s = self._s
        question = s.texts.lines("practice_may_keep")
        s.tell(question)
        outcome = yield Wait(WaitKind.ANSWER, ANSWERS, limit=s.timing.get("answer"),
                             question=tuple(question))
        self.keep = outcome.reason is Reason.YES
        s.say(s.texts.lines("practice_kept" if self.keep else "practice_not_kept"))
