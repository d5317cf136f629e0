"""Pause and time-out: the wait at hand is held aside and comes back with the time it had left."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.engine.messages import Chime
from assistant.engine.phases import Phase
from assistant.engine.waits import REPROMPT, ActiveWait, Alarm, Deadline, Wait, WaitKind

if TYPE_CHECKING:
    from assistant.engine.session import Session

BREAK_ALMOST_SECONDS = 60.0
"""A break longer than two minutes says this long before its end that it almost is."""


class Holding:
    """Holds the exercise during a pause or a break and brings it back."""

    def __init__(self, session: Session) -> None:
        self._s = session
        self._held: ActiveWait | None = None
        self._returns_to = Phase.INTRO

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

    def _freeze(self, active: ActiveWait) -> None:
        now = self._s.now()
        self._s.count_speech(active, active.end_speech(now))
        active.hold(now)
        self._held = active
        self._returns_to = active.phase

    # --- entering the held phases (on_enter callbacks of the machine) --------------------------

    def enter_paused(self) -> None:
        """The pause begins: a chime, a sentence, and a limit to how long it may last."""
        s = self._s
        s.chime(Chime.PAUSED)
        s.say(s.texts.lines("paused"))
        limit = s.timing.pause_limit
        s.begin(Wait(WaitKind.PAUSED, frozenset()), {
            Deadline(Alarm.PAUSE_REMINDER): limit / 2, Deadline(Alarm.PAUSE_LIMIT): limit})

    def enter_break(self) -> None:
        """The break begins: how long, a breathing moment, and when to come back."""
        s = self._s
        length = s.timing.get("break")
        back_at = s.wall_in(length)
        s.say(s.texts.lines("break_start", duration=s.texts.duration(length)))
        s.say(s.texts.lines("break_breathe"))
        s.say(s.texts.lines("break_return", time=back_at.strftime("%H:%M")))
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

    # --- back ------------------------------------------------------------------------------------

    def resume(self) -> None:
        """Back from pause or break: the held wait continues with the time it had left."""
        s = self._s
        held = self._held
        assert held is not None, "resume is only valid while the exercise is held"
        came_from_break = s.phase is Phase.BREAK
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
