"""The commands for coaches: timer (the floor in turn, without exercise text), new (a template
for an exercise of their own) and validate (every problem of every file at once)."""

from __future__ import annotations

import re
import sys
from importlib import resources
from pathlib import Path

from assistant.cli.settings import (
    EXIT_USAGE,
    Settings,
    partner_names,
    timing_for,
    voice_settings,
)
from assistant.engine.errors import UsageError
from assistant.engine.exercises import ExerciseError, load_exercise_file
from assistant.engine.texts import Texts, load_texts
from assistant.engine.timer import timer_exercise

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def cmd_new(settings: Settings) -> int:
    """Write NAME.toml in the current folder from the language's template; never overwrite."""
    assert settings.name is not None, "the parser makes NAME required"
    name = settings.name.removesuffix(".toml")
    if not _NAME.fullmatch(name):
        raise UsageError(f"'{settings.name}' is not a plain name: use letters, digits, - and _, "
                         "e.g. mijn-oefening")
    lang = settings.lang or "nl"
    template = resources.files("assistant").joinpath("templates", f"{lang}.toml")
    title = name.replace("-", " ").replace("_", " ").strip().capitalize()
    text = template.read_text("utf-8").replace("__NAME__", name).replace("__TITLE__", title)
    path = Path(f"{name}.toml")
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        raise UsageError(f"{path} exists already: choose another name or remove it "
                         "first") from None
    except OSError as err:  # a folder that cannot be written to
        raise UsageError(f"cannot write {path}: {err.strerror}") from None
    print(f"{path}: written. Next: samenspraak validate {path}")
    return 0


def cmd_validate(settings: Settings) -> int:
    """Check every file; print every problem (file, step, field, what to do); 2 when any."""
    problems = 0
    for path in settings.files:
        try:
            exercise = load_exercise_file(path)
        except ExerciseError as err:
            for problem in err.problems:
                print(problem)
            problems += len(err.problems)
            continue
        print(f"{path}: ok ({exercise.lang}, {len(exercise.steps)} steps, "
              f"{exercise.minutes:g} min)")
    if problems:
        print(f"{problems} problem{'s' if problems != 1 else ''} found; fix "
              f"{'them' if problems != 1 else 'it'} and run validate again", file=sys.stderr)
        return EXIT_USAGE
    return 0


def cmd_timer(settings: Settings) -> int:
    """Lead a conversation with the timer: turns, mirrors, swaps; the summary at the end."""
    from assistant.display import open_display
    from assistant.engine.clock import RealClock
    from assistant.live import run_text

    lang = settings.lang or "nl"
    for name, _seconds in settings.durations:
        if name in ("turn", "mirror"):  # the timer's own options say it, once
            raise UsageError(f"timer takes --{name} TIME, not --duration {name}=SECONDS")
    texts = load_texts(lang)
    names = partner_names(settings, texts)
    exercise = timer_exercise(texts, settings.turn, settings.mirror, settings.rounds)
    clock = RealClock()
    with open_display(clock, lang, settings.display) as inputs:
        if settings.input == "voice":
            import io

            from assistant.voice import run_voice

            stdin = io.StringIO() if inputs is not None else None  # the display has the keys
            session = run_voice(voice_settings(settings, timing_for(settings)), exercise, texts,
                                names, clock, stdin=stdin, inputs=inputs, quiet=settings.quiet)
        else:
            if inputs is None:
                print(texts.line("prompt_hint"), flush=True)
            session = run_text(exercise, texts, names, clock,
                               timing_for(settings, silence_ends_turns=False), settings.events,
                               inputs=inputs, quiet=settings.quiet)
    if settings.input == "voice":  # typed lines have no speaking time to sum up
        print("\n".join(timer_summary(session.summary().speaking_seconds, texts)))
    return 0


def timer_summary(speaking: dict[str, float], texts: Texts) -> list[str]:
    """Who spoke how long (a timer's mirrors are timed, not confirmed: no mirror count)."""
    return [texts.line("summary_title"),
            *(texts.line("summary_speaking", name=name, duration=texts.duration(seconds))
              for name, seconds in speaking.items())]
