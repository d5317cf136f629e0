"""Run sessions on the virtual clock in tests and look at their event logs."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.engine.exercises import Exercise, parse_exercise
from assistant.engine.session import Session
from assistant.engine.texts import load_texts
from assistant.engine.timing import Timing
from assistant.simulate import Reply, Scenario, simulate


@dataclass
class Run:
    """The event log of a simulated session, with a few ways to look at it."""

    events: list[dict]
    session: Session

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["type"] == kind]

    def phases(self) -> list[str]:
        return [e["phase"] for e in self.of("phase")]

    def said(self) -> list[str]:
        return [e["text"] for e in self.of("say")]

    def first(self, kind: str, **match: object) -> dict:
        for event in self.of(kind):
            if all(event.get(k) == v for k, v in match.items()):
                return event
        raise AssertionError(f"no {kind} event with {match} in {self.events}")

    @property
    def summary(self) -> dict:
        return self.events[-1]

    @property
    def end(self) -> dict:
        (end,) = self.of("end")
        return end


def say(text: str, after: float = 1) -> Reply:
    return Reply("say", text=text, after=after)


def talk(seconds: float, after: float = 0) -> Reply:
    return Reply("talk", seconds=seconds, after=after)


def silence(seconds: float) -> Reply:
    return Reply("silence", seconds=seconds)


def exercise(steps_toml: str, lang: str = "nl", **top: object) -> Exercise:
    head = {"id": "test", "lang": lang, "title": "Test", "description": "Een test.",
            "minutes": 10, **top}
    lines = [f"{k} = {v!r}" if not isinstance(v, str) else f'{k} = "{v}"'
             for k, v in head.items()]
    return parse_exercise("\n".join(lines) + "\n" + steps_toml, "test.toml")


def run(ex: Exercise, replies: list[Reply], timing: Timing | None = None,
        names: tuple[str, str] = ("Anna", "Ben")) -> Run:
    events: list[dict] = []
    session = simulate(ex, Scenario(tuple(replies)), names, load_texts(ex.lang),
                       timing or Timing(), events.append)
    return Run(events, session)
