"""The conversation engine: one exercise, two partners, a phase machine and turn timers.

The session is sans-I/O, like h11: a driver hands it inputs (:meth:`Session.handle`), calls
:meth:`Session.tick` when :meth:`Session.next_deadline` has passed, and carries out the effects
each call returns — say this, play that chime, log this event, speak at this pace, cut the
speech, listen for this. It never calls a speaker, a device or a clock of its own: time comes
from an injected clock, so a simulated 20-minute session runs in milliseconds.

Speech never holds the session up. A :class:`~assistant.engine.messages.Say` goes out and the
session carries on; the driver reports :class:`~assistant.engine.messages.PromptPlayed` when the
couple has heard it. Timers that run keep running while a prompt plays; a wait that begins
behind a prompt starts its clock once the prompt has been heard.

The parts: :mod:`~assistant.engine.steps` (the step kinds), :mod:`~assistant.engine.waits`
(waits and deadlines), :mod:`~assistant.engine.commands` (commands that work everywhere),
:mod:`~assistant.engine.hold` (pause and break), :mod:`~assistant.engine.stats` (what is counted).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from assistant.engine.clock import Clock
from assistant.engine.commands import Commands
from assistant.engine.deadlines import Alarms
from assistant.engine.exercises import Exercise
from assistant.engine.hold import Holding
from assistant.engine.intents import IntentMatcher
from assistant.engine.messages import (
    AdjustTime,
    Announce,
    Chime,
    Effect,
    Ended,
    Heard,
    Intent,
    KeyCommand,
    Listen,
    Log,
    LogEvent,
    PhaseChanged,
    Proceed,
    PromptPlayed,
    RaisedVoices,
    SessionInput,
    SpeechEnded,
    SpeechStarted,
    Stop,
    Summary,
)
from assistant.engine.offer import BreakOffer
from assistant.engine.outbox import Outbox
from assistant.engine.phases import (
    PROCEED_ORDER,
    ROLE_PHASES,
    Phase,
    build_machine,
)
from assistant.engine.practice import Practice, PracticeSteps
from assistant.engine.resume import ResumePoint, snapshot
from assistant.engine.stats import Statistics
from assistant.engine.steps import StepRun, StepRunner
from assistant.engine.texts import Texts
from assistant.engine.timing import Timing
from assistant.engine.view import SessionView, view_of
from assistant.engine.waits import ActiveWait, Deadline, Outcome, Wait, WaitKind

_LOGGER = logging.getLogger(__name__)


@dataclass
class Roles:
    """Who has the floor and who listens; a swap step turns them around."""

    speaker: str
    """The partner who speaks."""
    listener: str
    """The partner who listens and mirrors."""

    def swap(self) -> None:
        """The listener becomes the speaker."""
        self.speaker, self.listener = self.listener, self.speaker

    def map(self) -> dict[str, str]:
        """``{speaker}`` and ``{listener}`` for the texts."""
        return {"speaker": self.speaker, "listener": self.listener}


class Session:
    """One run of one exercise for two partners."""

    state: str  # set by the phase machine

    def __init__(self, exercise: Exercise, names: tuple[str, str], texts: Texts, clock: Clock,
                 timing: Timing | None = None, notices: Iterable[str] = (),
                 pace_adjustable: bool = True, practice: Practice | None = None,
                 resume: ResumePoint | None = None) -> None:
        """``pace_adjustable`` is False where speech has no pace (printed text); ``practice``
        is what the couple's history brings (None: no history, nothing is said of one);
        ``resume`` is where an earlier run of this session was (None: start at the start)."""
        self.exercise = exercise
        self.names = names
        self.texts = texts
        self.timing = timing or Timing()
        self.roles = Roles(*names)
        self.stats = Statistics.for_names(names)
        self.holding = Holding(self)
        self.end_reason: str | None = None
        self.wait_serial = 0
        """Goes up whenever another wait begins or a held one comes back."""
        self._notices = list(notices)
        self._clock = clock
        self.matcher = IntentMatcher(texts, names)
        """Utterances to commands, for these partners' names."""
        self._commands = Commands(self, pace_adjustable)
        self.alarms = Alarms(self)
        self._offer = BreakOffer(self)
        self.practice = PracticeSteps(self, practice) if practice is not None else None
        """The read-back and the question about keeping agreements (None: no history)."""
        self.resume_point = resume
        """Where an earlier run stopped, until it is settled whether to go on there."""
        self._runner = StepRunner(self)
        self._out = Outbox()
        self._listen_sent: Listen | None = None
        self._active: ActiveWait | None = None
        self._last_instruction: list[str] = []
        self._steps: StepRun | None = None
        self.machine = build_machine(self, self.holding.returns_to)

    # --- the driver's side -----------------------------------------------------------------

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

    @property
    def speaking(self) -> bool:
        """True while a prompt or chime the session asked for has not been heard yet."""
        return self._out.speaking

    def start(self) -> list[Effect]:
        """Greet the couple and run until the first wait."""
        self.introduce()
        names = self.names
        self.say(self.texts.lines("welcome", title=self.exercise.title, speaker=names[0],
                                  listener=names[1]))
        self.say(self.texts.lines("how_it_works"))
        self.say(self._notices)
        self._steps = self._runner.run()
        self._advance(None)
        return self._flush()

    def handle(self, item: SessionInput) -> list[Effect]:
        """Take one input; the effects to carry out."""
        if isinstance(item, PromptPlayed):
            if self._out.heard(item.prompt):
                self._prompts_heard()
        elif isinstance(item, Announce):
            self.say([item.text])
        elif isinstance(item, Stop):
            self.stop()
        elif isinstance(item, RaisedVoices):
            self._offer.raised(self._active)
        elif isinstance(item, Proceed):
            allowed = self.allowed()
            intent = next((i for i in PROCEED_ORDER if i in allowed), None)
            self._take(KeyCommand(intent) if intent else Heard(""))
        else:
            self._take(item)
        return self._flush()

    def next_deadline(self) -> float | None:
        """When :meth:`tick` must be called next (clock seconds), or None."""
        pending = self._active.pending() if self._active else {}
        return min(pending.values()) if pending else None

    def tick(self) -> list[Effect]:
        """Fire every deadline that has passed; the effects to carry out."""
        while self._active is not None:
            pending = self._active.pending()
            if not pending:
                break
            deadline, when = min(pending.items(), key=lambda kv: kv[1])
            if when > self.now():
                break
            self.alarms.ring(self._active, deadline)
        return self._flush()

    def listening(self) -> Listen:
        """What is worth listening for now (also sent as an effect whenever it changes)."""
        active = self._active
        collect = active is not None and active.wait.collect
        short = active is not None and active.wait.kind is WaitKind.ANSWER
        return Listen(tuple(self.matcher.phrases_for(self.allowed())),
                      tuple(self.matcher.fillers), collect, short)

    def allowed(self) -> frozenset[Intent]:
        """The commands that can be acted upon now."""
        return self._active.wait.allowed() if self._active else frozenset()

    def summary(self) -> Summary:
        """What happened so far."""
        return self.stats.summary()

    def view(self) -> SessionView:
        """What a screen shows now (read-only; :mod:`~assistant.engine.view`)."""
        return view_of(self, self._active, self._runner.index)

    def snapshot(self) -> ResumePoint | None:
        """Where the session is now, for a resume (None: still asked whether to go back)."""
        return None if self.resume_point is not None else snapshot(self, self._runner.index)

    # --- for the steps, the commands and the hold --------------------------------------------

    def now(self) -> float:
        """Seconds on the session clock."""
        return self._clock.now()

    def wall_in(self, seconds: float) -> dt.datetime:
        """The wall-clock time ``seconds`` from now."""
        return self._clock.wall() + dt.timedelta(seconds=seconds)

    def effect(self, effect: Effect) -> None:
        """Queue an effect for the driver."""
        self._out.add(effect)

    def emit(self, event: LogEvent) -> None:
        """Log an event."""
        self._out.add(Log(event))

    def say(self, lines: Iterable[str], remember: bool = False, private: bool = False) -> None:
        """Say each line; with ``remember``, 'herhaal' says them again; ``private``: they
        hold the couple's own words (never cached)."""
        lines = list(lines)
        for line in lines:
            self._out.say(line, private)
        if remember:
            self._last_instruction = lines

    def tell(self, lines: Iterable[str]) -> None:
        """Say an instruction and remember it for 'herhaal'."""
        self.say(lines, remember=True)

    @property
    def last_instruction(self) -> list[str]:
        """What 'herhaal' says now."""
        return list(self._last_instruction)

    @last_instruction.setter
    def last_instruction(self, lines: list[str]) -> None:
        self._last_instruction = list(lines)

    def repeat(self, quiet: bool = False) -> None:
        """Say the last instruction again (``quiet``: nothing when there is none)."""
        if self._last_instruction:
            self.say(self._last_instruction)
        elif not quiet:
            self.say(self.texts.lines("nothing_to_repeat"))

    def chime(self, chime: Chime) -> None:
        """Play a chime after what is queued."""
        self._out.chime(chime)

    def play_recording(self, path: str, text: str) -> None:
        """Play a recording of the couple (``text`` is what it says, for the log and a screen)."""
        self._out.recording(path, text)

    def cut_speech(self) -> None:
        """Cut the prompt that plays and drop the queued ones: something more urgent follows."""
        if self._out.cut():
            self._prompts_heard()

    def fmt(self, lines: Iterable[str], **extra: str) -> list[str]:
        """Fill in ``{speaker}``, ``{listener}`` and ``extra`` in the exercise's lines."""
        values = {**self.roles.map(), **extra}
        return [line.format(**values) for line in lines]

    def begin(self, wait: Wait, alarms: dict[Deadline, float] | None = None) -> None:
        """Start waiting; ``alarms`` are extra deadlines, in seconds from the start."""
        now = self.now()
        active = ActiveWait.begin(wait, now, self.phase)
        for deadline, seconds in (alarms or {}).items():
            active.deadlines[deadline] = now + seconds
        self.restore(active)

    def restore(self, active: ActiveWait) -> None:
        """Make ``active`` the wait; its clock starts once what is being said has been heard."""
        self._active = active
        self.wait_serial += 1
        if self._out.speaking:
            active.hold(self.now())

    def drop_wait(self) -> None:
        """No wait any more (the hold takes over)."""
        self._active = None

    def count_speech(self, active: ActiveWait, seconds: float) -> None:
        """Add speech to a wait and to its talker, where the wait counts talk."""
        if seconds > 0 and active.wait.counts_talk:
            active.talked += seconds
            self.stats.count_speech(active.wait.talker, seconds, self.now())

    def stop(self, announce: bool = True) -> None:
        """End at once, kindly, with the summary (a command, Ctrl-C, a lost device)."""
        if self.phase in (Phase.IDLE, Phase.CLOSING, Phase.DONE):
            return
        if announce:
            self.cut_speech()
            self.say(self.texts.lines("stopping"))
        self._active = None
        self.holding.clear()
        self._offer.clear()
        if self._steps is not None:
            self._steps.close()
        self._close(stopped=True)

    # --- inputs ------------------------------------------------------------------------------

    def _take(self, item: Heard | SpeechStarted | SpeechEnded | KeyCommand | AdjustTime) -> None:
        if self._active is not None:
            self._commands.take(self._active, item)

    def _prompts_heard(self) -> None:
        if self._active is not None:
            self._active.release(self.now())

    def finish_wait(self, outcome: Outcome) -> None:
        """The wait at hand is over: on with the steps, or to whoever asked outside them."""
        active, self._active = self._active, None
        if active is not None and active.wait.then is not None:
            active.wait.then(outcome)
        else:
            self._advance(outcome)

    def _advance(self, outcome: Outcome | None) -> None:
        """Run the steps until they wait again, or close the session when they are through."""
        assert self._steps is not None, "start() runs the steps"
        try:
            wait = self._steps.send(outcome) if outcome is not None else next(self._steps)
        except StopIteration:
            self._active = None
            self._close(stopped=False)
            return
        self.begin(wait)

    def _close(self, stopped: bool) -> None:
        self.close()
        self._runner.closing(stopped)
        self.end_reason = "stopped" if stopped else "finished"
        self.finish()
        self.emit(Ended(self.end_reason))
        self.emit(self.summary())

    def _flush(self) -> list[Effect]:
        if not self.done:
            listen = self.listening()
            if listen != self._listen_sent:
                self._listen_sent = listen
                self._out.add(listen)
        return self._out.drain()

    # --- phase machine callbacks -----------------------------------------------------------

    def _log_phase(self) -> None:
        phase = self.phase
        if phase is Phase.IDLE:
            return
        if phase in ROLE_PHASES:
            self.emit(PhaseChanged(phase.value, self.roles.speaker, self.roles.listener))
        else:
            self.emit(PhaseChanged(phase.value))

    def _enter_paused(self) -> None:
        self.holding.enter_paused()

    def _enter_break(self) -> None:
        self.holding.enter_break()
