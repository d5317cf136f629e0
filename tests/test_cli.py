"""The command line as a user runs it: list, simulate, run --input text, and its errors."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from scenarios import happy_scenario
from test_exercises import ALL

from assistant.cli import main
from assistant.engine.exercises import find_exercise

ROOT = Path(__file__).parent.parent


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def samenspraak(*args: str, stdin: str = "") -> Result:
    """The command line, in-process: arguments, standard input, output and exit code."""
    out, err = io.StringIO(), io.StringIO()
    saved_stdin, sys.stdin = sys.stdin, io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exit_:  # argparse: --help, or a usage error
                code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        sys.stdin = saved_stdin
    return Result(code, out.getvalue(), err.getvalue())


def lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_list_shows_id_title_and_minutes() -> None:
    result = samenspraak("list", "--lang", "nl")
    assert result.returncode == 0 and result.stderr == ""
    rows = result.stdout.splitlines()
    assert len(rows) == 9
    spiegelen = next(r for r in rows if r.startswith("spiegelen "))
    assert "Spiegelen" in spiegelen and f"{find_exercise('spiegelen', 'nl').minutes:g} min" \
        in spiegelen
    assert len(samenspraak("list").stdout.splitlines()) == 18


@pytest.mark.parametrize(("exercise_id", "lang"), ALL)
def test_simulate_happy_path(tmp_path: Path, exercise_id: str, lang: str) -> None:
    ex = find_exercise(exercise_id, lang)
    scenario = tmp_path / "happy.toml"
    scenario.write_text(happy_scenario(ex), encoding="utf-8")
    result = samenspraak("simulate", exercise_id, "--scenario", str(scenario))
    assert result.returncode == 0, result.stderr
    events = lines(result.stdout)
    assert all(isinstance(e["t"], int | float) and "type" in e for e in events)
    assert [e["t"] for e in events] == sorted(e["t"] for e in events)
    ends = [e for e in events if e["type"] == "end"]
    assert ends == [{"t": ends[0]["t"], "type": "end", "reason": "finished"}]
    summary = events[-1]
    assert summary["type"] == "summary"
    mirrors = sum(1 for e in events if e["type"] == "phase" and e["phase"] == "mirroring")
    assert summary["mirror_attempts"] == mirrors > 0
    assert summary["mirrors_confirmed"] == mirrors
    speakers = {e["speaker"] for e in events if e["type"] == "phase" and e["phase"] == "speaking"}
    assert speakers == {"Anna", "Ben"}
    assert summary["speaking_seconds"]["Anna"] > 0 and summary["speaking_seconds"]["Ben"] > 0
    agree_steps = sum((s.count or 1) for s in ex.steps if s.kind == "agree")
    assert len(summary["agreements"]) == agree_steps
    heard = [e for e in events if e["type"] == "heard"]
    assert heard and all(e["intent"] is not None for e in heard if e["text"] in
                         ("klaar", "ja", "done", "yes"))
    assert not any("{" in e["text"] for e in events if e["type"] == "say")


def test_simulate_names_and_lang_from_the_command_line(tmp_path: Path) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text('names = ["Siem", "Kim"]\n[[reply]]\nsay = "done"\n', encoding="utf-8")
    result = samenspraak("simulate", "mirroring", "--scenario", str(scenario),
                         "--names", "Noor", "Daan")
    assert result.returncode == 0, result.stderr
    events = lines(result.stdout)
    assert any("Noor" in e.get("text", "") for e in events)
    assert not any("Siem" in e.get("text", "") for e in events)


def test_simulate_with_a_duration_override(tmp_path: Path) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text('[[reply]]\nsay = "verder"\n[[reply]]\ntalk = 1000\n', encoding="utf-8")
    result = samenspraak("simulate", "dagelijks-gesprek", "--scenario", str(scenario),
                         "--duration", "turn=45", "--duration", "warn=15")
    assert result.returncode == 0, result.stderr
    events = lines(result.stdout)
    start = next(e for e in events if e["type"] == "phase" and e["phase"] == "speaking")["t"]
    timers = [e for e in events if e["type"] == "timer"][:2]
    assert [(e["event"], e["t"] - start, e["remaining"]) for e in timers] == \
        [("warning", 30, 15), ("expired", 45, 0)]


@pytest.mark.parametrize(("args", "message"), [
    (["simulate", "bestaat-niet", "--scenario", "{ok}"], "unknown exercise 'bestaat-niet'"),
    (["simulate", "spiegelen", "--scenario", "{bad}"], "reply 2: needs exactly one of say"),
    (["simulate", "spiegelen", "--scenario", "{broken}"], "invalid TOML"),
    (["simulate", "spiegelen", "--scenario", "/nergens.toml"], "no such scenario file"),
    (["simulate", "spiegelen", "--scenario", "{negative}"], "reply 1: field 'talk'"),
    (["simulate", "spiegelen"], "the following arguments are required: --scenario"),
    (["run", "spiegelen", "--duration", "turn=abc"], "'abc' in 'turn=abc' is not a number"),
    (["run", "spiegelen", "--duration", "lunch=60"], "NAME=SECONDS"),
    (["run", "spiegelen", "--names", "Anna", "anna", "--input", "text"], "two different names"),
    (["run", "--input", "text"], "which exercise?"),
    (["run", "--file", "/nergens.toml", "--input", "text"], "no such file"),
    (["run", "spiegelen", "--lang", "en", "--input", "text"],
     "'spiegelen' is an exercise in 'nl', not 'en'; leave out --lang, or choose one in 'en': "),
    (["run", "spiegelen", "--duration", "turn=0"], "seconds must be more than 0"),
    (["run", "spiegelen", "--duration", "turn=inf"], "'inf' in 'turn=inf' is not a number"),
    (["run", "spiegelen", "--duration", "turn=1e20"], "at most a day"),
    (["timer", "--turn", "100000000000000000000"], "at most a day"),
    (["timer", "--duration", "turn=60", "--input", "text"], "timer takes --turn TIME"),
    (["run", "spiegelen", "--names", "Anna", "Ben", "Cees"],
     "samenspraak run: unrecognized arguments: Cees; --names takes exactly two names"),
    (["list", "extra"], "samenspraak list: unrecognized arguments: extra"),
    (["run", "spiegelen", "--names", "Anna", "Ben", "--input", "text", "--events",
      "{missing}/events.jsonl"], "the folder {missing} does not exist"),
    (["run", "spiegelen", "--names", "Anna", "Ben", "--input", "text", "--events", "{dir}"],
     "is a folder: give the event log a file name"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_code_2(tmp_path: Path, args: list[str],
                                               message: str) -> None:
    files = {"ok": '[[reply]]\nsay = "klaar"\n',
             "bad": '[[reply]]\nsay = "klaar"\n[[reply]]\nsay = "ja"\ntalk = 3\n',
             "broken": '[[reply]\n', "negative": '[[reply]]\ntalk = -3\n'}
    for name, text in files.items():
        (tmp_path / f"{name}.toml").write_text(text, encoding="utf-8")
    paths = {n: str(tmp_path / f"{n}.toml") for n in files}
    paths.update(missing=str(tmp_path / "missing"), dir=str(tmp_path))
    args = [a.format(**paths) for a in args]
    message = message.format(**paths)
    result = samenspraak(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [["history", "--couple", "A", "B"],
                                  ["run", "spiegelen", "--names", "Anna", "Ben", "--bogus"],
                                  ["forget", "--names", "A", "B"]])
def test_the_two_names_hint_only_where_a_third_name_is_the_cause(args: list[str]) -> None:
    result = samenspraak(*args)
    assert result.returncode == 2
    assert f"samenspraak {args[0]}: unrecognized arguments: " in result.stderr
    assert "takes exactly two names" not in result.stderr


def test_run_text_mode_typed_lines_drive_the_session(tmp_path: Path) -> None:
    typed = "\n".join(["", "ja", "ja", "", "ja", "", "klaar", "", "ja", "", "", "nee", "", "",
                       "klaar", "elke avond praten", "klaar"]) + "\n"
    events = tmp_path / "events.jsonl"
    result = samenspraak("run", "herstelgesprek", "--input", "text", "--names", "Anna", "Ben",
                         "--events", str(events), stdin=typed)
    assert result.returncode == 0, result.stderr
    assert "» Welkom bij Samenspraak, Anna en Ben." in result.stdout
    assert "Samenvatting" in result.stdout
    log = lines(events.read_text(encoding="utf-8"))
    assert stat.S_IMODE(events.stat().st_mode) == 0o600
    assert log[-1]["type"] == "summary"
    counted = (f"Spiegelen: {log[-1]['mirrors_confirmed']} van de {log[-1]['mirror_attempts']} "
               "keer bevestigd.")
    assert log[-1]["mirror_attempts"] > 0 and counted in result.stdout.splitlines()
    assert "Anna sprak" not in result.stdout  # typed lines have no speaking time to report
    heard = [(e["text"], e["intent"]) for e in log if e["type"] == "heard"]
    assert heard[:3] == [("", "done"), ("ja", "yes"), ("ja", "yes")]
    assert ("", "done") in heard  # an empty line ends a turn
    phases = [e["phase"] for e in log if e["type"] == "phase"]
    assert {"asking", "speaking", "mirroring", "confirming"} <= set(phases)


def test_run_text_mode_end_of_input_stops_kindly() -> None:
    result = samenspraak("run", "spiegelen", "--input", "text", "--names", "Anna", "Ben",
                         stdin="")
    assert result.returncode == 0, result.stderr
    assert "» We stoppen nu." in result.stdout
    assert "Samenvatting" in result.stdout
    assert "Spiegelen:" not in result.stdout  # no mirror was tried: nothing to count


def test_text_output_into_a_reader_that_quits_ends_the_session_quietly(tmp_path: Path) -> None:
    # like `samenspraak run ... --input text | head -2`: the input stays open, so only the
    # closed output can end this session
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant", "run", "spiegelen", "--input", "text", "--names",
         "Anna", "Ben", "--home", str(tmp_path)], cwd=ROOT, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()
    try:
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
    assert process.stderr.read() == b""


def test_help_describes_every_command() -> None:
    # the real entry point, once, as a user starts it
    result = subprocess.run([sys.executable, "-m", "assistant", "--help"], capture_output=True,
                            text=True, cwd=ROOT, timeout=60, check=False)
    assert result.returncode == 0
    listed = {line.split()[0] for line in result.stdout.splitlines()
              if line.startswith("    ") and line.split()}
    assert {"list", "run", "simulate", "check", "hear"} <= listed
    simulate_help = samenspraak("simulate", "--help")
    assert simulate_help.returncode == 0
    for option in ("--scenario FILE", "--names FIRST SECOND", "--duration NAME=SECONDS",
                   "--lang"):
        assert option in simulate_help.stdout


def test_every_option_of_every_command_is_explained() -> None:
    from assistant.cli.settings import build_parser

    (commands,) = (a for a in build_parser()._actions
                   if isinstance(a, argparse._SubParsersAction))
    unexplained = [f"{name} {action.dest}" for name, sub in commands.choices.items()
                   for action in sub._actions
                   if not isinstance(action, argparse._HelpAction) and not action.help]
    assert unexplained == []
    assert "--duration" not in samenspraak("record", "--help").stdout  # nothing timed there


def test_a_stuck_simulation_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    exercise = tmp_path / "one-turn.toml"
    exercise.write_text('id = "one-turn"\nlang = "nl"\ntitle = "Eén beurt"\n'
                        'description = "Een lange beurt."\nminutes = 5\n'
                        '[[step]]\nkind = "turn"\ntext = "{speaker}, vertel."\n'
                        'seconds = 200000\n', encoding="utf-8")
    scenario = tmp_path / "forever.toml"
    scenario.write_text("[[reply]]\ntalk = 100000\n", encoding="utf-8")  # longer than a day
    result = samenspraak("simulate", "--file", str(exercise), "--scenario", str(scenario))
    assert result.returncode == 2
    assert result.stderr.startswith("samenspraak: the simulation got stuck: still running")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize("exercise_id", ["spiegelen", "mirroring"])
def test_the_example_scenarios_run_to_the_end(exercise_id: str) -> None:
    result = samenspraak("simulate", exercise_id, "--scenario",
                         str(ROOT / "examples" / f"{exercise_id}.toml"))
    assert result.returncode == 0, result.stderr
    events = lines(result.stdout)
    assert events[-2]["reason"] == "finished"
    assert events[-1]["mirrors_confirmed"] == 2


def test_a_logged_failure_is_one_line_unless_asked_for_more() -> None:
    import logging

    from assistant.cli import _Brief

    try:
        raise OSError("the disk is full")
    except OSError:
        record = logging.LogRecord("assistant.live", logging.ERROR, __file__, 1,
                                   "playing a prompt failed", None, sys.exc_info())
    brief = _Brief("%(levelname)s %(name)s: %(message)s", full=False).format(record)
    assert brief == ("ERROR assistant.live: playing a prompt failed "
                     "(OSError: the disk is full; -v shows where)")
    full = _Brief("%(levelname)s %(name)s: %(message)s", full=True).format(record)
    assert "Traceback (most recent call last)" in full
