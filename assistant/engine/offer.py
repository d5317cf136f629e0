"""Raised voices: a time-out offered once, gently, when emotions take over (seed 000: share
from calm; once emotions take over, the connection breaks).

The audio side only reports :class:`~assistant.engine.messages.RaisedVoices`; here the session
decides: during the exercise, and not again for a while, the wait at hand is held and the couple
is asked whether they want a time-out. "ja" (or "time-out") starts the break, "nee" or no answer
goes on where they were, with the time that was left.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from assistant.engine.messages import Intent
from assistant.engine.phases import ACTIVE, ANSWERS
from assistant.engine.waits import ActiveWait, Outcome, Reason, Wait, WaitKind

if TYPE_CHECKING:
    from assistant.engine.session import Session

WHILE_OFFER = frozenset({Intent.REPEAT, Intent.HELP, Intent.STOP, Intent.SLOWER,
                         Intent.FASTER})
"""Commands that work while the time-out is offered (besides ja, nee and time-out)."""
TAKES_THE_BREAK = frozenset({Reason.YES, Reason.DONE})
"""Answers that start the break: 'ja', or 'time-out' itself."""


class BreakOffer:
    """Offers a time-out when voices are raised, at most once per ``Timing.offer_quiet``."""

    def __init__(self, session: Session) -> None:
        self._s = session
        self._held: ActiveWait | None = None
        self._quiet_until = -math.inf

    def raised(self, active: ActiveWait | None) -> None:
        """Voices were raised during ``active``: offer a time-out, unless this is no moment."""
        s = self._s
        now = s.now()
        if (active is None or self._held is not None or now < self._quiet_until
                or s.phase not in ACTIVE or active.wait.kind is not WaitKind.FLOOR
                or active.wait.then is not None):
            return
        self._quiet_until = now + s.timing.offer_quiet
        s.count_speech(active, active.end_speech(now))
        active.hold(now)
        self._held = active
        question = s.texts.lines("raised_offer")
        s.say(question)
        s.begin(Wait(WaitKind.ANSWER, ANSWERS | {Intent.TIMEOUT},
                     limit=s.timing.get("answer"), question=tuple(question),
                     commands=WHILE_OFFER, then=self.answer))

    def answer(self, outcome: Outcome) -> None:
        """The answer to the offer: the break, or on where they were."""
        s = self._s
        held, self._held = self._held, None
        assert held is not None, "only the offer's wait comes here"
        if outcome.reason in TAKES_THE_BREAK:
            s.holding.take_break(held)
            return
        s.say(s.texts.lines("raised_declined"))
        held.release(s.now(), keep_speech=False)
        s.restore(held)

    def clear(self) -> None:
        """Forget an open offer (the session is ending)."""
        self._held = None
