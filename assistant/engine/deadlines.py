"""What happens when a deadline of a wait comes: warnings, time up, a nudge in a silence, a
question asked again; the alarms of a pause or a break go to the hold."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.engine.messages import Chime, TimerFired
from assistant.engine.waits import ActiveWait, Alarm, Deadline, Outcome, Reason

if TYPE_CHECKING:
    from assistant.engine.session import Session


class Alarms:
    """Rings the deadlines of the session's waits."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def ring(self, active: ActiveWait, deadline: Deadline) -> None:
        """``deadline`` of ``active`` has come."""
        s = self._s
        now = s.now()
        active.deadlines.pop(deadline, None)
        alarm, wait = deadline.alarm, active.wait
        if alarm is Alarm.WARN:
            s.emit(TimerFired("warning", deadline.left, wait.talker))
            s.chime(Chime.WARNING)
            s.say(s.texts.lines("warning", duration=s.texts.duration(deadline.left)))
        elif alarm is Alarm.EXPIRE:
            s.emit(TimerFired("expired", 0, wait.talker))
            s.chime(Chime.TIME_UP)
            s.count_speech(active, active.end_speech(now))
            s.finish_wait(Outcome(Reason.EXPIRED, active.talked, tuple(active.texts), 0.0))
        elif alarm is Alarm.NUDGE:
            active.nudged = True
            s.say(s.texts.lines("nudge"))
        elif alarm is Alarm.SILENCE:
            s.finish_wait(active.outcome(Reason.SILENCE, now))
        elif alarm is Alarm.CHUNK:
            s.count_speech(active, active.end_speech(now))
            active.speaking_since = now
            s.finish_wait(active.outcome(Reason.CHUNK, now))
        elif alarm is Alarm.REPROMPT:
            self.reprompt(active)
        else:
            s.holding.on_alarm(alarm)

    def reprompt(self, active: ActiveWait) -> None:
        """Ask a question again, at most ``reprompts`` times; then take the default."""
        s = self._s
        if active.reprompts >= s.timing.reprompts:
            s.finish_wait(Outcome(Reason.DEFAULT, active.talked))
            return
        active.reprompts += 1
        question = active.wait.question
        s.say([*(line for line in s.texts.lines("answer_reprompt") if line not in question),
               *question])
        active.deadlines[Deadline(Alarm.REPROMPT)] = s.now() + (active.wait.limit or 0)
        if s.speaking:  # the time to answer starts once the question has been heard
            active.hold(s.now())
