"""The conversation engine: one exercise, two partners, a phase machine and turn timers.

The session is driven from outside, on one thread: a driver hands it inputs (:meth:`Session.handle`)
and calls :meth:`Session.tick` when :meth:`Session.next_deadline` has passed. Time comes from an
injected clock, so a simulated 20-minute session runs in milliseconds and a live one in real time.

Each step kind is a small generator that says its prompts, moves the phase machine and yields a
:class:`Wait` (what the assistant waits for, with its time limits); the session answers it with an
:class:`Outcome`. Commands that work everywhere — pause, time-out, stop, repeat, help, slower,
faster — are handled here, around the steps, so every step gets them for free.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import partial

from transitions import Machine

from assistant.engine.clock import Clock
from assistant.engine.exercises import Exercise, Step
from assistant.engine.intents import IntentMatcher
from assistant.engine.messages import (
    Chime,
    Ended,
    HeardLogged,
    Intent,
    KeyCommand,
    LogEvent,
    PhaseChanged,
    Said,
    SessionInput,
    SpeechEnded,
    SpeechStarted,
    Summary,
    TimerFired,
)
from assistant.engine.texts import Texts
from assistant.ports import Speaker

_LOGGER = logging.getLogger(__name__)

MAX_MORE_ROUNDS = 3
"""How often 'is er meer?' can lead to another round of speaking and mirroring."""


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
ROLE_PHASES = {Phase.SPEAKING, Phase.MIRRORING, Phase.CONFIRMING, Phase.CLARIFYING}
"""Phases in which one partner speaks and the other listens."""

TRANSITIONS: list[list] = [
    ["introduce", Phase.IDLE, Phase.INTRO],
    ["instruct", ACTIVE, Phase.INSTRUCTING],
    ["give_floor", ACTIVE, Phase.SPEAKING],
    ["ask_mirror", ACTIVE, Phase.MIRRORING],
    ["ask_confirmation", ACTIVE, Phase.CONFIRMING],
    ["ask_clarification", ACTIVE, Phase.CLARIFYING],
    ["ask_question", ACTIVE, Phase.ASKING],
    ["open_discussion", ACTIVE, Phase.DISCUSSING],
    ["start_reflection", ACTIVE, Phase.REFLECTING],
    ["ask_agreement", ACTIVE, Phase.AGREEING],
    ["pause", ACTIVE, Phase.PAUSED],
    ["take_break", [*ACTIVE, Phase.PAUSED], Phase.BREAK],
    ["close", [*ACTIVE, Phase.PAUSED, Phase.BREAK], Phase.CLOSING],
    ["finish", Phase.CLOSING, Phase.DONE],
]
"""The phase machine as data: [trigger, source(s), destination]. ``resume`` is added per phase."""

EVERYWHERE = frozenset({Intent.REPEAT, Intent.HELP, Intent.PAUSE, Intent.STOP, Intent.TIMEOUT,
                        Intent.SLOWER, Intent.FASTER})
"""Commands that work in every phase of the exercise."""
WHILE_PAUSED = frozenset({Intent.RESUME, Intent.REPEAT, Intent.HELP, Intent.STOP,
                          Intent.TIMEOUT, Intent.SLOWER, Intent.FASTER})
WHILE_BREAK = frozenset({Intent.RESUME, Intent.REPEAT, Intent.HELP, Intent.STOP,
                         Intent.SLOWER, Intent.FASTER})
FLOOR_ENDS = frozenset({Intent.DONE, Intent.NEXT})
ANSWERS = frozenset({Intent.YES, Intent.NO})


@dataclass(frozen=True)
class Timing:
    """Default durations in seconds. A step's own value wins over these; an override wins over both.

    Override names: turn, mirror, clarify, more, discuss, reflect, agree, answer, silence, nudge,
    warn, chunk, break.
    """

    turn: float = 120.0
    """Floor time of a turn without its own ``seconds``."""
    mirror: float = 60.0
    """Time for the listener to say back what they heard."""
    clarify: float = 30.0
    """Time for the speaker to clarify after 'nee'."""
    more: float = 60.0
    """Floor time after 'is er meer?' — 'ja'."""
    discuss: float = 180.0
    """Shared talking time."""
    reflect: float = 60.0
    """Quiet thinking time."""
    agree: float = 120.0
    """Time to state an agreement."""
    answer: float = 10.0
    """Wait for ja/nee before asking again."""
    warn: float = 30.0
    """Warning this many seconds before the end of a turn or discussion."""
    silence: float = 30.0
    """End a turn after this much silence."""
    discuss_silence: float = 60.0
    """End a discussion after this much silence."""
    nudge: float = 12.0
    """Say 'neem je tijd' after this much silence."""
    chunk: float | None = None
    """Ask the speaker to pause for a mirror after this much talk (None: as the file says)."""
    break_: float = 1200.0
    """Length of a time-out break."""
    pause_limit: float = 1800.0
    """After this long in pause, the session ends kindly (a reminder comes halfway)."""
    attempts: int = 3
    """Mirror attempts before moving on."""
    reprompts: int = 2
    """How often a question is asked again before the default answer is taken."""
    silence_ends_turns: bool = True
    """False when nothing can hear silence (text mode): turns then end on time or 'klaar'."""
    overrides: tuple[tuple[str, float], ...] = ()
    """Command-line overrides, by name; they win over the exercise file."""

    OVERRIDABLE = ("turn", "mirror", "clarify", "more", "discuss", "reflect", "agree", "answer",
                   "silence", "nudge", "warn", "chunk", "break")

    def get(self, name: str, from_file: float | None = None,
            default: float | None = None) -> float:
        """The duration ``name``: override, else the file's value, else ``default``, else the
        default of that name."""
        for key, value in self.overrides:
            if key == name:
                return value
        if from_file is not None:
            return from_file
        if default is not None:
            return default
        return getattr(self, "break_" if name == "break" else name)

    def warnings(self, from_file: tuple[float, ...] | None) -> tuple[float, ...]:
        """Seconds-left points at which to warn."""
        for key, value in self.overrides:
            if key == "warn":
                return (value,) if value > 0 else ()
        return from_file if from_file is not None else (self.warn,)


@dataclass(frozen=True)
class Wait:
    """What the assistant waits for now; yielded by a step, answered with an :class:`Outcome`."""

    kind: str
    """'floor' (someone talks), 'quiet' (thinking time), 'answer' (ja/nee), 'paused', 'break'."""
    ends_on: frozenset[Intent]
    """Commands that end this wait (besides the commands that work everywhere)."""
    talker: str | None = None
    """Whose speaking time this is (None: shared or nobody's)."""
    limit: float | None = None
    """Seconds until the time is up."""
    warn_at: tuple[float, ...] = ()
    """Seconds left at which to warn."""
    silence: float | None = None
    """End after this much silence."""
    nudge: float | None = None
    """Say 'neem je tijd' after this much silence."""
    chunk: float | None = None
    """End with reason 'chunk' after this much talk."""
    collect: bool = False
    """Keep the text of what is said (agreements)."""
    question: tuple[str, ...] = ()
    """answer: the question, asked again on silence."""


@dataclass(frozen=True)
class Outcome:
    """How a wait ended."""

    reason: str
    """'done', 'expired', 'silence', 'chunk', 'yes', 'no' or 'default'."""
    talked: float = 0.0
    """Seconds of speech during the wait."""
    texts: tuple[str, ...] = ()
    """What was said, when the wait collected it."""
    remaining: float | None = None
    """Seconds left on its timer."""


@dataclass
class _Active:
    """A wait in progress, with absolute deadlines on the session clock."""

    wait: Wait
    started: float
    deadlines: dict[str, float] = field(default_factory=dict)
    talked: float = 0.0
    speaking_since: float | None = None
    last_activity: float = 0.0
    nudged: bool = False
    reprompts: int = 0
    texts: list[str] = field(default_factory=list)
    phase: Phase = Phase.IDLE

    def shift(self, delta: float) -> None:
        """Move every time forward by ``delta``: the wait continues as if no time had passed."""
        self.started += delta
        self.last_activity += delta
        self.deadlines = {k: v + delta for k, v in self.deadlines.items()}
        self.speaking_since = None

    def remaining(self, now: float) -> float | None:
        end = self.deadlines.get("expire")
        return None if end is None else max(0.0, end - now)


@dataclass(frozen=True)
class Listening:
    """What the session can act on right now: restricts and tunes the recognizer."""

    intents: frozenset[Intent]
    """Commands valid now."""
    free_speech: bool
    """True when what is said matters beyond commands (an agreement is being stated)."""
    short_answer: bool
    """True when a ja/nee is expected: end-of-speech can be detected sooner."""


StepRun = Generator[Wait, Outcome, str | None]


class Session:
    """One run of one exercise for two partners."""

    state: str  # set by the phase machine

    def __init__(self, exercise: Exercise, names: tuple[str, str], texts: Texts,
                 clock: Clock, speaker: Speaker, log: Callable[[LogEvent], None],
                 timing: Timing | None = None, notices: Iterable[str] = ()) -> None:
        self.exercise = exercise
        self._notices = list(notices)
        self.names = names
        self.texts = texts
        self.timing = timing or Timing()
        self._clock = clock
        self._speaker = speaker
        self._log = log
        self._matcher = IntentMatcher(texts, names)
        self.speaker_name, self.listener_name = names
        self.speaking_seconds = {name: 0.0 for name in names}
        self.mirror_attempts = 0
        self.mirrors_confirmed = 0
        self.agreements: list[str] = []
        self.end_reason: str | None = None
        self.wait_serial = 0
        self._active: _Active | None = None
        self._held: _Active | None = None  # the exercise's wait, frozen during pause or break
        self._held_at = 0.0
        self._returns_to = Phase.INTRO
        self._last_instruction: list[str] = []
        self._steps: StepRun | None = None
        self._interacted = False
        states = [{"name": p.value, "on_enter": ["_log_phase"]} for p in Phase]
        for spec in states:
            hook = f"_enter_{spec['name']}"
            if hasattr(self, hook):
                spec["on_enter"].append(hook)
        table = [{"trigger": trigger, "source": _names(source), "dest": dest.value}
                 for trigger, source, dest in TRANSITIONS]
        table += [{"trigger": "resume", "source": [Phase.PAUSED.value, Phase.BREAK.value],
                   "dest": p.value, "conditions": [partial(self._is_returning_to, p)]}
                  for p in ACTIVE]
        self.machine = Machine(model=self, states=states, transitions=table,
                               initial=Phase.IDLE.value, auto_transitions=False)

    # --- public driver interface -------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        """The current phase."""
        return Phase(self.state)

    @property
    def done(self) -> bool:
        """True once the session has ended and the summary is out."""
        return self.phase is Phase.DONE

    @property
    def waiting(self) -> bool:
        """True while the assistant waits for the couple."""
        return self._active is not None

    def start(self) -> None:
        """Greet the couple and run until the first wait."""
        self._speaker.prepare(self._foreseeable_lines())
        self.introduce()
        self._say_lines(self.texts.lines("welcome", title=self.exercise.title,
                                         speaker=self.names[0], listener=self.names[1]))
        self._say_lines(self.texts.lines("how_it_works"))
        self._say_lines(self._notices)
        self._steps = self._run_steps()
        self._advance(None)

    def next_deadline(self) -> float | None:
        """When :meth:`tick` must be called next (clock seconds), or None."""
        if self._active is None:
            return None
        pending = self._pending_deadlines(self._active)
        return min(pending.values()) if pending else None

    def tick(self) -> None:
        """Fire every deadline that has passed."""
        while self._active is not None:
            pending = self._pending_deadlines(self._active)
            if not pending:
                return
            name, when = min(pending.items(), key=lambda kv: kv[1])
            if when > self._clock.now():
                return
            self._fire(name)

    def handle(self, item: SessionInput) -> None:
        """Take one input from the couple."""
        active = self._active
        if active is None:
            return
        now = self._clock.now()
        if isinstance(item, SpeechStarted):
            active.speaking_since = now
            active.last_activity = now
            return
        if isinstance(item, SpeechEnded):
            self._count_speech(active, item.seconds)
            active.speaking_since = None
            active.last_activity = now
            active.nudged = False
            return
        allowed = self.listening().intents
        if isinstance(item, KeyCommand):
            text, intent = "", (item.intent if item.intent in allowed else None)
        else:
            text, intent = item.text, self._matcher.match(item.text, allowed)
        self._emit(HeardLogged(text, intent))
        active.last_activity = now
        active.nudged = False
        if intent is None:
            self._on_speech(active, text)
        else:
            self._on_command(active, intent)

    def listening(self) -> Listening:
        """What can be acted upon now (for the recognizer's grammar and endpointing)."""
        active = self._active
        if active is None:
            return Listening(frozenset(), False, False)
        kind = active.wait.kind
        if kind == "paused":
            intents = WHILE_PAUSED
        elif kind == "break":
            intents = WHILE_BREAK
        else:
            intents = EVERYWHERE | active.wait.ends_on
        return Listening(intents, active.wait.collect, kind == "answer")

    def command_phrases(self) -> list[str]:
        """The phrases that are commands right now (a recognizer grammar)."""
        return self._matcher.phrases_for(self.listening().intents)

    def announce(self, text: str) -> None:
        """Say a notice (a fallback, a lost device) without changing anything else."""
        self._say_lines([text])

    def stop(self) -> None:
        """End at once, kindly, with the summary (Ctrl-C, a lost device that cannot recover)."""
        if self.phase not in (Phase.IDLE, Phase.CLOSING, Phase.DONE):
            self._stop()

    # --- the step runner ---------------------------------------------------------------------

    def _advance(self, outcome: Outcome | None) -> None:
        """Run the steps until they wait again, or close the session when they are through."""
        assert self._steps is not None
        try:
            wait = self._steps.send(outcome) if outcome is not None else next(self._steps)
        except StopIteration:
            self._active = None
            self._close(stopped=False)
            return
        self._begin(wait)

    def _run_steps(self) -> StepRun:
        steps = self.exercise.steps
        index = 0
        while index < len(steps):
            step = steps[index]
            jump = yield from getattr(self, f"_step_{step.kind}")(step)
            if jump == "end":
                return None
            if jump:
                index = next(i for i, s in enumerate(steps) if s.id == jump)
            else:
                index += 1
        return None

    def _step_say(self, step: Step) -> StepRun:
        self._to_instructing()
        self._instruct(self._fmt(step.text))
        return None
        yield  # pragma: no cover - makes this a generator

    def _step_swap(self, step: Step) -> StepRun:
        self.speaker_name, self.listener_name = self.listener_name, self.speaker_name
        self._to_instructing()
        self._instruct(self._fmt(step.text) if step.text else self.texts.lines(
            "swap_default", **self._roles()))
        return None
        yield  # pragma: no cover - makes this a generator

    def _step_turn(self, step: Step) -> StepRun:
        self._interacted = True
        limit = self.timing.get("turn", step.seconds)
        chunk = self.timing.get("chunk", step.chunk_seconds) if (
            step.chunk_seconds is not None or self.timing.chunk is not None) else None
        warn_at = self.timing.warnings(step.warn_at)
        self.give_floor()
        self._instruct([*self._fmt(step.text),
                        self.texts.line("floor", duration=self.texts.duration(limit),
                                        **self._roles())])
        yield from self._floor(limit, warn_at, chunk, step)
        return None

    def _floor(self, limit: float, warn_at: tuple[float, ...], chunk: float | None,
               step: Step) -> Generator[Wait, Outcome, None]:
        """A partner has the floor, possibly interrupted for mirrors of what was said so far."""
        remaining = limit
        talked = 0.0
        while True:
            self._speaker.chime(Chime.TURN_START)
            outcome = yield Wait(
                "floor", FLOOR_ENDS, talker=self.speaker_name, limit=remaining,
                warn_at=tuple(w for w in warn_at if w < remaining),
                silence=self._silence(step.silence_seconds), nudge=self._nudge(step),
                chunk=None if chunk is None else max(0.0, chunk - talked % chunk))
            talked += outcome.talked
            if outcome.reason != "chunk" or not outcome.remaining:
                self._say_lines(self.texts.lines("time_up", **self._roles()))
                return
            remaining = outcome.remaining
            self._instruct(self.texts.lines("chunk_pause", **self._roles()))
            yield from self._mirror_rounds(step=None, more=False)
            self.give_floor()
            self._instruct(self.texts.lines("chunk_back", duration=self.texts.duration(remaining),
                                            **self._roles()))

    def _step_mirror(self, step: Step) -> StepRun:
        self._interacted = True
        yield from self._mirror_rounds(step, more=step.more)
        return None

    def _mirror_rounds(self, step: Step | None, more: bool) -> Generator[Wait, Outcome, None]:
        """Mirror, confirm, clarify; with 'more', as long as the speaker has more to say."""
        for _ in range(MAX_MORE_ROUNDS + 1):
            confirmed = yield from self._mirror(step)
            if not (confirmed and more):
                return
            self.ask_question()
            answer = yield from self._ask_yes_no(self.texts.lines("more", **self._roles()),
                                                 talker=self.speaker_name)
            if answer != "yes":
                return
            seconds = self.timing.get("more", step.more_seconds if step else None)
            self.give_floor()
            self._instruct(self.texts.lines("more_floor", duration=self.texts.duration(seconds),
                                            **self._roles()))
            self._speaker.chime(Chime.TURN_START)
            yield Wait("floor", FLOOR_ENDS, talker=self.speaker_name, limit=seconds,
                       silence=self._silence(None), nudge=self._nudge(None))
            self._say_lines(self.texts.lines("time_up", **self._roles()))

    def _mirror(self, step: Step | None) -> Generator[Wait, Outcome, bool]:
        """One mirror with its attempts; True when the speaker confirmed it."""
        attempts = int(self.timing.attempts if step is None or step.attempts is None
                       else step.attempts)
        seconds = self.timing.get("mirror", step.seconds if step else None)
        for attempt in range(1, attempts + 1):
            self.ask_mirror()
            self.mirror_attempts += 1
            if attempt == 1:
                prompt = self._fmt(step.text) if step else []
            else:
                prompt = self.texts.lines("mirror_again", **self._roles())
            self._instruct(prompt)
            yield Wait("floor", FLOOR_ENDS, talker=self.listener_name, limit=seconds,
                       silence=self._silence(None), nudge=self._nudge(None))
            self.ask_confirmation()
            confirm = (self._fmt(step.confirm) if step and step.confirm
                       else self.texts.lines("confirm", **self._roles()))
            answer = yield from self._ask_yes_no(confirm, talker=self.speaker_name)
            if answer == "yes":
                self.mirrors_confirmed += 1
                self._say_lines(self.texts.lines("mirror_confirmed", **self._roles()))
                return True
            if answer == "default":
                self._say_lines(self.texts.lines("answer_default"))
                return False
            if attempt == attempts:
                self._say_lines(self.texts.lines("mirror_gave_up"))
                return False
            self.ask_clarification()
            clarify = (self._fmt(step.clarify) if step and step.clarify
                       else self.texts.lines("clarify", **self._roles()))
            self._instruct(clarify)
            yield Wait("floor", FLOOR_ENDS, talker=self.speaker_name,
                       limit=self.timing.get("clarify", step.clarify_seconds if step else None),
                       silence=self._silence(None), nudge=self._nudge(None))
        return False

    def _ask_yes_no(self, question: list[str], talker: str | None,
                    seconds: float | None = None) -> Generator[Wait, Outcome, str]:
        """Ask a ja/nee question; 'yes', 'no' or 'default' (nobody answered)."""
        self._instruct(question)
        outcome = yield Wait("answer", ANSWERS, talker=talker,
                             limit=self.timing.get("answer", seconds), question=tuple(question))
        return outcome.reason

    def _step_ask(self, step: Step) -> StepRun:
        self._interacted = True
        self.ask_question()
        if step.to == "each":
            answers = []
            for name in self.names:
                question = self._fmt(step.text, name=name)
                answers.append((yield from self._ask_yes_no(question, name, step.seconds)))
            if "no" in answers:
                answer = "no"
            elif "yes" in answers:
                answer = "yes"
            else:
                answer = "default"
        else:
            talker = {"speaker": self.speaker_name, "listener": self.listener_name}.get(step.to)
            answer = yield from self._ask_yes_no(self._fmt(step.text), talker, step.seconds)
        if answer == "default":
            self._say_lines(self.texts.lines("answer_default"))
            answer = step.default
        chosen = step.yes if answer == "yes" else step.no
        if chosen.say:
            self._instruct(self._fmt(chosen.say))
        return None if chosen.then == "continue" else chosen.then

    def _step_discuss(self, step: Step) -> StepRun:
        self._interacted = True
        limit = self.timing.get("discuss", step.seconds)
        self.open_discussion()
        self._instruct([*self._fmt(step.text),
                        self.texts.line("floor_shared", duration=self.texts.duration(limit))])
        self._speaker.chime(Chime.TURN_START)
        outcome = yield Wait("floor", FLOOR_ENDS, limit=limit,
                             warn_at=tuple(w for w in self.timing.warnings(step.warn_at)
                                           if w < limit),
                             silence=self._silence(step.silence_seconds,
                                                   self.timing.discuss_silence),
                             nudge=self._nudge(step))
        if outcome.reason == "expired":
            self._say_lines(self.texts.lines("time_up_shared"))
        elif outcome.reason == "silence":
            self._say_lines(self.texts.lines("silence_end_shared"))
        return None

    def _step_reflect(self, step: Step) -> StepRun:
        self._interacted = True
        self.start_reflection()
        self._instruct(self._fmt(step.text))
        outcome = yield Wait("quiet", FLOOR_ENDS, limit=self.timing.get("reflect", step.seconds))
        if outcome.reason == "expired":
            self._say_lines(self.texts.lines("reflect_end"))
        return None

    def _step_agree(self, step: Step) -> StepRun:
        self._interacted = True
        self.ask_agreement()
        for number in range(1, (step.count or 1) + 1):
            self._instruct(self._fmt(step.text) if number == 1
                           else self.texts.lines("agreement_next"))
            self._speaker.chime(Chime.TURN_START)
            outcome = yield Wait("floor", FLOOR_ENDS, limit=self.timing.get("agree", step.seconds),
                                 silence=self._silence(None), nudge=self._nudge(None),
                                 collect=True)
            text = " ".join(outcome.texts).strip()
            if text:
                self.agreements.append(text)
                self._say_lines(self.texts.lines("agreement_heard", agreement=text))
            elif outcome.talked > 0:
                self.agreements.append(self.texts.line("agreement_placeholder",
                                                       number=len(self.agreements) + 1))
                self._say_lines(self.texts.lines("agreement_unheard"))
            else:
                self._say_lines(self.texts.lines("agreement_none"))
        return None

    # --- waits and their deadlines -----------------------------------------------------------

    def _begin(self, wait: Wait) -> None:
        now = self._clock.now()
        active = _Active(wait=wait, started=now, last_activity=now, phase=self.phase)
        if wait.limit is not None:
            key = "reprompt" if wait.kind == "answer" else "expire"
            active.deadlines[key] = now + wait.limit
            for left in wait.warn_at:
                active.deadlines[f"warn:{left:g}"] = now + wait.limit - left
        self._active = active
        self.wait_serial += 1

    def _pending_deadlines(self, active: _Active) -> dict[str, float]:
        pending = dict(active.deadlines)
        wait = active.wait
        if active.speaking_since is None:
            if wait.silence is not None:
                pending["silence"] = active.last_activity + wait.silence
            if wait.nudge is not None and not active.nudged and (
                    wait.silence is None or wait.nudge < wait.silence):
                pending["nudge"] = active.last_activity + wait.nudge
        elif wait.chunk is not None:
            pending["chunk"] = active.speaking_since + max(0.0, wait.chunk - active.talked)
        return pending

    def _fire(self, name: str) -> None:
        active = self._active
        assert active is not None
        now = self._clock.now()
        active.deadlines.pop(name, None)
        wait = active.wait
        if name.startswith("warn:"):
            left = float(name.split(":", 1)[1])
            self._emit(TimerFired("warning", left, wait.talker))
            self._speaker.chime(Chime.WARNING)
            self._say_lines(self.texts.lines("warning", duration=self.texts.duration(left)))
        elif name == "expire":
            self._emit(TimerFired("expired", 0, wait.talker))
            self._speaker.chime(Chime.TIME_UP)
            if active.speaking_since is not None:
                self._count_speech(active, now - active.speaking_since)
            self._finish_wait(Outcome("expired", active.talked, tuple(active.texts), 0.0))
        elif name == "nudge":
            active.nudged = True
            self._say_lines(self.texts.lines("nudge"))
        elif name == "silence":
            self._finish_wait(Outcome("silence", active.talked, tuple(active.texts),
                                      active.remaining(now)))
        elif name == "chunk":
            if active.speaking_since is not None:
                self._count_speech(active, now - active.speaking_since)
            active.speaking_since = now
            self._finish_wait(Outcome("chunk", active.talked, tuple(active.texts),
                                      active.remaining(now)))
        elif name == "reprompt":
            self._reprompt(active)
        elif name == "pause_reminder":
            self._say_lines(self.texts.lines("paused_reminder"))
        elif name == "pause_limit":
            self._say_lines(self.texts.lines("paused_too_long"))
            self._stop(announce=False)
        elif name == "break_almost":
            self._say_lines(self.texts.lines("break_almost"))
        elif name == "break_end":
            self._end_hold()

    def _reprompt(self, active: _Active) -> None:
        """Ask a question again, at most ``reprompts`` times; then take the default."""
        if active.reprompts >= self.timing.reprompts:
            self._finish_wait(Outcome("default", active.talked))
            return
        active.reprompts += 1
        self._say_lines([*self.texts.lines("answer_reprompt"), *active.wait.question])
        active.deadlines["reprompt"] = self._clock.now() + (active.wait.limit or 0)

    def _finish_wait(self, outcome: Outcome) -> None:
        self._active = None
        self._advance(outcome)

    def _count_speech(self, active: _Active, seconds: float) -> None:
        if seconds <= 0 or active.wait.kind in ("paused", "break", "quiet"):
            return
        active.talked += seconds
        if active.wait.talker in self.speaking_seconds:
            self.speaking_seconds[active.wait.talker] += seconds

    def _on_speech(self, active: _Active, text: str) -> None:
        """Free speech (not a command) was heard."""
        if active.wait.collect and text.strip():
            active.texts.append(text.strip())
        if active.wait.kind == "answer":
            self._reprompt(active)

    def _on_command(self, active: _Active, intent: Intent) -> None:
        if intent in active.wait.ends_on:
            if active.speaking_since is not None:
                self._count_speech(active, self._clock.now() - active.speaking_since)
            reason = intent.value if intent in ANSWERS else "done"
            self._finish_wait(Outcome(reason, active.talked, tuple(active.texts),
                                      active.remaining(self._clock.now())))
        elif intent is Intent.REPEAT:
            if self._last_instruction:
                self._say_lines(self._last_instruction, remember=False)
            else:
                self._say_lines(self.texts.lines("nothing_to_repeat"))
        elif intent is Intent.HELP:
            self._help()
        elif intent in (Intent.SLOWER, Intent.FASTER):
            changed = self._speaker.change_pace(faster=intent is Intent.FASTER)
            key = ("faster_ok" if intent is Intent.FASTER else "slower_ok") if changed \
                else "pace_limit"
            self._say_lines(self.texts.lines(key))
        elif intent is Intent.PAUSE:
            self._hold(active)
            self.pause()
        elif intent is Intent.TIMEOUT:
            if active.wait.kind != "paused":
                self._hold(active)
            self.take_break()
        elif intent is Intent.RESUME:
            self._end_hold()
        elif intent is Intent.STOP:
            self._stop()

    def _help(self) -> None:
        intents = self.listening().intents
        parts = []
        if ANSWERS <= intents:
            parts.append(self.texts.line("help_yes"))
        order = [Intent.DONE, Intent.RESUME, Intent.NEXT, Intent.REPEAT, Intent.PAUSE,
                 Intent.TIMEOUT, Intent.STOP]
        seen = set(parts)
        for intent in order:
            if intent in intents and intent in self.texts.help:
                if intent is Intent.NEXT and Intent.DONE in intents:
                    continue
                phrase = self.texts.help[intent]
                if phrase not in seen:
                    parts.append(phrase)
                    seen.add(phrase)
        joined = self.texts.line("help_join").join(parts[:-1])
        listing = f"{joined}{self.texts.line('help_last')}{parts[-1]}" if joined else parts[-1]
        self._say_lines([self.texts.line("help_intro"), f"{listing}."], remember=False)

    # --- pause, break and stop ---------------------------------------------------------------

    def _hold(self, active: _Active) -> None:
        """Freeze the exercise's wait so it can resume with exactly the time it had left."""
        if active.speaking_since is not None:
            self._count_speech(active, self._clock.now() - active.speaking_since)
        self._held, self._held_at = active, self._clock.now()
        self._returns_to = active.phase

    def _is_returning_to(self, phase: Phase) -> bool:
        return self._returns_to == phase

    def _enter_paused(self) -> None:
        self._speaker.chime(Chime.PAUSED)
        self._say_lines(self.texts.lines("paused"))
        limit = self.timing.pause_limit
        self._begin(Wait("paused", frozenset()))
        now = self._clock.now()
        assert self._active is not None
        self._active.deadlines.update(pause_reminder=now + limit / 2, pause_limit=now + limit)

    def _enter_break(self) -> None:
        length = self.timing.get("break")
        back_at = self._clock.wall() + dt.timedelta(seconds=length)
        self._say_lines(self.texts.lines("break_start", duration=self.texts.duration(length)))
        self._say_lines(self.texts.lines("break_breathe"))
        self._say_lines(self.texts.lines("break_return", time=back_at.strftime("%H:%M")))
        self._begin(Wait("break", frozenset()))
        now = self._clock.now()
        assert self._active is not None
        self._active.deadlines["break_end"] = now + length
        if length > 120:
            self._active.deadlines["break_almost"] = now + length - 60

    def _end_hold(self) -> None:
        """Back from pause or break: the held wait continues with the time it had left."""
        held = self._held
        assert held is not None
        came_from_break = self.phase is Phase.BREAK
        if came_from_break:
            self._say_lines(self.texts.lines("break_over"))
        else:
            self._say_lines(self.texts.lines("resumed"))
        self._active = None
        self.resume()
        held.shift(self._clock.now() - self._held_at)
        self._held = None
        self._active = held
        self.wait_serial += 1
        left = held.remaining(self._clock.now())
        if held.wait.kind == "answer":
            self._say_lines(list(held.wait.question))
            held.deadlines["reprompt"] = self._clock.now() + (held.wait.limit or 0)
        elif left is not None and held.wait.kind == "floor":
            key = "resumed_time_left" if held.wait.talker else "resumed_time_left_shared"
            self._say_lines(self.texts.lines(key, duration=self.texts.duration(left),
                                             speaker=held.wait.talker))
        elif came_from_break and self._last_instruction:
            self._say_lines(self._last_instruction, remember=False)
        if held.wait.kind == "floor":
            self._speaker.chime(Chime.TURN_START)

    def _stop(self, announce: bool = True) -> None:
        if announce:
            self._say_lines(self.texts.lines("stopping"))
        self._active = None
        self._held = None
        if self._steps is not None:
            self._steps.close()
        self._close(stopped=True)

    def _close(self, stopped: bool) -> None:
        self.close()
        if not stopped:
            self._say_lines(list(self._fmt(self.exercise.closing)) if self.exercise.closing
                            else [])
            self._say_lines(self.texts.lines("closing"))
        if self.agreements:
            self._say_lines([self.texts.line("agreements_intro"), *self.agreements])
        self._say_lines(self.texts.lines("goodbye"))
        self.end_reason = "stopped" if stopped else "finished"
        self.finish()
        self._emit(Ended(self.end_reason))
        self._emit(self.summary())

    def summary(self) -> Summary:
        """What happened so far."""
        return Summary(dict(self.speaking_seconds), self.mirror_attempts, self.mirrors_confirmed,
                       list(self.agreements))

    # --- helpers ------------------------------------------------------------------------------

    def _log_phase(self) -> None:
        phase = self.phase
        if phase is Phase.IDLE:
            return
        if phase in ROLE_PHASES:
            self._emit(PhaseChanged(phase.value, self.speaker_name, self.listener_name))
        else:
            self._emit(PhaseChanged(phase.value))

    def _emit(self, event: LogEvent) -> None:
        self._log(event)

    def _say_lines(self, lines: Iterable[str], remember: bool = False) -> None:
        lines = list(lines)
        for line in lines:
            self._emit(Said(line))
            self._speaker.say(line)
        if remember:
            self._last_instruction = lines

    def _instruct(self, lines: Iterable[str]) -> None:
        """Say an instruction and remember it for 'herhaal'."""
        self._say_lines(lines, remember=True)

    def _to_instructing(self) -> None:
        """Narration between interactive steps is 'instructing'; before the first, 'intro'."""
        if self._interacted and self.phase is not Phase.INSTRUCTING:
            self.instruct()

    def _roles(self) -> dict[str, str]:
        return {"speaker": self.speaker_name, "listener": self.listener_name}

    def _fmt(self, lines: Iterable[str], **extra: str) -> list[str]:
        values = {**self._roles(), **extra}
        return [line.format(**values) for line in lines]

    def _silence(self, step_value: float | None,
                 default: float | None = None) -> float | None:
        if not self.timing.silence_ends_turns:
            return None
        return self.timing.get("silence", step_value, default)

    def _nudge(self, step: Step | None) -> float | None:
        if not self.timing.silence_ends_turns:
            return None
        return self.timing.get("nudge", step.nudge_seconds if step else None)

    def _foreseeable_lines(self) -> list[str]:
        """Sentences this session will probably say: rendered ahead by a speaker that can."""
        lines: list[str] = []
        for first, second in (self.names, self.names[::-1]):
            roles = {"speaker": first, "listener": second}
            for step in self.exercise.steps:
                for line in (*step.text, *(step.confirm or ()), *(step.clarify or ())):
                    lines.append(line.format(name=first, **roles))
            for key in ("time_up", "confirm", "clarify", "mirror_again", "mirror_confirmed"):
                lines.extend(self.texts.lines(key, **roles))
        for key in ("nudge", "answer_reprompt", "answer_default", "paused", "resumed"):
            lines.extend(self.texts.lines(key))
        return list(dict.fromkeys(lines))


def _names(source: Phase | list[Phase]) -> list[str]:
    """Phase names for the machine (it would take an enum's member names, not its values)."""
    return [p.value for p in (source if isinstance(source, list) else [source])]


def with_overrides(timing: Timing, overrides: dict[str, float]) -> Timing:
    """A copy of ``timing`` with command-line overrides applied."""
    return replace(timing, overrides=tuple(overrides.items()))
