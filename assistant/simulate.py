"""Run a whole session on a virtual clock against a scripted couple (a scenario file).

The scenario is TOML: optional ``lang`` and ``names``, then ``[[reply]]`` tables consumed one by
one whenever the assistant waits for the couple::

    [[reply]]
    say = "klaar"      # an utterance, heard after `after` seconds (default 1)
    [[reply]]
    talk = 40          # someone talks, no command, for 40 s
    [[reply]]
    loud = 10          # someone talks loudly (raised voices) for 10 s
    [[reply]]
    silence = 30       # nobody says anything for 30 s

When the list runs out the couple stays silent; every wait still ends by its time limits.
"""

from __future__ import annotations

import heapq
import itertools
import math
import tomllib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assistant.engine.clock import VirtualClock
from assistant.engine.errors import read_user_file
from assistant.engine.exercises import Exercise
from assistant.engine.messages import (
    Effect,
    Heard,
    Log,
    PlayChime,
    PlayRecording,
    PromptPlayed,
    RaisedVoices,
    Say,
    SessionInput,
    SpeechEnded,
    SpeechStarted,
    log_line,
)
from assistant.engine.practice import Practice
from assistant.engine.pump import pump
from assistant.engine.session import Session
from assistant.engine.texts import LANGUAGES, Texts
from assistant.engine.timing import RAISED_VOICE_SECONDS, Timing

MAX_VIRTUAL_SECONDS = 24 * 3600
"""A simulated session longer than a day means the engine is stuck."""


class ScenarioError(Exception):
    """A scenario file that cannot be used; the message says where and what to fix."""


class SimulationStuck(RuntimeError):
    """The session did not end within :data:`MAX_VIRTUAL_SECONDS` of virtual time."""


@dataclass(frozen=True)
class Reply:
    """One thing the couple does when the assistant waits."""

    kind: str
    """'say', 'talk', 'loud' or 'silence'."""
    text: str = ""
    """What is said (say only)."""
    seconds: float = 0.0
    """How long the talk or silence lasts."""
    after: float = 0.0
    """Seconds before it starts."""


@dataclass(frozen=True)
class Scenario:
    """A scripted couple."""

    replies: tuple[Reply, ...]
    """Replies in order."""
    lang: str | None = None
    """Language, when the scenario sets one."""
    names: tuple[str, str] | None = None
    """The partners' names, when the scenario sets them."""


def _number(value: object, where: str) -> float:
    if (isinstance(value, bool) or not isinstance(value, int | float) or value < 0
            or not math.isfinite(value)):
        raise ScenarioError(f"{where}: must be a number of seconds ≥ 0, got {value!r}")
    return float(value)


def parse_scenario(text: str, where: str) -> Scenario:
    """Check and build a scenario from TOML text; ``where`` names the file in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{where}: invalid TOML: {err}") from None
    unknown = set(data) - {"lang", "names", "reply"}
    if unknown:
        raise ScenarioError(f"{where}: unknown field '{sorted(unknown)[0]}' "
                            "(allowed: lang, names, reply)")
    lang = data.get("lang")
    if lang is not None and lang not in LANGUAGES:
        raise ScenarioError(f"{where}: field 'lang': must be one of {', '.join(LANGUAGES)}, "
                            f"got {lang!r}")
    names = data.get("names")
    if names is not None:
        if (not isinstance(names, list) or len(names) != 2
                or not all(isinstance(n, str) and n.strip() for n in names)):
            raise ScenarioError(f"{where}: field 'names': must be two names, "
                                f"e.g. [\"Anna\", \"Ben\"]")
        names = (names[0].strip(), names[1].strip())
    raw = data.get("reply", [])
    if not isinstance(raw, list):
        raise ScenarioError(f"{where}: 'reply' must be a list of [[reply]] tables")
    replies = []
    for number, item in enumerate(raw, start=1):
        here = f"{where}: reply {number}"
        if not isinstance(item, dict):
            raise ScenarioError(f"{here}: must be a [[reply]] table")
        extra = set(item) - {"say", "talk", "loud", "silence", "after"}
        if extra:
            raise ScenarioError(f"{here}: unknown field '{sorted(extra)[0]}' "
                                "(allowed: say, talk, loud, silence, after)")
        kinds = [k for k in ("say", "talk", "loud", "silence") if k in item]
        if len(kinds) != 1:
            raise ScenarioError(f"{here}: needs exactly one of say, talk, loud or silence")
        kind = kinds[0]
        after = _number(item.get("after", 1 if kind == "say" else 0), f"{here}: field 'after'")
        if kind == "say":
            if not isinstance(item["say"], str):
                raise ScenarioError(f"{here}: field 'say': must be text, got {item['say']!r}")
            replies.append(Reply("say", text=item["say"], after=after))
        else:
            replies.append(Reply(kind, seconds=_number(item[kind], f"{here}: field '{kind}'"),
                                 after=after))
    return Scenario(tuple(replies), lang, names)


def load_scenario(path: Path) -> Scenario:
    """Read and check a scenario file."""
    return parse_scenario(read_user_file(path, ScenarioError, "scenario file"), str(path))


def _events_of(reply: Reply, now: float) -> list[tuple[float, SessionInput | None]]:
    """The inputs one reply produces, on the virtual clock; None marks its end."""
    start = now + reply.after
    if reply.kind == "say":
        return [(start, Heard(reply.text))]
    if reply.kind == "loud":  # raised voices are noticed once they have lasted long enough
        events: list[tuple[float, SessionInput | None]] = [(start, SpeechStarted())]
        if reply.seconds >= RAISED_VOICE_SECONDS:
            events.append((start + RAISED_VOICE_SECONDS, RaisedVoices()))
        return [*events, (start + reply.seconds, SpeechEnded(reply.seconds))]
    if reply.kind == "talk":
        return [(start, SpeechStarted()), (start + reply.seconds, SpeechEnded(reply.seconds))]
    return [(start + reply.seconds, None)]


class ScriptedCouple:
    """The couple of a scenario, on a virtual clock: an input source for :func:`pump`.

    Whenever the assistant waits and nothing is pending, the next reply is scheduled; a reply
    that belonged to a wait that is over is dropped. Prompts are heard the moment they are said.
    """

    def __init__(self, scenario: Scenario, clock: VirtualClock) -> None:
        self._replies = iter(scenario.replies)
        self._clock = clock
        self._pending: list[tuple[float, int, SessionInput | None]] = []
        self._order = itertools.count()
        self._serial = -1
        self._now: deque[SessionInput] = deque()

    def played(self, prompt: int) -> None:
        """A prompt was said: in a simulation it is heard at once."""
        self._now.append(PromptPlayed(prompt))

    def next_input(self, session: Session) -> SessionInput | None:
        """The next input, moving the clock to it; None when a deadline comes first."""
        if self._clock.now() > MAX_VIRTUAL_SECONDS:
            raise SimulationStuck(f"still running after {MAX_VIRTUAL_SECONDS} virtual seconds")
        if self._now:
            return self._now.popleft()
        if session.wait_serial != self._serial:
            self._pending.clear()  # the wait the reply belonged to is over; the rest is not heard
            self._serial = session.wait_serial
        if session.waiting and not self._pending:
            reply = next(self._replies, None)
            if reply is not None:
                for when, item in _events_of(reply, self._clock.now()):
                    heapq.heappush(self._pending, (when, next(self._order), item))
        deadline = session.next_deadline()
        if self._pending and (deadline is None or self._pending[0][0] < deadline):
            when, _, item = heapq.heappop(self._pending)
            self._clock.advance_to(when)
            return item
        if deadline is None:
            raise SimulationStuck(f"nothing left to wait for at t={self._clock.now():g} "
                                  f"in phase {session.phase}")
        self._clock.advance_to(deadline)
        return None


def simulate(exercise: Exercise, scenario: Scenario, names: tuple[str, str], texts: Texts,
             timing: Timing, emit: Callable[[dict], None],
             practice: Practice | None = None) -> Session:
    """Run the session to its end; ``emit`` receives each log line as a JSON-ready dict.

    ``practice`` is what a history brings (None: the session knows of no history)."""
    clock = VirtualClock()
    couple = ScriptedCouple(scenario, clock)

    def perform(effect: Effect) -> None:
        if isinstance(effect, Log):
            emit(log_line(clock.now(), effect.event))
        elif isinstance(effect, Say | PlayChime | PlayRecording):
            couple.played(effect.prompt)

    session = Session(exercise, names, texts, clock, timing, practice=practice)
    pump(session, couple, perform)
    return session
