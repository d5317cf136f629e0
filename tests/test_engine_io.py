"""The session as a sans-I/O engine, driven by hand on the virtual clock: effects out, inputs in,
and speech that never holds the clock up."""

from __future__ import annotations

from simkit import exercise

from assistant.engine.clock import VirtualClock
from assistant.engine.messages import (
    CutSpeech,
    Effect,
    Heard,
    HeardLogged,
    Intent,
    KeyCommand,
    Listen,
    Log,
    PhaseChanged,
    PlayChime,
    Proceed,
    PromptPlayed,
    Said,
    Say,
    SetPace,
    Stop,
    TimerFired,
)
from assistant.engine.phases import Phase
from assistant.engine.session import Session
from assistant.engine.texts import load_texts
from assistant.engine.timing import PACES, Timing

TURN = """
[[step]]
kind = "turn"
text = "{speaker}, vertel."
seconds = 60
warn_at = [30]
silence_seconds = 100
nudge_seconds = 100

[[step]]
kind = "say"
text = ["Klaar."]
"""


class Driver:
    """A session and a virtual clock; prompts are heard only when the test says so."""

    def __init__(self, steps: str = TURN, **session_args: object) -> None:
        self.clock = VirtualClock()
        self.session = Session(exercise(steps), ("Anna", "Ben"), load_texts("nl"), self.clock,
                               Timing(), **session_args)
        self.effects: list[Effect] = []
        self.unheard: list[int] = []

    def take(self, effects: list[Effect]) -> list[Effect]:
        self.effects += effects
        self.unheard += [e.prompt for e in effects if isinstance(e, Say | PlayChime)]
        return effects

    def start(self) -> list[Effect]:
        return self.take(self.session.start())

    def handle(self, item: object) -> list[Effect]:
        return self.take(self.session.handle(item))

    def hear_all(self) -> None:
        """The speaker reports every prompt asked for so far as heard."""
        while self.unheard:
            self.handle(PromptPlayed(self.unheard.pop(0)))

    def at(self, t: float) -> list[Effect]:
        self.clock.advance_to(t)
        return self.take(self.session.tick())

    def said(self, effects: list[Effect] | None = None) -> list[str]:
        return [e.text for e in (self.effects if effects is None else effects)
                if isinstance(e, Say)]

    def logged(self, kind: type) -> list:
        return [e.event for e in self.effects if isinstance(e, Log) and isinstance(e.event, kind)]


def test_start_returns_effects_and_never_blocks() -> None:
    d = Driver()
    effects = d.start()
    says = [e for e in effects if isinstance(e, Say)]
    texts = load_texts("nl")
    floor = texts.line("floor", duration=texts.duration(60), speaker="Anna", listener="Ben")
    assert [s.text for s in says[-2:]] == ["Anna, vertel.", floor]
    # every sentence is logged just before it is said, and numbered once
    logged = [e.event.text for e in effects if isinstance(e, Log) and isinstance(e.event, Said)]
    assert logged == [s.text for s in says]
    numbers = [e.prompt for e in effects if isinstance(e, Say | PlayChime)]
    assert len(numbers) == len(set(numbers)) and numbers == sorted(numbers)
    assert [e.chime.value for e in effects if isinstance(e, PlayChime)] == ["turn_start"]
    assert d.session.phase is Phase.SPEAKING and d.session.speaking


def test_a_wait_behind_a_prompt_starts_its_clock_once_the_prompt_is_heard() -> None:
    d = Driver()
    d.start()
    assert d.session.waiting and d.session.next_deadline() is None  # nothing runs yet
    d.at(25.0)  # the welcome and the instruction take 25 s to say
    assert not d.logged(TimerFired)
    d.hear_all()
    assert not d.session.speaking
    assert d.session.next_deadline() == 25.0 + 30  # the warning, 30 s before the end
    d.at(55.0)
    assert d.logged(TimerFired) == [TimerFired("warning", 30, "Anna")]


def test_timers_fire_on_time_while_a_prompt_plays() -> None:
    d = Driver()
    d.start()
    d.hear_all()
    warning = d.at(30.0)
    assert "Nog een halve minuut." in d.said(warning)
    # the warning is still being spoken when the turn runs out: time up comes on time anyway
    assert d.session.speaking and d.session.next_deadline() == 60.0
    expired = d.at(60.0)
    assert TimerFired("expired", 0, "Anna") in [e.event for e in expired if isinstance(e, Log)]
    assert "Dank je, Anna." in d.said(expired)


def test_a_command_during_a_prompt_is_handled_at_once_and_stop_cuts_the_prompt() -> None:
    d = Driver()
    d.start()
    assert d.session.speaking  # the welcome is still playing
    effects = d.handle(Heard("stop"))
    assert isinstance(effects[1], CutSpeech), effects[:3]  # heard, then cut, then the goodbye
    said = d.said(effects)
    assert said[0] == load_texts("nl").lines("stopping")[0]
    assert d.session.done and d.session.end_reason == "stopped"
    # the cut prompts need no report: only the goodbye is still to be heard
    assert d.session.speaking
    d.unheard = [e.prompt for e in effects if isinstance(e, Say | PlayChime)]
    d.hear_all()
    assert not d.session.speaking


def test_a_key_during_a_prompt_pauses_at_once() -> None:
    d = Driver()
    d.start()
    d.hear_all()
    d.at(10.0)
    d.handle(Heard("hulp"))  # the help is being spoken …
    effects = d.handle(KeyCommand(Intent.PAUSE))  # … when the key comes
    assert any(isinstance(e, CutSpeech) for e in effects)
    assert PhaseChanged("paused") in [e.event for e in effects if isinstance(e, Log)]
    d.hear_all()
    d.at(70.0)  # a minute in pause: the turn's clock stood still
    d.handle(Heard("verder"))
    d.hear_all()
    assert d.session.phase is Phase.SPEAKING
    assert d.session.next_deadline() == 70.0 + 20  # 50 s were left; the warning comes at 30


def test_an_empty_line_means_done_or_go_on_whichever_fits() -> None:
    d = Driver()
    d.start()
    d.hear_all()
    effects = d.handle(Proceed())
    assert "Dank je, Anna." in d.said(effects)
    assert d.logged(HeardLogged) == [HeardLogged("", Intent.DONE)]


def test_stop_from_outside_ends_kindly_once() -> None:
    d = Driver()
    d.start()
    d.handle(Stop())
    assert d.session.done
    assert d.handle(Stop()) == []  # a second Ctrl-C changes nothing


def test_pace_steps_up_to_the_limit_then_says_so() -> None:
    d = Driver()
    d.start()
    d.hear_all()
    paces = []
    for _ in range(len(PACES)):
        effects = d.handle(Heard("sneller"))
        paces += [e.factor for e in effects if isinstance(e, SetPace)]
    assert paces == [p for p in PACES if p > 1.0]
    assert d.said()[-1] == load_texts("nl").line("pace_limit")


def test_printed_text_has_no_pace() -> None:
    d = Driver(pace_adjustable=False)
    d.start()
    effects = d.handle(Heard("langzamer"))
    assert not [e for e in effects if isinstance(e, SetPace)]
    assert d.said(effects) == load_texts("nl").lines("pace_limit")


def test_listen_is_sent_when_what_counts_changes() -> None:
    steps = TURN + '\n[[step]]\nkind = "ask"\nto = "both"\ntext = "Gaat het?"\n'
    d = Driver(steps)
    d.start()
    listens = [e for e in d.effects if isinstance(e, Listen)]
    assert len(listens) == 1 and not listens[0].short_answer
    assert "klaar" in listens[0].phrases and "ja" not in listens[0].phrases
    d.hear_all()
    assert not [e for e in d.handle(Heard("iets")) if isinstance(e, Listen)]  # nothing changed
    effects = d.handle(Heard("klaar"))
    d.hear_all()
    (asking,) = [e for e in effects if isinstance(e, Listen)]
    assert asking.short_answer and {"ja", "nee"} <= set(asking.phrases)
