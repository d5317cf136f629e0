"""The commands about a couple's practice: ``history`` (with ``--picture``) and ``forget``; and
the history around ``run`` and ``simulate``: read before a session, saved after it."""

from __future__ import annotations

import datetime as dt
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from assistant.cli.settings import EXIT_USAGE, Settings
from assistant.engine.errors import UsageError
from assistant.engine.exercises import Exercise
from assistant.engine.messages import LogEvent, PhaseChanged
from assistant.engine.practice import Practice
from assistant.engine.resume import ResumePoint
from assistant.engine.session import Session
from assistant.engine.texts import load_texts
from assistant.history import (
    History,
    HistoryError,
    Snapshot,
    iter_lines,
    practice_for,
    save_session,
)
from assistant.recorder import AgreementRecorder

CONFIRM_WORDS = ("ja", "j", "yes", "y")
"""A typed answer that confirms forgetting."""


@contextmanager
def opened(settings: Settings) -> Iterator[History | None]:
    """The history of ``settings.home`` while the command runs (None without one)."""
    if settings.home is None:
        yield None
        return
    try:
        history = History(settings.home).open()
    except (OSError, HistoryError) as err:  # no folder, the disk refuses, or it is in use
        raise UsageError(f"cannot use the history in {settings.home}: {err}; pass --home DIR "
                         "with a folder you can write") from None
    if history.notice:
        print(f"samenspraak: {history.notice}", file=sys.stderr)
    try:
        yield history
    finally:
        history.close()


def practice_of(history: History | None, names: tuple[str, str], exercise: str
                ) -> Practice | None:
    """What the history brings into the session (None: no history)."""
    if history is None:
        return None
    return practice_for(history, names, exercise, dt.date.today())


def keep(history: History | None, session: Session, started: dt.datetime, t0: float,
         recorder: AgreementRecorder | None = None) -> None:
    """Save an ended session; a full disk costs the record, never the session or a traceback.

    A finished session leaves nothing to resume; a stopped one can be resumed. Recordings of
    the agreements are kept only where the couple said they may be."""
    recordings: tuple[str | None, ...] = ()
    if recorder is not None:
        may_keep = session.practice is not None and session.practice.keep
        if not may_keep:
            recorder.discard_all()
        recordings = tuple(recorder.files)
    if history is None or session.end_reason is None:
        return
    try:
        save_session(history, session, started, session.now() - t0, t0, recordings)
        if session.end_reason == "finished":
            history.drop_snapshot(session.names)
    except (OSError, sqlite3.Error) as err:  # e.g. the disk is full: nothing half-written
        print(f"samenspraak: this session could not be kept in the history: {err}",
              file=sys.stderr)


def resumable(history: History | None, names: tuple[str, str], exercise: Exercise,
              file: Path | None) -> ResumePoint | None:
    """Where this couple's unfinished run of ``exercise`` was (asked about first), if any."""
    if history is None:
        return None
    for snap in history.snapshots(names):
        same_file = (snap.exercise_file or None) == (str(file.resolve()) if file else None)
        if snap.exercise == exercise.id and snap.lang == exercise.lang and same_file:
            return snap.point
    return None


def snapshots(history: History | None, exercise: Exercise, file: Path | None,
              started: dt.datetime) -> Callable[[Session, LogEvent], None] | None:
    """An observer that saves where the session is at every phase change (for a resume)."""
    if history is None:
        return None
    failed: list[str] = []

    def observe(session: Session, event: LogEvent) -> None:
        if not isinstance(event, PhaseChanged) or event.phase in ("closing", "done"):
            return
        point = session.snapshot()
        if point is None:  # still asked whether to go on: the old point stays
            return
        try:
            history.save_snapshot(Snapshot(
                exercise=exercise.id, exercise_file=str(file.resolve()) if file else None,
                lang=exercise.lang, names=session.names, started=started, point=point))
        except (OSError, sqlite3.Error) as err:  # a full disk must not stop the session
            if not failed:
                print(f"samenspraak: cannot save where the session is: {err}",
                      file=sys.stderr)
            failed.append(str(err))

    return observe


def share_bars(session: Session, width: int = 30) -> list[str]:
    """The speaking share per partner as two bars, for a terminal."""
    speaking = session.stats.speaking_seconds
    total = sum(speaking.values())
    name_width = max(len(n) for n in speaking)
    lines = []
    for name, seconds in speaking.items():
        share = seconds / total if total else 0.0
        filled = round(share * width)
        lines.append(f"{name:<{name_width}}  {'█' * filled}{'·' * (width - filled)} "
                     f"{round(100 * share):3d}%")
    return lines


def _nothing_kept(settings: Settings) -> bool:
    """No history at ``settings.home`` yet: reading it must not create one."""
    assert settings.home is not None, "history and forget always have a home"
    history = History(settings.home)  # not opened: opening creates the folder
    if history.path.is_file() or (history.recordings.is_dir()
                                  and any(history.recordings.iterdir())):
        return False
    where = "" if settings.home.is_dir() else " (the folder does not exist)"
    print(f"no sessions kept in {settings.home}{where}")
    return True


def cmd_history(settings: Settings) -> int:
    """List the sessions kept on this computer; with --picture, draw them."""
    if _nothing_kept(settings):
        return 0
    with opened(settings) as history:
        assert history is not None, "history always has a home"
        records = history.sessions(settings.names)
    if not records:
        print(f"no sessions kept in {settings.home}")
        return 0
    for line in iter_lines(records):
        print(line)
    if settings.picture is not None:
        from assistant.picture import draw_history

        try:
            draw_history(records, settings.picture, load_texts(records[-1].lang))
        except (OSError, ValueError) as err:  # no such folder, or a format there is none of
            raise UsageError(f"cannot write {settings.picture}: {err}") from None
        print(f"picture written to {settings.picture}")
    return 0


def cmd_forget(settings: Settings) -> int:
    """Delete the whole history (or one couple's) after a typed confirmation."""
    if _nothing_kept(settings):
        return 0
    with opened(settings) as history:
        assert history is not None, "forget always has a home"
        who = (f"{settings.couple[0]} and {settings.couple[1]}" if settings.couple
               else "everyone")
        if not settings.yes:
            if not sys.stdin.isatty():
                print("samenspraak: forget needs a typed 'ja' or --yes", file=sys.stderr)
                return EXIT_USAGE
            answer = input(f"Delete every session, agreement and recording of {who} in "
                           f"{settings.home}? Type 'ja' to confirm: ")
            if answer.strip().casefold() not in CONFIRM_WORDS:
                print("nothing deleted")
                return 0
        count = history.forget(settings.couple)
    print(f"deleted {count} session(s) of {who}")
    return 0
