"""The commands that run exercises: list, simulate, run (text or voice)."""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
from dataclasses import replace
from pathlib import Path

from assistant.cli.practice import (
    keep,
    opened,
    practice_of,
    resumable,
    share_bars,
    snapshots,
)
from assistant.cli.settings import Settings, partner_names, timing_for, voice_settings
from assistant.engine.errors import UsageError
from assistant.engine.exercises import (
    Exercise,
    find_exercise,
    list_exercises,
    load_exercise_file,
)
from assistant.engine.resume import ResumePoint
from assistant.engine.texts import LANGUAGES, load_texts
from assistant.recorder import AgreementRecorder
from assistant.simulate import load_scenario, simulate


def cmd_list(settings: Settings) -> int:
    """Print the exercises."""
    for lang in [settings.lang] if settings.lang else list(LANGUAGES):
        for ex in list_exercises(lang):
            print(f"{ex.id:<20} {lang}  {ex.minutes:>3g} min  {ex.title}")
    return 0


def cmd_simulate(settings: Settings) -> int:
    """Run a session on the virtual clock and print the event log (history only with --home)."""
    assert settings.scenario is not None, "the parser makes --scenario required"
    scenario = load_scenario(settings.scenario)
    exercise = _load_exercise(settings, settings.lang or scenario.lang)
    texts = load_texts(exercise.lang)
    names = partner_names(settings, texts, scenario.names)

    def emit(line: dict) -> None:
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")

    with opened(settings) as history:
        started = dt.datetime.now().astimezone()
        session = simulate(exercise, scenario, names, texts, timing_for(settings), emit,
                           practice_of(history, names, exercise.id))
        keep(history, session, started, 0.0)
    return 0


def cmd_run(settings: Settings) -> int:
    """Run an exercise live, hands-free or on a keyboard, and print the summary."""
    exercise = _load_exercise(settings, settings.lang)
    return _live(settings, exercise, settings.file,
                 partner_names(settings, load_texts(exercise.lang)), None)


def cmd_resume(settings: Settings) -> int:
    """Go on with a session that was cut off, at the step it was in."""
    with opened(settings) as history:
        assert history is not None, "resume always has a home"
        found = history.snapshots(settings.names)
    if not found:
        who = f" for {settings.names[0]} and {settings.names[1]}" if settings.names else ""
        raise UsageError(f"no session to resume{who} in {settings.home}; start one with "
                         "'samenspraak run'")
    couples = {tuple(sorted(s.names)) for s in found}
    if len(couples) > 1:
        listed = "; ".join(" and ".join(c) for c in sorted(couples))
        raise UsageError(f"more than one couple can resume ({listed}): add --names A B")
    snap = found[0]
    file = Path(snap.exercise_file) if snap.exercise_file else None
    exercise = load_exercise_file(file) if file else find_exercise(snap.exercise, snap.lang)
    return _live(settings, exercise, file, snap.names, replace(snap.point, ask=False))


def _live(settings: Settings, exercise: Exercise, file: Path | None, names: tuple[str, str],
          resume: ResumePoint | None) -> int:
    """Run ``exercise`` live for ``names``; its place is saved as it goes, for a resume."""
    from assistant.engine.clock import RealClock
    from assistant.live import run_text, summary_lines

    texts = load_texts(exercise.lang)
    clock = RealClock()
    with opened(settings) as history:
        practice = practice_of(history, names, exercise.id)
        if resume is None:
            resume = resumable(history, names, exercise, file)
        started, t0 = dt.datetime.now().astimezone(), clock.now()
        observe = snapshots(history, exercise, file, started)
        recorder = None
        if settings.input == "voice":
            from assistant.display import open_display
            from assistant.voice import run_voice

            if history is not None and practice is not None \
                    and practice.keep_agreements is not False:
                recorder = AgreementRecorder(history.recordings)
            with open_display(clock, exercise.lang, settings.display) as keys:
                session = run_voice(voice_settings(settings, timing_for(settings)), exercise,
                                    texts, names, clock, practice=practice, resume=resume,
                                    observe=observe, recorder=recorder, inputs=keys,
                                    stdin=io.StringIO() if keys is not None else None)
        else:
            print(texts.line("prompt_hint"), flush=True)
            session = run_text(exercise, texts, names, clock,
                               timing_for(settings, silence_ends_turns=False), settings.events,
                               practice=practice, resume=resume, observe=observe)
        keep(history, session, started, t0, recorder)
    heard = settings.input == "voice"
    print("\n".join(summary_lines(session.summary(), texts, heard)))
    if heard and sys.stdout.isatty():
        print("\n".join(share_bars(session)))
    return 0


def _load_exercise(settings: Settings, lang: str | None) -> Exercise:
    if settings.file is not None:
        if settings.exercise:
            raise UsageError("give an exercise id or --file, not both")
        exercise = load_exercise_file(settings.file)
        if lang and exercise.lang != lang:
            raise UsageError(f"{settings.file} is in '{exercise.lang}', not '{lang}'")
        return exercise
    if not settings.exercise:
        raise UsageError("which exercise? give its id (see 'samenspraak list') or --file PATH")
    return find_exercise(settings.exercise, lang)


