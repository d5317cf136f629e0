"""What the couple does during a wait, and the commands that work in every phase: repeat, help,
slower, faster, pause, time-out, stop.

They are handled around the steps, so every step kind gets them for free; a command that ends
the wait at hand ("klaar", "ja") is the step's business, not this module's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.engine.messages import (
    AdjustTime,
    Heard,
    HeardLogged,
    Intent,
    KeyCommand,
    SetPace,
    SpeechEnded,
    SpeechStarted,
    TimerFired,
)
from assistant.engine.phases import ANSWERS
from assistant.engine.timing import PACES
from assistant.engine.waits import ActiveWait, Reason, WaitKind

if TYPE_CHECKING:
    from assistant.engine.session import Session

HELP_ORDER = (Intent.DONE, Intent.RESUME, Intent.NEXT, Intent.REPEAT, Intent.PAUSE,
              Intent.TIMEOUT, Intent.STOP)
"""The order in which help names the commands that work now."""


class Commands:
    """Carries out a command that does not end the wait at hand."""

    def __init__(self, session: Session, pace_adjustable: bool = True) -> None:
        self._s = session
        self._pace_adjustable = pace_adjustable
        self._pace = PACES.index(1.0)

    @property
    def pace(self) -> float:
        """The speaking pace factor now (1.0 at the start)."""
        return PACES[self._pace]

    def take(self, active: ActiveWait,
             item: Heard | SpeechStarted | SpeechEnded | KeyCommand | AdjustTime) -> None:
        """What the couple did during ``active``: talk, an utterance, a key."""
        s = self._s
        now = s.now()
        if isinstance(item, AdjustTime):
            if active.adjust(item.seconds, now):
                s.emit(TimerFired("adjusted", active.time_left(now) or 0.0, active.wait.talker))
            return
        if isinstance(item, SpeechStarted | SpeechEnded):
            s.count_speech(active, active.speech(item, now))
            return
        allowed = s.allowed()
        if isinstance(item, KeyCommand):
            text, intent = "", (item.intent if item.intent in allowed else None)
        else:
            text, intent = item.text, s.matcher.match(item.text, allowed)
        s.emit(HeardLogged(text, intent))
        active.last_activity = now
        active.nudged = False
        if intent is None:
            if active.wait.collect and text.strip():
                active.texts.append(text.strip())
            if active.wait.kind is WaitKind.ANSWER:
                s.alarms.reprompt(active)
        elif intent in active.wait.ends_on:
            s.count_speech(active, active.end_speech(now))
            reason = Reason(intent.value) if intent in ANSWERS else Reason.DONE
            s.finish_wait(active.outcome(reason, now))
        else:
            self.run(active, intent)

    def run(self, active: ActiveWait, intent: Intent) -> None:
        """Carry out ``intent`` during ``active``."""
        s = self._s
        if intent is Intent.REPEAT:
            s.repeat()
        elif intent is Intent.HELP:
            s.say(self.help_lines(s.allowed()))
        elif intent in (Intent.SLOWER, Intent.FASTER):
            self._change_pace(faster=intent is Intent.FASTER)
        elif intent is Intent.PAUSE:
            s.cut_speech()
            s.holding.pause(active)
        elif intent is Intent.TIMEOUT:
            s.cut_speech()
            s.holding.take_break(active)
        elif intent is Intent.RESUME:
            s.holding.resume()
        elif intent is Intent.STOP:
            s.stop()

    def help_lines(self, intents: frozenset[Intent]) -> list[str]:
        """Which words work right now, as two short sentences."""
        texts = self._s.texts
        parts = []
        if ANSWERS <= intents:
            parts.append(texts.line("help_yes"))
        seen = set(parts)
        for intent in HELP_ORDER:
            if intent in intents and intent in texts.help:
                if intent is Intent.NEXT and Intent.DONE in intents:
                    continue
                phrase = texts.help[intent]
                if phrase not in seen:
                    parts.append(phrase)
                    seen.add(phrase)
        joined = texts.line("help_join").join(parts[:-1])
        listing = f"{joined}{texts.line('help_last')}{parts[-1]}" if joined else parts[-1]
        return [texts.line("help_intro"), f"{listing}."]

    def _change_pace(self, faster: bool) -> None:
        step = self._pace + (1 if faster else -1)
        if not self._pace_adjustable or not 0 <= step < len(PACES):
            self._s.say(self._s.texts.lines("pace_limit"))
            return
        self._pace = step
        self._s.effect(SetPace(PACES[step]))
        self._s.say(self._s.texts.lines("faster_ok" if faster else "slower_ok"))
