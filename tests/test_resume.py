"""Resume after a crash: where a session was is saved at every phase change; a killed session
goes on at its step with what the couple had done."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from simkit import exercise
from test_cli import samenspraak

from assistant.engine.clock import VirtualClock
from assistant.engine.messages import (
    Heard,
    PlayChime,
    PromptPlayed,
    Say,
    SpeechEnded,
    SpeechStarted,
)
from assistant.engine.resume import ResumePoint
from assistant.engine.session import Session
from assistant.engine.texts import load_texts
from assistant.history import History

ROOT = Path(__file__).resolve().parent.parent
NL = load_texts("nl")
STEPS = """
[[step]]
kind = "turn"
text = "{speaker}, vertel."
seconds = 60

[[step]]
kind = "mirror"
text = "{listener}, zeg wat je hoorde."
seconds = 30

[[step]]
kind = "agree"
text = "Wat spreken jullie af?"
seconds = 60

[[step]]
kind = "swap"

[[step]]
kind = "turn"
text = "{speaker}, nu jij."
seconds = 60
"""
HEAD = 'id = "herstart"\nlang = "nl"\ntitle = "Herstart"\ndescription = "Test."\nminutes = 5\n'


def heard_all(session: Session, effects: list) -> list:
    """Every prompt in ``effects`` is heard at once (and those that follow from that)."""
    out = list(effects)
    for effect in effects:
        if isinstance(effect, Say | PlayChime):
            out += heard_all(session, session.handle(PromptPlayed(effect.prompt)))
    return out


def test_a_snapshot_and_the_way_back_on_the_virtual_clock() -> None:
    clock = VirtualClock()
    first = Session(exercise(STEPS), ("Anna", "Ben"), NL, clock)
    heard_all(first, first.start())
    for t, item in [(0, SpeechStarted()), (20, SpeechEnded(20)), (21, Heard("klaar")),
                    (22, SpeechStarted()), (32, SpeechEnded(10)), (33, Heard("klaar")),
                    (34, Heard("ja")), (35, Heard("elke avond praten")), (36, Heard("klaar"))]:
        clock.advance_to(t)
        heard_all(first, first.handle(item))
    point = first.snapshot()
    assert (point.step, point.speaker, point.phase) == (4, "Ben", "speaking")
    assert point.speaking == {"Anna": 20.0, "Ben": 10.0}
    assert point.agreements == ("elke avond praten",) and point.mirrors_confirmed == 1
    session = Session(exercise(STEPS), ("Anna", "Ben"), NL, VirtualClock(),
                      resume=ResumePoint.from_json(point.to_json()))
    started = [e.text for e in session.start() if isinstance(e, Say)]
    asked = started.index(NL.lines("resume_ask")[0])
    assert started[asked:asked + 3] == NL.lines("resume_ask")
    texts = [e.text for e in session.handle(Heard("ja")) if isinstance(e, Say)]
    assert texts[0] == NL.line("resume_back") and "Ben, nu jij." in texts
    assert session.stats.agreements == ["elke avond praten"]
    assert session.stats.speaking_seconds == {"Anna": 20.0, "Ben": 10.0}
    assert session.roles.speaker == "Ben" and session.stats.mirrors_confirmed == 1


def test_nee_starts_at_the_beginning() -> None:
    point = ResumePoint(step=4, speaker="Ben", speaking={"Anna": 20.0, "Ben": 0.0})
    session = Session(exercise(STEPS), ("Anna", "Ben"), NL, VirtualClock(), resume=point)
    session.start()
    texts = [e.text for e in session.handle(Heard("nee")) if isinstance(e, Say)]
    assert texts[0] == NL.line("resume_fresh") and "Anna, vertel." in texts
    assert session.stats.speaking_seconds == {"Anna": 0.0, "Ben": 0.0}


class Killed:
    """`samenspraak run --input text` in a process of its own, killed with SIGKILL at a phase."""

    def __init__(self, tmp_path: Path) -> None:
        self.file = tmp_path / "herstart.toml"
        self.file.write_text(HEAD + STEPS, encoding="utf-8")
        self.home = tmp_path / "home"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "assistant", "run", "--file", str(self.file), "--input",
             "text", "--names", "Anna", "Ben", "--home", str(self.home)],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)

    def type(self, *lines: str) -> None:
        assert self.process.stdin is not None
        for line in lines:
            self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def kill_in(self, phase: str, step: int, timeout: float = 20.0) -> ResumePoint:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (self.home / "history.sqlite3").exists():
                with History(self.home) as history:
                    snaps = history.snapshots()
                if snaps and snaps[0].point.phase == phase and snaps[0].point.step == step:
                    os.kill(self.process.pid, signal.SIGKILL)
                    self.process.wait(10)
                    assert self.process.returncode == -signal.SIGKILL
                    return snaps[0].point
            assert self.process.poll() is None, self.process.stderr.read()
            time.sleep(0.05)
        self.process.kill()
        raise AssertionError(f"never reached {phase} in step {step}")


@pytest.mark.parametrize(("where", "typed", "phase", "step", "resumes_with"), [
    ("mid-turn", [], "speaking", 0, "Anna, vertel."),
    ("mid-question", ["", ""], "confirming", 1, "Ben, zeg wat je hoorde."),
    ("in a pause", ["", "", "ja", "elke avond praten", "", "ja", "pauze"], "paused", 4,
     "Ben, nu jij."),
    ("in a break", ["", "", "ja", "elke avond praten", "", "ja", "time-out"], "break", 4,
     "Ben, nu jij."),
])
def test_a_killed_session_is_resumed_at_its_step(tmp_path: Path, where: str, typed: list[str],
                                                 phase: str, step: int,
                                                 resumes_with: str) -> None:
    killed = Killed(tmp_path)
    killed.type(*typed)
    point = killed.kill_in(phase, step)
    result = samenspraak("resume", "--input", "text", "--home", str(killed.home),
                         stdin="stop\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    back = out.index("» " + NL.line("resume_back"))
    assert "» " + resumes_with in out[back:], (where, out)
    if step == 4:  # what was done before the crash is still there
        assert point.agreements == ("elke avond praten",) and point.speaker == "Ben"
        assert any("elke avond praten" in line for line in out[back:])
    with History(killed.home) as history:
        (record,) = history.sessions()
    assert record.ended == "stopped"


def test_the_point_outlives_an_unanswered_question_to_go_on(tmp_path: Path) -> None:
    killed = Killed(tmp_path)
    killed.type("", "")
    point = killed.kill_in("confirming", 1)
    for stdin in ("", "stop\n"):  # the input ends, or a stop, while the question is asked
        result = samenspraak("run", "--file", str(killed.file), "--input", "text", "--names",
                             "Anna", "Ben", "--home", str(killed.home), stdin=stdin)
        assert result.returncode == 0, result.stderr
        assert "» " + NL.lines("resume_ask")[0] in result.stdout.splitlines()
        with History(killed.home) as history:
            (snap,) = history.snapshots()
        assert snap.point == point, stdin


def test_run_for_the_same_couple_asks_to_go_on(tmp_path: Path) -> None:
    killed = Killed(tmp_path)
    killed.type("", "")
    killed.kill_in("confirming", 1)
    result = samenspraak("run", "--file", str(killed.file), "--input", "text", "--names",
                         "Ben", "Anna", "--home", str(killed.home), stdin="ja\nstop\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    question = ["» " + line for line in NL.lines("resume_ask")]
    asked = out.index(question[0])
    assert out[asked:asked + 3] == question
    assert out[asked + 3] == "» " + NL.line("resume_back")
    assert "» Ben, zeg wat je hoorde." in out[asked:]
