"""Scenario files derived from an exercise: a couple that does every step as asked."""

from __future__ import annotations

from assistant.engine.exercises import Exercise

WORDS = {"nl": {"done": "klaar", "yes": "ja", "no": "nee", "next": "verder",
                "agreement": "elke avond tien minuten praten zonder telefoon"},
         "en": {"done": "done", "yes": "yes", "no": "no", "next": "next",
                "agreement": "ten minutes every evening without phones"}}


def happy_replies(exercise: Exercise) -> list[str]:
    """TOML ``[[reply]]`` tables, in the order the session will wait for them."""
    w = WORDS[exercise.lang]
    out: list[str] = []

    def say(text: str) -> None:
        out.append(f'[[reply]]\nsay = "{text}"\n')

    def talk(seconds: int) -> None:
        out.append(f"[[reply]]\ntalk = {seconds}\n")

    steps = exercise.steps
    index = 0
    while index < len(steps):
        step = steps[index]
        jump = None
        if step.kind == "say" and step.wait:
            say(w["next"])
        elif step.kind == "turn":
            talk(30)
            say(w["done"])
        elif step.kind == "mirror":
            talk(20)
            say(w["done"])
            say(w["yes"])
            if step.more:
                say(w["no"])
            if step.confirmed_then:
                jump = step.confirmed_then
        elif step.kind == "ask":
            if step.assign_speaker:  # the first was hurt, the second says so too
                say(w["yes"])
                say(w["no"])
            else:
                for _ in range(2 if step.to == "each" else 1):
                    say(w["yes"])
            jump = None if step.yes.then == "continue" else step.yes.then
        elif step.kind == "discuss":
            talk(20)
            say(w["done"])
        elif step.kind == "reflect":
            say(w["done"])
        elif step.kind == "agree":
            for _ in range(step.count or 1):
                say(w["agreement"])
                say(w["done"])
        if jump == "end":
            break
        index = next(i for i, s in enumerate(steps) if s.id == jump) if jump else index + 1
    return out


def happy_scenario(exercise: Exercise, names: tuple[str, str] = ("Anna", "Ben")) -> str:
    """A whole scenario file."""
    head = f'lang = "{exercise.lang}"\nnames = ["{names[0]}", "{names[1]}"]\n\n'
    return head + "\n".join(happy_replies(exercise))
