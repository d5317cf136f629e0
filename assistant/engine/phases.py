"""The phase machine as data: where the couple is, how they move on, and what works where."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import partial

from transitions import Machine

from assistant.engine.messages import Intent


class Phase(StrEnum):
    """Where the couple is; the public names appear in the event log."""

    IDLE = "idle"
    INTRO = "intro"
    INSTRUCTING = "instructing"
    SPEAKING = "speaking"
    MIRRORING = "mirroring"
    CONFIRMING = "confirming"
    CLARIFYING = "clarifying"
    ASKING = "asking"
    DISCUSSING = "discussing"
    REFLECTING = "reflecting"
    AGREEING = "agreeing"
    CLOSING = "closing"
    PAUSED = "paused"
    BREAK = "break"
    DONE = "done"


ACTIVE = [Phase.INTRO, Phase.INSTRUCTING, Phase.SPEAKING, Phase.MIRRORING, Phase.CONFIRMING,
          Phase.CLARIFYING, Phase.ASKING, Phase.DISCUSSING, Phase.REFLECTING, Phase.AGREEING]
"""Phases of the exercise itself, from which the couple can pause, take a break or stop."""
ROLE_PHASES = frozenset({Phase.SPEAKING, Phase.MIRRORING, Phase.CONFIRMING, Phase.CLARIFYING})
"""Phases in which one partner speaks and the other listens."""

TRANSITIONS: list[tuple[str, Phase | list[Phase], Phase]] = [
    ("introduce", Phase.IDLE, Phase.INTRO),
    ("instruct", ACTIVE, Phase.INSTRUCTING),
    ("give_floor", ACTIVE, Phase.SPEAKING),
    ("ask_mirror", ACTIVE, Phase.MIRRORING),
    ("ask_confirmation", ACTIVE, Phase.CONFIRMING),
    ("ask_clarification", ACTIVE, Phase.CLARIFYING),
    ("ask_question", ACTIVE, Phase.ASKING),
    ("open_discussion", ACTIVE, Phase.DISCUSSING),
    ("start_reflection", ACTIVE, Phase.REFLECTING),
    ("ask_agreement", ACTIVE, Phase.AGREEING),
    ("pause", ACTIVE, Phase.PAUSED),
    ("take_break", [*ACTIVE, Phase.PAUSED], Phase.BREAK),
    ("close", [*ACTIVE, Phase.PAUSED, Phase.BREAK], Phase.CLOSING),
    ("finish", Phase.CLOSING, Phase.DONE),
]
"""(trigger, source(s), destination). ``resume`` goes back from pause or break to where the
couple was; the session adds it per phase, with a condition."""

HELD = [Phase.PAUSED, Phase.BREAK]
"""Phases that hold the exercise; ``resume`` leaves them."""

EVERYWHERE = frozenset({Intent.REPEAT, Intent.HELP, Intent.PAUSE, Intent.STOP, Intent.TIMEOUT,
                        Intent.SLOWER, Intent.FASTER})
"""Commands that work in every phase of the exercise."""
WHILE_PAUSED = frozenset({Intent.RESUME, Intent.REPEAT, Intent.HELP, Intent.STOP,
                          Intent.TIMEOUT, Intent.SLOWER, Intent.FASTER})
"""Commands that work during a pause."""
WHILE_BREAK = frozenset({Intent.RESUME, Intent.REPEAT, Intent.HELP, Intent.STOP,
                         Intent.SLOWER, Intent.FASTER})
"""Commands that work during a time-out break."""
FLOOR_ENDS = frozenset({Intent.DONE, Intent.NEXT})
"""Commands that end somebody's floor."""
ANSWERS = frozenset({Intent.YES, Intent.NO})
"""Commands that answer a ja/nee question."""
READY = FLOOR_ENDS | {Intent.YES}
"""Commands that end a wait for 'verder' after an instruction; 'ja' answers "Klaar?" too."""
MOMENTS: dict[str, tuple[frozenset[Intent], bool]] = {
    "commands": (EVERYWHERE | FLOOR_ENDS, False),
    "yesno": (EVERYWHERE | ANSWERS, True),
    "paused": (WHILE_PAUSED, False),
    "free": (EVERYWHERE | FLOOR_ENDS, False),
}
"""The moments a session listens in, by the names ``samenspraak hear --expect`` gives them: the
commands acted upon there, and whether a short answer is due (a ja/nee question). A speaking
turn, a question, a pause, and an agreement (free speech, kept as said, where the commands
still work); what a session's wait allows (:meth:`Wait.allowed`) is one of these wherever the
exercise does not choose its own commands (``tests/test_session.py`` holds them together)."""
PROCEED_ORDER = (Intent.DONE, Intent.RESUME, Intent.NEXT)
"""What an empty line (Enter) means: the first of these that is valid now."""


def build_machine(model: object, is_returning_to: Callable[[Phase], bool]) -> Machine:
    """The phase machine for ``model``: every phase logs itself on entry (``_log_phase``) and
    calls ``_enter_<phase>`` where the model has one; triggers become the model's methods."""
    states = [{"name": p.value, "on_enter": ["_log_phase"]} for p in Phase]
    for spec in states:
        if hasattr(model, f"_enter_{spec['name']}"):
            spec["on_enter"].append(f"_enter_{spec['name']}")
    return Machine(model=model, states=states, transitions=machine_table(is_returning_to),
                   initial=Phase.IDLE.value, auto_transitions=False)


def machine_table(is_returning_to: Callable[[Phase], bool]) -> list[dict]:
    """The transitions for ``transitions.Machine``, ``resume`` included.

    ``is_returning_to(phase)`` becomes one condition per phase: resume goes back to the phase
    the couple was in when the exercise was held.
    """
    table = [{"trigger": trigger, "source": _values(source), "dest": dest.value}
             for trigger, source, dest in TRANSITIONS]
    table += [{"trigger": "resume", "source": _values(HELD), "dest": phase.value,
               "conditions": [partial(is_returning_to, phase)]}
              for phase in ACTIVE]
    return table


def _values(source: Phase | list[Phase]) -> list[str]:
    """Phase names for the machine (it would take an enum's member names, not its values)."""
    return [p.value for p in (source if isinstance(source, list) else [source])]
