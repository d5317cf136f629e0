"""A couple's practice, kept on this machine only: one SQLite file in the user's data folder.

Each finished or stopped session is saved in one transaction (so a crash or a full disk never
leaves half a session behind): when, which exercise and language, the partners' names, how it
ended, its length, speaking seconds per partner, who spoke when, mirrors tried and confirmed,
and the agreements — the agreements only when the couple said they may be kept. The schema is
versioned (``PRAGMA user_version``) and migrated on open. A database that cannot be read is set
aside under a new name, never emptied, and a fresh one is started; :attr:`History.notice` says so.
Folders are 0700 and files 0600.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.engine.practice import Practice
from assistant.engine.resume import ResumePoint

if TYPE_CHECKING:
    from assistant.engine.session import Session

_LOGGER = logging.getLogger(__name__)

SCHEMA_VERSION = 2
"""1: sessions, agreements, couples; 2: snapshots (resume after a crash)."""
DB_NAME = "history.sqlite3"
HOME_ENV = "SAMENSPRAAK_HOME"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    exercise TEXT NOT NULL,
    lang TEXT NOT NULL,
    first TEXT NOT NULL,
    second TEXT NOT NULL,
    couple TEXT NOT NULL,
    ended TEXT NOT NULL,
    seconds REAL NOT NULL,
    speaking TEXT NOT NULL,
    turns TEXT NOT NULL,
    mirror_attempts INTEGER NOT NULL,
    mirrors_confirmed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_couple ON sessions (couple, started);
CREATE TABLE IF NOT EXISTS agreements (
    session INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    text TEXT NOT NULL,
    recording TEXT,
    PRIMARY KEY (session, number)
);
CREATE TABLE IF NOT EXISTS couples (
    couple TEXT PRIMARY KEY,
    keep_agreements INTEGER
);
CREATE TABLE IF NOT EXISTS snapshots (
    couple TEXT PRIMARY KEY,
    exercise TEXT NOT NULL,
    exercise_file TEXT,
    lang TEXT NOT NULL,
    first TEXT NOT NULL,
    second TEXT NOT NULL,
    started TEXT NOT NULL,
    updated TEXT NOT NULL,
    point TEXT NOT NULL
);
"""


class HistoryError(Exception):
    """The history cannot be used at all (its folder cannot be made, the disk refuses)."""


def default_home(environ: Mapping[str, str]) -> Path:
    """Where the history lives: $SAMENSPRAAK_HOME, else $XDG_DATA_HOME/samenspraak, else
    ~/.local/share/samenspraak."""
    if environ.get(HOME_ENV, "").strip():
        return Path(environ[HOME_ENV]).expanduser()
    base = environ.get("XDG_DATA_HOME", "").strip()
    return (Path(base).expanduser() if base else Path.home() / ".local" / "share") / "samenspraak"


def couple_key(names: tuple[str, str]) -> str:
    """The same couple whatever the order of the names or their capitals."""
    return "\x1f".join(sorted(n.strip().casefold() for n in names))


@dataclass(frozen=True)
class SessionRecord:
    """One finished or stopped session."""

    started: dt.datetime
    """Wall-clock time it began."""
    exercise: str
    """Exercise id."""
    lang: str
    """Language code."""
    names: tuple[str, str]
    """The partners, first speaker first."""
    ended: str
    """'finished' or 'stopped'."""
    seconds: float
    """How long it lasted."""
    speaking: dict[str, float]
    """Speaking seconds per partner."""
    mirror_attempts: int = 0
    """Mirrors tried."""
    mirrors_confirmed: int = 0
    """Mirrors the speaker confirmed."""
    agreements: tuple[str, ...] = ()
    """What the couple agreed (empty when they did not want it kept)."""
    turns: tuple[tuple[str, float, float], ...] = ()
    """Who spoke when: (name, start, end) in seconds from the start."""
    recordings: tuple[str | None, ...] = field(default=())
    """Per agreement, the file of the couple saying it, where one was recorded."""

    def share(self) -> dict[str, float]:
        """Each partner's share of the speaking time (0..1)."""
        total = sum(self.speaking.values())
        return {name: (s / total if total else 0.0) for name, s in self.speaking.items()}


@dataclass(frozen=True)
class Snapshot:
    """A session that has not ended: what it was, and where it was."""

    exercise: str
    """Exercise id."""
    exercise_file: str | None
    """The coach's own exercise file it came from, if any."""
    lang: str
    """Language code."""
    names: tuple[str, str]
    """The partners, as the session began."""
    started: dt.datetime
    """When it began."""
    point: ResumePoint
    """Where it was."""


class History:
    """The history database of one home folder."""

    def __init__(self, home: Path) -> None:
        self.home = home
        """The folder that holds the database and the recordings."""
        self.path = home / DB_NAME
        """The database file."""
        self.notice: str | None = None
        """Set when a damaged database was set aside on opening (what happened, where)."""
        self._db: sqlite3.Connection | None = None

    # --- opening ---------------------------------------------------------------------------

    def open(self) -> History:
        """Create the folder and the database if needed (owner-only), migrate, check it."""
        private_dir(self.home)
        private_dir(self.recordings)
        try:
            self._db = self._connect()
        except sqlite3.OperationalError as err:  # locked or refused, not damaged: leave it be
            raise HistoryError(f"the history at {self.path} cannot be used now ({err}); "
                               "is another session running?") from None
        except sqlite3.DatabaseError as err:  # not a database, or damaged: keep it, start anew
            aside = self.path.with_name(
                f"{DB_NAME}.damaged-{dt.datetime.now():%Y%m%d-%H%M%S}")
            os.replace(self.path, aside)
            self.notice = (f"the history at {self.path} could not be read ({err}); it was set "
                           f"aside as {aside.name} and a new one was started")
            _LOGGER.warning("%s", self.notice)
            self._db = self._connect()
        return self

    def _connect(self) -> sqlite3.Connection:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(self.path, 0o600)
        db = sqlite3.connect(self.path, timeout=5.0)
        try:
            db.execute("PRAGMA foreign_keys = ON")
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("its integrity check failed")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise sqlite3.DatabaseError(
                    f"it was written by a newer Samenspraak (schema {version})")
            with db:
                db.executescript(_SCHEMA)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def close(self) -> None:
        """Close the database."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> History:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def recordings(self) -> Path:
        """The folder of recorded agreements."""
        return self.home / "recordings"

    @property
    def db(self) -> sqlite3.Connection:
        """The open connection."""
        if self._db is None:
            raise HistoryError("the history is not open")
        return self._db

    # --- writing ---------------------------------------------------------------------------

    def save(self, record: SessionRecord) -> None:
        """Store one session, all of it or nothing."""
        with self.db:
            cursor = self.db.execute(
                "INSERT INTO sessions (started, exercise, lang, first, second, couple, ended, "
                "seconds, speaking, turns, mirror_attempts, mirrors_confirmed) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.started.isoformat(timespec="seconds"), record.exercise, record.lang,
                 record.names[0], record.names[1], couple_key(record.names), record.ended,
                 round(record.seconds, 1), json.dumps(record.speaking),
                 json.dumps([list(t) for t in record.turns]), record.mirror_attempts,
                 record.mirrors_confirmed))
            recordings = list(record.recordings) + [None] * len(record.agreements)
            self.db.executemany(
                "INSERT INTO agreements (session, number, text, recording) VALUES (?, ?, ?, ?)",
                [(cursor.lastrowid, n, text, recordings[n - 1])
                 for n, text in enumerate(record.agreements, start=1)])

    def set_keep_agreements(self, names: tuple[str, str], keep: bool) -> None:
        """Remember the couple's answer to 'may I keep your agreement?'."""
        with self.db:
            self.db.execute("INSERT INTO couples (couple, keep_agreements) VALUES (?, ?) "
                            "ON CONFLICT (couple) DO UPDATE SET keep_agreements = excluded."
                            "keep_agreements", (couple_key(names), int(keep)))

    def forget(self, names: tuple[str, str] | None = None) -> int:
        """Delete every session (or one couple's), their recordings and answers; how many."""
        where, args = ("WHERE couple = ?", (couple_key(names),)) if names else ("", ())
        files = [row[0] for row in self.db.execute(
            "SELECT recording FROM agreements JOIN sessions ON sessions.id = agreements.session "
            f"{where}", args) if row[0]]
        with self.db:
            count = self.db.execute(f"SELECT COUNT(*) FROM sessions {where}", args).fetchone()[0]
            self.db.execute(f"DELETE FROM agreements WHERE session IN "
                            f"(SELECT id FROM sessions {where})", args)
            self.db.execute(f"DELETE FROM sessions {where}", args)
            self.db.execute(f"DELETE FROM couples {where}", args)
            self.db.execute(f"DELETE FROM snapshots {where}", args)
        for name in files:
            with contextlib.suppress(FileNotFoundError):  # already gone is what we want
                (self.recordings / name).unlink()
        if names is None:
            for leftover in self.recordings.glob("*"):
                leftover.unlink()
            self.db.execute("VACUUM")  # no deleted text left in the file's free pages
        return count

    # --- where a running session is (resume after a crash) ---------------------------------

    def save_snapshot(self, snap: Snapshot) -> None:
        """Store where a running session is (one per couple), replacing the one before."""
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO snapshots (couple, exercise, exercise_file, lang, first, "
                "second, started, updated, point) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (couple_key(snap.names), snap.exercise, snap.exercise_file, snap.lang,
                 snap.names[0], snap.names[1], snap.started.isoformat(timespec="seconds"),
                 dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                 json.dumps(snap.point.to_json())))

    def snapshots(self, names: tuple[str, str] | None = None) -> list[Snapshot]:
        """Sessions that did not end (all, or one couple's), newest first."""
        where, args = ("WHERE couple = ?", (couple_key(names),)) if names else ("", ())
        rows = self.db.execute(
            "SELECT exercise, exercise_file, lang, first, second, started, point FROM snapshots "
            f"{where} ORDER BY updated DESC", args).fetchall()
        return [Snapshot(exercise=r[0], exercise_file=r[1], lang=r[2], names=(r[3], r[4]),
                         started=dt.datetime.fromisoformat(r[5]),
                         point=ResumePoint.from_json(json.loads(r[6]))) for r in rows]

    def drop_snapshot(self, names: tuple[str, str]) -> None:
        """The couple's session ended: nothing to resume."""
        with self.db:
            self.db.execute("DELETE FROM snapshots WHERE couple = ?", (couple_key(names),))

    # --- reading ---------------------------------------------------------------------------

    def keep_agreements(self, names: tuple[str, str]) -> bool | None:
        """The couple's answer to 'may I keep your agreement?' (None: never asked)."""
        row = self.db.execute("SELECT keep_agreements FROM couples WHERE couple = ?",
                              (couple_key(names),)).fetchone()
        return None if row is None or row[0] is None else bool(row[0])

    def sessions(self, names: tuple[str, str] | None = None) -> list[SessionRecord]:
        """Sessions, oldest first (one couple's, when ``names`` are given)."""
        where, args = ("WHERE couple = ?", (couple_key(names),)) if names else ("", ())
        rows = self.db.execute(
            "SELECT id, started, exercise, lang, first, second, ended, seconds, speaking, turns, "
            f"mirror_attempts, mirrors_confirmed FROM sessions {where} ORDER BY started, id",
            args).fetchall()
        return [self._record(row) for row in rows]

    def last(self, names: tuple[str, str]) -> SessionRecord | None:
        """The couple's most recent session."""
        found = self.sessions(names)
        return found[-1] if found else None

    def last_agreement(self, names: tuple[str, str]) -> tuple[str, Path | None] | None:
        """The couple's most recent agreement, and its recording where there is one."""
        row = self.db.execute(
            "SELECT text, recording FROM agreements JOIN sessions ON sessions.id = "
            "agreements.session WHERE couple = ? ORDER BY started DESC, sessions.id DESC, "
            "number DESC LIMIT 1", (couple_key(names),)).fetchone()
        if row is None:
            return None
        recording = self.recordings / row[1] if row[1] else None
        return row[0], recording if recording is not None and recording.exists() else None

    def evenings_in_a_row(self, names: tuple[str, str], exercise: str,
                          today: dt.date) -> int:
        """Days in a row, up to today or yesterday, on which the couple did ``exercise``."""
        days = {dt.date.fromisoformat(row[0][:10]) for row in self.db.execute(
            "SELECT started FROM sessions WHERE couple = ? AND exercise = ?",
            (couple_key(names), exercise))}
        day = today if today in days else today - dt.timedelta(days=1)
        count = 0
        while day in days:
            count += 1
            day -= dt.timedelta(days=1)
        return count

    def _record(self, row: tuple) -> SessionRecord:
        (sid, started, exercise, lang, first, second, ended, seconds, speaking, turns,
         attempts, confirmed) = row
        agreements = self.db.execute(
            "SELECT text, recording FROM agreements WHERE session = ? ORDER BY number",
            (sid,)).fetchall()
        return SessionRecord(
            started=dt.datetime.fromisoformat(started), exercise=exercise, lang=lang,
            names=(first, second), ended=ended, seconds=seconds, speaking=json.loads(speaking),
            mirror_attempts=attempts, mirrors_confirmed=confirmed,
            agreements=tuple(a[0] for a in agreements),
            turns=tuple((n, s, e) for n, s, e in json.loads(turns)),
            recordings=tuple(a[1] for a in agreements))


def private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) readable by its owner only."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process
            directory.mkdir(mode=0o700)
    path.chmod(0o700)


def iter_lines(records: list[SessionRecord]) -> Iterator[str]:
    """The sessions as plain lines: date, exercise, length, speaking share, agreement; the
    columns as wide as their longest entry (long names, a coach's long exercise id)."""
    shares = [_share_text(r) for r in records]
    exercise_width = max((len(r.exercise) for r in records), default=0)
    share_width = max((len(parts) for parts in shares), default=0)
    for r, parts in zip(records, shares, strict=True):
        agreement = "; ".join(r.agreements) if r.agreements else "-"
        yield (f"{r.started:%Y-%m-%d %H:%M}  {r.exercise:<{exercise_width}}  "
               f"{r.seconds / 60:5.1f} min  {r.ended:<8}  {parts:<{share_width}}  {agreement}")


def _share_text(record: SessionRecord) -> str:
    """'Anna 40% / Ben 60%'."""
    share = record.share()
    return " / ".join(f"{name} {round(100 * share[name])}%" for name in record.names
                      if name in share)


def practice_for(history: History, names: tuple[str, str], exercise: str,
                 today: dt.date) -> Practice:
    """What the history brings into a new session of ``exercise`` for this couple."""
    last = history.last_agreement(names)
    return Practice(last_agreement=last[0] if last else None,
                    recording=str(last[1]) if last and last[1] else None,
                    days_in_a_row=history.evenings_in_a_row(names, exercise, today),
                    keep_agreements=history.keep_agreements(names))


def record_of(session: Session, started: dt.datetime, seconds: float, t0: float,
              recordings: tuple[str | None, ...] = ()) -> SessionRecord:
    """The history's record of a session that has ended; agreements only when they may be kept.

    ``t0`` is the session clock at its start (turn times are kept relative to it).
    """
    keep = session.practice.keep if session.practice is not None else None
    agreements = tuple(session.stats.agreements) if keep else ()
    return SessionRecord(
        started=started, exercise=session.exercise.id, lang=session.exercise.lang,
        names=session.names, ended=session.end_reason or "stopped", seconds=seconds,
        speaking=dict(session.stats.speaking_seconds),
        mirror_attempts=session.stats.mirror_attempts,
        mirrors_confirmed=session.stats.mirrors_confirmed, agreements=agreements,
        turns=tuple((n, round(a - t0, 2), round(b - t0, 2)) for n, a, b in session.stats.turns),
        recordings=recordings if keep else ())


def save_session(history: History, session: Session, started: dt.datetime, seconds: float,
                 t0: float, recordings: tuple[str | None, ...] = ()) -> None:
    """Save an ended session and the couple's answer about keeping agreements."""
    keep = session.practice.keep if session.practice is not None else None
    if keep is not None:
        history.set_keep_agreements(session.names, keep)
    history.save(record_of(session, started, seconds, t0, recordings))
