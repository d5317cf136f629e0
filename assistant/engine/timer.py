"""Timer mode: the speaker/listener structure without exercise text, built as an exercise.

A coach leads the conversation; Samenspraak keeps the time. Each round gives both partners the
floor once: a turn, a timed mirror by the listener (no "klopt dat?"), a swap. The short cues
come from the language file (``timer_*`` keys); the steps run through the same phase machine,
chimes, warnings and commands as any exercise.
"""

from __future__ import annotations

from assistant.engine.exercises import Exercise, Step
from assistant.engine.texts import Texts

TIMER_ID = "timer"
"""The id a timer session has in the event log and the history."""


def timer_exercise(texts: Texts, turn: float, mirror: float, rounds: int) -> Exercise:
    """``rounds`` rounds in which each partner has the floor for ``turn`` seconds and the other
    says back what they heard in ``mirror`` seconds."""
    steps: list[Step] = []

    def add(kind: str, **fields: object) -> None:
        steps.append(Step(number=len(steps) + 1, kind=kind, **fields))  # type: ignore[arg-type]

    for round_ in range(rounds):
        for partner in range(2):
            add("turn", seconds=turn)
            add("mirror", text=texts.phrases["timer_mirror"], seconds=mirror, attempts=1,
                confirm=())  # confirm=(): a timed mirror, no "klopt dat?" (see steps._mirror)
            if partner == 0 or round_ < rounds - 1:
                add("swap", text=texts.phrases["timer_swap"])
    minutes = rounds * 2 * (turn + mirror) / 60
    return Exercise(id=TIMER_ID, lang=texts.lang, title=texts.line("timer_title"),
                    description=texts.line("timer_description"), minutes=round(minutes, 1),
                    steps=tuple(steps))
