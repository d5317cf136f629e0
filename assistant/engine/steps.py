"""The step kinds of an exercise: each a small generator that speaks, moves the phase machine and
yields a :class:`~assistant.engine.waits.Wait`, answered with an
:class:`~assistant.engine.waits.Outcome`.

A new step kind is one method ``_step_<kind>`` here and its fields in
:mod:`assistant.engine.exercises`.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from assistant.engine.exercises import Answer, Exercise, Step
from assistant.engine.messages import Chime
from assistant.engine.phases import ANSWERS, FLOOR_ENDS, READY, Phase
from assistant.engine.resume import go_back
from assistant.engine.texts import Texts
from assistant.engine.waits import Outcome, Reason, Wait, WaitKind

if TYPE_CHECKING:
    from assistant.engine.session import Session

MAX_MORE_ROUNDS = 3
"""How often 'is er meer?' can lead to another round of speaking and mirroring."""

END = "end"
"""A jump target that ends the exercise."""

SAY_WAIT_SECONDS = 20.0
"""How long a ``say`` with ``wait = true`` waits for 'verder' before it goes on by itself."""

StepRun = Generator[Wait, Outcome, str | None]
"""A running step: yields waits, receives outcomes, returns a step id to jump to (or None)."""


class StepRunner:
    """Runs the steps of the session's exercise in order, following jumps."""

    def __init__(self, session: Session) -> None:
        self._s = session
        self._interacted = False
        self.ended_early = False
        """True when an answer ended the exercise (then = "end"): nothing is praised."""
        self.index = 0
        """The step being run (0-based): where a resumed session goes back to."""

    def run(self) -> StepRun:
        """All steps, one after another; returns when the exercise is through.

        A session that resumes goes back to its step first (after asking, where it asks)."""
        steps = self._s.exercise.steps
        self.index = 0
        point = self._s.resume_point
        if point is not None and (yield from go_back(self._s, point)):
            self.index, self._interacted = point.step, True
        elif self._s.practice is not None:
            yield from self._s.practice.opening()
        while self.index < len(steps):
            step = steps[self.index]
            jump = yield from getattr(self, f"_step_{step.kind}")(step)
            if jump == END:
                self.ended_early = True
                return None
            if jump:
                self.index = next(i for i, s in enumerate(steps) if s.id == jump)
            else:
                self.index += 1
        return None

    def closing(self, stopped: bool) -> None:
        """The last words: the exercise's closing (when it was finished), the agreements, bye.

        A couple that declined or stopped hears no praise for work they did not do."""
        s = self._s
        if not stopped and not self.ended_early:
            s.say(s.fmt(s.exercise.closing) if s.exercise.closing else [])
            s.say(s.texts.lines("closing"))
        if s.stats.agreements:
            s.say([s.texts.line("agreements_intro")])
            s.say(s.stats.agreements, private=True)
        s.say(s.texts.lines("goodbye"))

    # --- narration ------------------------------------------------------------------------------

    def _narrate(self) -> None:
        """Narration between interactive steps is 'instructing'; before the first, 'intro'."""
        if self._interacted and self._s.phase is not Phase.INSTRUCTING:
            self._s.instruct()

    def _step_say(self, step: Step) -> StepRun:
        s = self._s
        self._narrate()
        if not step.wait:
            s.tell(s.fmt(step.text))
            return None
        s.tell([*s.fmt(step.text), *s.texts.lines("go_on")])
        yield Wait(WaitKind.QUIET, READY,
                   limit=s.timing.get("wait", step.seconds, SAY_WAIT_SECONDS))
        return None

    def _step_swap(self, step: Step) -> StepRun:
        s = self._s
        s.roles.swap()
        self._narrate()
        s.tell(s.fmt(step.text) if step.text else s.texts.lines("swap_default", **s.roles.map()))
        return None
        yield  # pragma: no cover - makes this a generator

    # --- one partner has the floor ----------------------------------------------------------------

    def _step_turn(self, step: Step) -> StepRun:
        s, timing = self._s, self._s.timing
        self._interacted = True
        limit = timing.get("turn", step.seconds)
        chunk = timing.get("chunk", step.chunk_seconds) if (
            step.chunk_seconds is not None or timing.chunk is not None) else None
        warn_at = timing.warnings(step.warn_at)
        s.give_floor()
        s.tell([*s.fmt(step.text), s.texts.line("floor", duration=s.texts.duration(limit),
                                                 **s.roles.map())])
        yield from self._floor(limit, warn_at, chunk, step)
        return None

    def _floor(self, limit: float, warn_at: tuple[float, ...], chunk: float | None,
               step: Step) -> Generator[Wait, Outcome, None]:
        """A partner has the floor, possibly interrupted for mirrors of what was said so far."""
        s = self._s
        remaining = limit
        talked = 0.0
        while True:
            s.chime(Chime.TURN_START)
            outcome = yield Wait(
                WaitKind.FLOOR, FLOOR_ENDS, talker=s.roles.speaker, limit=remaining,
                warn_at=tuple(w for w in warn_at if w < remaining),
                silence=s.timing.silence_for(step.silence_seconds),
                nudge=s.timing.nudge_for(step.nudge_seconds),
                chunk=None if chunk is None else max(0.0, chunk - talked % chunk))
            talked += outcome.talked
            if outcome.reason is not Reason.CHUNK or not outcome.remaining:
                s.say(s.texts.lines("time_up", **s.roles.map()))
                return
            remaining = outcome.remaining
            s.tell(s.texts.lines("chunk_pause", **s.roles.map()))
            yield from self._mirror_rounds(step=None, more=False)
            s.give_floor()
            s.tell(s.texts.lines("chunk_back", duration=s.texts.duration(remaining),
                                 **s.roles.map()))

    def _plain_floor(self, talker: str | None, limit: float) -> Wait:
        """A floor with the usual silence handling and no warnings."""
        timing = self._s.timing
        return Wait(WaitKind.FLOOR, FLOOR_ENDS, talker=talker, limit=limit,
                    silence=timing.silence_for(None), nudge=timing.nudge_for(None))

    # --- mirroring ------------------------------------------------------------------------------

    def _step_mirror(self, step: Step) -> StepRun:
        self._interacted = True
        confirmed = yield from self._mirror_rounds(step, more=step.more)
        return step.confirmed_then if confirmed else None

    def _mirror_rounds(self, step: Step | None, more: bool) -> Generator[Wait, Outcome, bool]:
        """Mirror, confirm, clarify; with 'more', as long as the speaker has more to say.
        True when the last mirror was confirmed."""
        s = self._s
        confirmed = False
        for _ in range(MAX_MORE_ROUNDS + 1):
            confirmed = yield from self._mirror(step)
            if not (confirmed and more):
                return confirmed
            s.ask_question()
            answer = yield from self._ask_yes_no(s.texts.lines("more", **s.roles.map()),
                                                 talker=s.roles.speaker)
            if answer is not Reason.YES:
                return confirmed
            seconds = s.timing.get("more", step.more_seconds if step else None)
            s.give_floor()
            s.tell(s.texts.lines("more_floor", duration=s.texts.duration(seconds),
                                 **s.roles.map()))
            s.chime(Chime.TURN_START)
            yield self._plain_floor(s.roles.speaker, seconds)
            s.say(s.texts.lines("time_up", **s.roles.map()))
        return confirmed

    def _mirror(self, step: Step | None) -> Generator[Wait, Outcome, bool]:
        """One mirror with its attempts; True when the speaker confirmed it."""
        s = self._s
        attempts = int(s.timing.attempts if step is None or step.attempts is None
                       else step.attempts)
        seconds = s.timing.get("mirror", step.seconds if step else None)
        for attempt in range(1, attempts + 1):
            s.ask_mirror()
            s.stats.mirror_attempts += 1
            if attempt == 1:
                prompt = s.fmt(step.text) if step else []
            else:
                prompt = s.texts.lines("mirror_again", **s.roles.map())
            s.tell(prompt)
            yield self._plain_floor(s.roles.listener, seconds)
            if step is not None and step.confirm == ():  # the timer's mirror: timed, no question
                return False
            s.ask_confirmation()
            confirm = (s.fmt(step.confirm) if step and step.confirm
                       else s.texts.lines("confirm", **s.roles.map()))
            answer = yield from self._ask_yes_no(confirm, talker=s.roles.speaker)
            if answer is Reason.YES:
                s.stats.mirrors_confirmed += 1
                s.say(s.texts.lines("mirror_confirmed", **s.roles.map()))
                return True
            if answer is Reason.DEFAULT:
                s.say(s.texts.lines("answer_default"))
                return False
            if attempt == attempts:
                s.say(s.texts.lines("mirror_gave_up"))
                return False
            s.ask_clarification()
            clarify = (s.fmt(step.clarify) if step and step.clarify
                       else s.texts.lines("clarify", **s.roles.map()))
            s.tell(clarify)
            yield self._plain_floor(
                s.roles.speaker, s.timing.get("clarify", step.clarify_seconds if step else None))
        return False

    # --- questions --------------------------------------------------------------------------------

    def _ask_yes_no(self, question: list[str], talker: str | None,
                    seconds: float | None = None) -> Generator[Wait, Outcome, Reason]:
        """Ask a ja/nee question; YES, NO or DEFAULT (nobody answered)."""
        self._s.tell(question)
        outcome = yield Wait(WaitKind.ANSWER, ANSWERS, talker=talker,
                             limit=self._s.timing.get("answer", seconds),
                             question=tuple(question))
        return outcome.reason

    def _step_ask(self, step: Step) -> StepRun:
        s = self._s
        self._interacted = True
        s.ask_question()
        if step.to == "each":
            answers = []
            for name in s.names:
                question = s.fmt(step.text, name=name)
                answers.append((yield from self._ask_yes_no(question, name, step.seconds)))
            if step.assign_speaker:
                return self._assign_speaker(step, answers)
            if all(a is Reason.DEFAULT for a in answers):
                answer = Reason.DEFAULT
            else:  # one who did not answer counts with the default: nobody agrees unasked
                given = [Reason(step.default) if a is Reason.DEFAULT else a for a in answers]
                answer = Reason.NO if Reason.NO in given else Reason.YES
        else:
            talker = s.roles.map().get(step.to)
            answer = yield from self._ask_yes_no(s.fmt(step.text), talker, step.seconds)
        if answer is Reason.DEFAULT:
            s.say(s.texts.lines("answer_default"))
            answer = Reason(step.default)
        chosen = step.yes if answer is Reason.YES else step.no
        return self._follow(chosen)

    def _assign_speaker(self, step: Step, answers: list[Reason]) -> str | None:
        """The partner who alone said 'ja' becomes the speaker; nobody gets a role unasked."""
        s = self._s
        if answers == [Reason.YES, Reason.YES]:
            return self._follow(step.both or step.yes)
        if sorted(answers) == sorted([Reason.YES, Reason.NO]):
            speaker = s.names[answers.index(Reason.YES)]
            if s.roles.speaker != speaker:
                s.roles.swap()
            return self._follow(step.yes)
        return self._follow(step.no)

    def _follow(self, chosen: Answer) -> str | None:
        """Say what follows an answer; the step to jump to (None: the next one)."""
        if chosen.say:
            self._s.tell(self._s.fmt(chosen.say))
        return None if chosen.then == "continue" else chosen.then

    # --- together -----------------------------------------------------------------------------

    def _step_discuss(self, step: Step) -> StepRun:
        s, timing = self._s, self._s.timing
        self._interacted = True
        limit = timing.get("discuss", step.seconds)
        s.open_discussion()
        s.tell([*s.fmt(step.text),
                s.texts.line("floor_shared", duration=s.texts.duration(limit))])
        s.chime(Chime.TURN_START)
        outcome = yield Wait(WaitKind.FLOOR, FLOOR_ENDS, limit=limit,
                             warn_at=tuple(w for w in timing.warnings(step.warn_at) if w < limit),
                             silence=timing.silence_for(step.silence_seconds,
                                                        timing.discuss_silence),
                             nudge=timing.nudge_for(step.nudge_seconds))
        if outcome.reason is Reason.EXPIRED:
            s.say(s.texts.lines("time_up_shared"))
        elif outcome.reason is Reason.SILENCE:
            s.say(s.texts.lines("silence_end_shared"))
        return None

    def _step_reflect(self, step: Step) -> StepRun:
        s = self._s
        self._interacted = True
        s.start_reflection()
        s.tell(s.fmt(step.text))
        outcome = yield Wait(WaitKind.QUIET, FLOOR_ENDS,
                             limit=s.timing.get("reflect", step.seconds))
        if outcome.reason is Reason.EXPIRED:
            s.say(s.texts.lines("reflect_end"))
        return None

    def _step_agree(self, step: Step) -> StepRun:
        s = self._s
        self._interacted = True
        s.ask_agreement()
        agreements = s.stats.agreements
        for number in range(1, (step.count or 1) + 1):
            s.tell(s.fmt(step.text) if number == 1 else s.texts.lines("agreement_next"))
            s.chime(Chime.TURN_START)
            outcome = yield Wait(WaitKind.FLOOR, FLOOR_ENDS,
                                 limit=s.timing.get("agree", step.seconds),
                                 silence=s.timing.silence_for(None),
                                 nudge=s.timing.nudge_for(None), collect=True)
            text = " ".join(outcome.texts).strip()
            if text:
                agreements.append(text)
                s.say(s.texts.lines("agreement_heard", agreement=text), private=True)
            elif outcome.talked > 0:
                agreements.append(s.texts.line("agreement_placeholder",
                                               number=len(agreements) + 1))
                s.say(s.texts.lines("agreement_unheard"))
            else:
                s.say(s.texts.lines("agreement_none"))
            if agreements and s.practice is not None:
                yield from s.practice.may_keep()
        return None


def foreseeable_lines(exercise: Exercise, names: tuple[str, str], texts: Texts) -> list[str]:
    """Sentences a session of ``exercise`` will probably say, for a speaker to render ahead."""
    lines: list[str] = []
    for first, second in (names, names[::-1]):
        roles = {"speaker": first, "listener": second}
        for step in exercise.steps:
            for line in (*step.text, *(step.confirm or ()), *(step.clarify or ())):
                lines.append(line.format(name=first, **roles))
        for key in ("time_up", "confirm", "clarify", "mirror_again", "mirror_confirmed",
                    "swap_default"):
            lines.extend(texts.lines(key, **roles))
    for key in ("nudge", "answer_reprompt", "answer_default", "paused", "resumed"):
        lines.extend(texts.lines(key))
    return list(dict.fromkeys(lines))
