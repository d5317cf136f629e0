"""Pause and time-out: the wait at hand is held aside and comes back with the time it had left.

After a time-out break each partner is asked whether they are calm enough to go on; a 'nee'
offers another break, and a second 'nee' ends the session kindly with a time to try again.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from assistant.engine.messages import Chime, Intent
from assistant.engine.phases import ANSWERS, Phase
from assistant.engine.waits import (
    REPROMPT,
    ActiveWait,
    Alarm,
    Deadline,
    Outcome,
    Reason,
    Wait,
    WaitKind,
)

if TYPE_CHECKING:
    from assistant.engine.session import Session

BREAK_ALMOST_SECONDS = 60.0
"""A break longer than two minutes says this long before its end that it almost is."""

WHILE_CALM_CHECK = frozenset({Intent.REPEAT, Intent.HELP, Intent.STOP, Intent.SLOWER,
                              Intent.FASTER})
"""Commands that work while the couple is asked whether they are calm (besides ja and nee)."""

CalmCheck = Generator[Wait, Outcome, str]
"""The questions after a break: yields waits, returns 'resume', 'break' or 'end'."""


class Holding:
    """Holds the exercise during a pause or a break and brings it back."""

    def __init__(self, session: Session) -> None:
        self._s = session
        self._held: ActiveWait | None = None
        self._returns_to = Phase.INTRO
        self._calm: CalmCheck | None = None
        self._instruction: list[str] = []

    def returns_to(self, phase: Phase) -> bool:
        """Whether resuming goes back to ``phase`` (a condition of the phase machine)."""
        return self._returns_to == phase

    def pause(self, active: ActiveWait) -> None:
        """Hold the exercise; every timer freezes."""
        self._freeze(active)
        self._s.pause()

    def take_break(self, active: ActiveWait) -> None:
        """A calming break; from a pause, the exercise is held already."""
        if active.wait.kind is not WaitKind.PAUSED:
            self._freeze(active)
        self._s.take_break()

    def clear(self) -> None:
        """Forget the held wait (the session is ending)."""
        self._held = None
        self._calm = None

    def _freeze(self, active: ActiveWait) -> None:
        now = self._s.now()
        self._s.count_speech(active, active.end_speech(now))
        active.hold(now)
        self._held = active
        self._returns_to = active.phase
        self._instruction = self._s.last_instruction  # 'herhaal' says it again once back

    # --- entering the held phases (on_enter callbacks of the machine) --------------------------

    def enter_paused(self) -> None:
        """The pause begins: a chime, a sentence, and a limit to how long it may last."""
        s = self._s
        s.chime(Chime.PAUSED)
        s.tell(s.texts.lines("paused"))
        limit = s.timing.pause_limit
        s.begin(Wait(WaitKind.PAUSED, frozenset()), {
            Deadline(Alarm.PAUSE_REMINDER): limit / 2, Deadline(Alarm.PAUSE_LIMIT): limit})

    def enter_break(self, again: bool = False) -> None:
        """The break begins: how long, a breathing moment, and when to come back."""
        s = self._s
        length = s.timing.get("break")
        back_at = s.wall_in(length)
        s.say(s.texts.lines("break_again" if again else "break_start",
                            duration=s.texts.duration(length)))
        s.say(s.texts.lines("break_breathe"))
        s.tell(s.texts.lines("break_return", time=back_at.strftime("%H:%M")))
        alarms = {Deadline(Alarm.BREAK_END): length}
        if length > 2 * BREAK_ALMOST_SECONDS:
            alarms[Deadline(Alarm.BREAK_ALMOST)] = length - BREAK_ALMOST_SECONDS
        s.begin(Wait(WaitKind.BREAK, frozenset()), alarms)

    def on_alarm(self, alarm: Alarm) -> None:
        """A deadline of the pause or the break rang."""
        s = self._s
        if alarm is Alarm.PAUSE_REMINDER:
            s.say(s.texts.lines("paused_reminder"))
        elif alarm is Alarm.PAUSE_LIMIT:
            s.say(s.texts.lines("paused_too_long"))
            s.stop(announce=False)
        elif alarm is Alarm.BREAK_ALMOST:
            s.say(s.texts.lines("break_almost"))
        elif alarm is Alarm.BREAK_END:
            self.resume()

    # --- after a break: calm enough? ----------------------------------------------------------

    def _check_calm(self) -> None:
        """The break is over: ask each partner whether they are calm enough to go on."""
        s = self._s
        s.drop_wait()
        s.say(s.texts.lines("break_done"))
        self._calm = self._calm_questions()
        s.begin(next(self._calm))

    def _calm_questions(self) -> CalmCheck:
        s = self._s
        for name in s.names:
            outcome = yield self._question(s.texts.lines("calm_check", name=name), name)
            if outcome.reason is not Reason.YES:
                break
        else:
            return "resume"
        outcome = yield self._question(s.texts.lines("calm_another_break"), None)
        return "break" if outcome.reason is Reason.YES else "end"

    def _question(self, question: list[str], talker: str | None) -> Wait:
        s = self._s
        s.say(question, remember=True)
        return Wait(WaitKind.ANSWER, ANSWERS, talker=talker, limit=s.timing.get("answer"),
                    question=tuple(question), commands=WHILE_CALM_CHECK, then=self.answer)

    def answer(self, outcome: Outcome) -> None:
        """The answer to a calm question: the next question, or on."""
        s = self._s
        assert self._calm is not None, "only the calm questions' waits come here"
        try:
            s.begin(self._calm.send(outcome))
            return
        except StopIteration as done:
            next_move = done.value
        self._calm = None
        if next_move == "resume":  # resume() brings the held instruction back for 'herhaal'
            self.resume(checked=True)
        elif next_move == "break":
            self.enter_break(again=True)
        else:
            s.say(s.texts.lines("calm_end"))
            s.stop(announce=False)

    # --- back ------------------------------------------------------------------------------------

    def resume(self, checked: bool = False) -> None:
        """Back from pause or break: the held wait continues with the time it had left.

        From a break, both partners are first asked whether they are calm (``checked``: done)."""
        s = self._s
        if s.phase is Phase.BREAK and not checked:
            self._check_calm()
            return
        held = self._held
        assert held is not None, "resume is only valid while the exercise is held"
        came_from_break = s.phase is Phase.BREAK
        s.last_instruction = self._instruction
        s.say(s.texts.lines("break_over" if came_from_break else "resumed"))
        s.drop_wait()
        s.resume()
        now = s.now()
        held.release(now, keep_speech=False)
        self._held = None
        wait = held.wait
        left = held.remaining(now)
        if wait.kind is WaitKind.ANSWER:
            s.say(list(wait.question))
            held.deadlines[REPROMPT] = now + (wait.limit or 0)
        elif left is not None and wait.kind is WaitKind.FLOOR:
            key = "resumed_time_left" if wait.talker else "resumed_time_left_shared"
            s.say(s.texts.lines(key, duration=s.texts.duration(left), speaker=wait.talker))
        elif came_from_break:
            s.repeat(quiet=True)
        if wait.kind is WaitKind.FLOOR:
            s.chime(Chime.TURN_START)
        s.restore(held)
