"""For coaches: new and validate, the timer (on the virtual clock), + and − on the running timer,
the session's view, and the live display with single keys in a pseudo-terminal."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from simkit import run, talk
from test_cli import samenspraak

from assistant.engine.clock import VirtualClock
from assistant.engine.messages import AdjustTime, KeyCommand, PlayChime, Proceed, Say, Stop
from assistant.engine.session import Session
from assistant.engine.texts import load_texts
from assistant.engine.timer import timer_exercise
from assistant.engine.timing import Timing

ROOT = Path(__file__).parent.parent


# --- new and validate ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_template_from_new_validates_and_runs_in_simulate(tmp_path: Path, lang: str,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.chdir(tmp_path)
    made = samenspraak("new", "mijn-oefening", "--lang", lang)
    assert made.returncode == 0, made.stderr
    path = tmp_path / "mijn-oefening.toml"
    assert "# " in path.read_text(encoding="utf-8")  # commented for a coach
    checked = samenspraak("validate", str(path))
    assert checked.returncode == 0 and f"{path}: ok" in checked.stdout
    scenario = tmp_path / "s.toml"
    scenario.write_text('[[reply]]\nsay = "verder"\n[[reply]]\nsay = "ja"\n[[reply]]\n'
                        'say = "ja"\n' if lang == "nl" else
                        '[[reply]]\nsay = "next"\n[[reply]]\nsay = "yes"\n[[reply]]\n'
                        'say = "yes"\n', encoding="utf-8")
    result = samenspraak("simulate", "--file", str(path), "--scenario", str(scenario))
    assert result.returncode == 0, result.stderr
    kinds = {line.split('"phase": "')[1].split('"')[0]
             for line in result.stdout.splitlines() if '"type": "phase"' in line}
    assert {"speaking", "mirroring", "reflecting", "discussing", "agreeing"} <= kinds
    assert '"reason": "finished"' in result.stdout


def test_new_refuses_to_overwrite_and_a_bad_name(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "eigen.toml").write_text("mine", encoding="utf-8")
    again = samenspraak("new", "eigen")
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "exists" in again.stderr
    assert (tmp_path / "eigen.toml").read_text(encoding="utf-8") == "mine"
    bad = samenspraak("new", "../elders")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_validate_reports_all_three_mistakes_of_a_file_and_every_file(tmp_path: Path) -> None:
    bad = tmp_path / "fout.toml"
    bad.write_text('id = "fout"\nlang = "nl"\ntitle = "Fout"\ndescription = "Drie fouten."\n'
                   'minutes = 5\n\n[[step]]\nkind = "turn"\ntext = "Vertel."\nseconds = -5\n\n'
                   '[[step]]\nkind = "zingen"\ntext = "La."\n\n'
                   '[[step]]\nkind = "mirror"\ntext = "Zeg het terug, {partner}."\n',
                   encoding="utf-8")
    samenspraak_dir = tmp_path / "goed"
    samenspraak_dir.mkdir()
    good = ROOT / "assistant" / "exercises" / "nl" / "spiegelen.toml"
    result = samenspraak("validate", str(bad), str(good))
    assert result.returncode == 2
    out = result.stdout.splitlines()
    assert f"{bad}: step 1 (turn): field 'seconds': must not be negative, got -5" in out
    assert any(line.startswith(f"{bad}: step 2: field 'kind': unknown step kind 'zingen'")
               for line in out)
    assert any(line.startswith(f"{bad}: step 3 (mirror): field 'text': unknown placeholder "
                               "{partner}") for line in out)
    assert f"{good}: ok" in result.stdout
    assert "3 problems" in result.stderr
    assert samenspraak("validate", str(good)).returncode == 0


def test_run_still_names_the_first_problem_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "fout.toml"
    bad.write_text('id = "fout"\nlang = "nl"\ntitle = "Fout"\ndescription = "Twee."\n'
                   'minutes = 5\n[[step]]\nkind = "say"\n[[step]]\nkind = "zingen"\n',
                   encoding="utf-8")
    result = samenspraak("run", "--file", str(bad), "--names", "A", "B", "--input", "text")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "missing field 'text' (and 1 more)" in result.stderr


# --- the timer ----------------------------------------------------------------------------------


def test_timer_gives_each_partner_the_floor_then_a_mirror_then_swaps_for_the_rounds() -> None:
    ex = timer_exercise(load_texts("nl"), 90, 30, 2)
    r = run(ex, [])
    roles = [(e["phase"], e["speaker"]) for e in r.of("phase")
             if e["phase"] in ("speaking", "mirroring")]
    assert roles == [("speaking", "Anna"), ("mirroring", "Anna"), ("speaking", "Ben"),
                     ("mirroring", "Ben")] * 2
    said = r.said()
    assert "Anna, jij hebt het woord. Je hebt anderhalve minuut." in said
    assert "Ben, zeg terug wat je hoorde." in said and "Nu wisselen jullie." in said
    assert not any("klopt dat" in line for line in said)  # a timed mirror, no question
    assert r.phases().count("confirming") == 0 and r.end["reason"] == "finished"


def test_timer_turns_and_mirrors_run_their_time() -> None:
    r = run(timer_exercise(load_texts("en"), 60, 20, 1), [talk(100), talk(100)],
            Timing(silence_ends_turns=False))
    first = r.first("phase", phase="speaking")["t"]
    mirror = r.first("phase", phase="mirroring")["t"]
    assert mirror - first == 60 and r.first("timer", event="warning")["remaining"] == 30
    assert "Anna, you have the floor. You have one minute." in r.said()


def test_timer_on_the_command_line(tmp_path: Path) -> None:
    bad = samenspraak("timer", "--turn", "twee")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "90s, 2m" in bad.stderr
    events = tmp_path / "ev.jsonl"
    result = samenspraak("timer", "--names", "Anna", "Ben", "--turn", "2m", "--mirror", "45s",
                         "--rounds", "1", "--input", "text", "--events", str(events),
                         stdin="\n\n\n\n")
    assert result.returncode == 0, result.stderr
    assert "» Anna, jij hebt het woord. Je hebt 2 minuten." in result.stdout
    assert "Samenvatting" not in result.stdout  # typed lines: no speaking time to sum up
    assert "sprak" not in result.stdout and "Spiegelen" not in result.stdout
    quiet = samenspraak("timer", "--names", "Anna", "Ben", "--input", "text", "--quiet",
                        stdin="\n\n")
    assert "»" not in quiet.stdout.replace(load_texts("nl").line("prompt_hint"), "")
    assert "♪" in quiet.stdout


# --- + and −, the view --------------------------------------------------------------------------


class Driver:
    """A timer session on a virtual clock; prompts are heard only when the test says so."""

    def __init__(self) -> None:
        self.clock = VirtualClock()
        self.session = Session(timer_exercise(load_texts("nl"), 120, 60, 1), ("Anna", "Ben"),
                               load_texts("nl"), self.clock, Timing(silence_ends_turns=False))
        self.unheard: list[int] = []
        self.take(self.session.start())

    def take(self, effects: list) -> list:
        self.unheard += [e.prompt for e in effects if isinstance(e, Say | PlayChime)]
        return effects

    def hear_all(self) -> None:
        from assistant.engine.messages import PromptPlayed

        while self.unheard:
            self.take(self.session.handle(PromptPlayed(self.unheard.pop(0))))

    def handle(self, item: object) -> list:
        return self.take(self.session.handle(item))  # type: ignore[arg-type]

    def advance(self, seconds: float) -> list:
        self.clock.advance(seconds)
        return self.take(self.session.tick())


def test_plus_and_minus_move_the_running_timer_and_its_warning_by_30_seconds() -> None:
    d = Driver()
    d.hear_all()
    d.advance(10)
    view = d.session.view()
    assert view.phase == "speaking" and view.speaker == "Anna" and view.listener == "Ben"
    assert view.seconds_left == 110 and view.seconds_total == 120
    assert view.next_kind == "mirror" and view.next_listener == "Ben"
    d.handle(AdjustTime(30))
    assert d.session.view().seconds_left == 140 and d.session.view().seconds_total == 150
    d.handle(AdjustTime(-30))
    d.handle(AdjustTime(-30))
    assert d.session.view().seconds_left == 80
    early = d.advance(49)
    assert not any(isinstance(e, Say) and e.text.startswith("Nog") for e in early)
    d.handle(AdjustTime(0))  # nothing moves; the warning is due at 30 s left
    warning = d.advance(1)
    assert d.session.view().seconds_left == 30
    assert any(isinstance(e, Say) and e.text.startswith("Nog") for e in warning)
    d.advance(30)
    assert d.session.phase.value == "mirroring"


def test_a_timer_never_goes_below_a_second_and_adjusting_is_logged() -> None:
    d = Driver()
    d.hear_all()
    for _ in range(6):
        effects = d.handle(AdjustTime(-30))
    assert d.session.view().seconds_left == 1
    logged = [e.event for e in effects if type(e).__name__ == "Log"]
    assert logged and logged[-1].event == "adjusted" and logged[-1].remaining == 1


def test_keys_act_at_once_while_a_prompt_is_still_playing() -> None:
    d = Driver()  # nothing heard yet: the welcome and the floor sentence are still playing
    assert d.unheard
    left = d.session.view().seconds_left
    d.handle(AdjustTime(30))
    assert d.session.view().seconds_left == left + 30  # frozen until heard, but moved
    d.handle(KeyCommand(d.session.view() and __import__("assistant.engine.messages",
                                                        fromlist=["Intent"]).Intent.PAUSE))
    assert d.session.view().paused
    d.handle(Stop())
    assert d.session.done


def test_space_is_next_during_the_timer() -> None:
    d = Driver()
    d.hear_all()
    d.handle(Proceed())
    assert d.session.view().phase == "mirroring"


# --- the display --------------------------------------------------------------------------------


def test_keys_map_to_inputs() -> None:
    from assistant.display import key_input
    from assistant.engine.messages import Intent

    assert key_input(" ") == Proceed() and key_input("q") == Stop()
    assert key_input("+") == AdjustTime(30) and key_input("-") == AdjustTime(-30)
    assert key_input("P") == KeyCommand(Intent.PAUSE) and key_input("t") == KeyCommand(
        Intent.TIMEOUT) and key_input("r") == KeyCommand(Intent.REPEAT)
    assert key_input("x") is None


def test_the_display_shows_who_the_phase_the_countdown_next_and_the_share() -> None:
    from rich.console import Console

    from assistant.display import big_digits, plain_line, render, screen_labels

    d = Driver()
    d.hear_all()
    d.advance(30)
    labels = screen_labels("nl")
    console = Console(width=80, record=True, color_system=None, file=open(os.devnull, "w"))
    console.print(render(d.session.view(), labels, 80))
    text = console.export_text()
    assert "Anna heeft het woord" in text and "Ben luistert" in text
    assert "aan het woord" in text and "Hierna: Ben zegt terug" in text
    assert big_digits("1:30")[0] in text and "█" in text and "░" in text
    assert "Spreektijd" in text and "q stop" in text
    assert plain_line(d.session.view(), labels).startswith("[aan het woord]  Anna heeft het woord")


def _adjusted(events: Path, count: int, fd: int | None = None, seen: bytearray | None = None,
              timeout: float = 15.0) -> list[tuple[float, float]]:
    """(t, seconds left) of the first ``count`` 'adjusted' timer events, once they are logged.

    With ``fd``, the terminal is read meanwhile: a display nobody reads blocks on a full
    terminal, and then no key is acted on."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        lines = events.read_text().splitlines() if events.exists() else []
        found = [(e["t"], e["remaining"]) for e in map(json.loads, lines)
                 if e["type"] == "timer" and e["event"] == "adjusted"]
        if len(found) >= count:
            return found[:count]
        if fd is not None and seen is not None and select.select([fd], [], [], 0.05)[0]:
            seen += os.read(fd, 65536)
        else:
            time.sleep(0.05)  # a real child process on its real clock
    raise AssertionError(f"fewer than {count} 'adjusted' events in {events}")


def _read_until(fd: int, pattern: str, seen: bytearray, timeout: float = 15.0) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        text = seen.decode("utf-8", "replace")
        if re.search(pattern, text):
            return text
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
    raise AssertionError(f"{pattern!r} not seen in {seen.decode('utf-8', 'replace')[-2000:]}")


def test_the_timer_in_a_pseudo_terminal_keys_act_and_q_ends_it(
        tmp_path: Path) -> None:
    import fcntl
    import struct
    import termios

    main_fd, child_fd = os.openpty()
    fcntl.ioctl(child_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 90, 0, 0))
    events = tmp_path / "ev.jsonl"
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "90", "LINES": "30"}
    child = subprocess.Popen(
        [sys.executable, "-m", "assistant", "timer", "--names", "Anna", "Ben", "--turn", "90s",
         "--mirror", "30s", "--rounds", "1", "--input", "text", "--events", str(events)],
        stdin=child_fd, stdout=child_fd, stderr=child_fd, cwd=ROOT, env=env,
        start_new_session=True)
    os.close(child_fd)
    seen = bytearray()
    try:
        _read_until(main_fd, r"Anna heeft het woord", seen)
        _read_until(main_fd, r"q stop", seen)
        for count, key in enumerate((b"+", b"-", b"-"), start=1):
            os.write(main_fd, key)
            _adjusted(events, count, main_fd, seen)  # it acted before the next key comes
        os.write(main_fd, b" ")
        _read_until(main_fd, r"Ben zegt terug", seen)
        os.write(main_fd, b"q")
        end = time.monotonic() + 15
        while child.poll() is None and time.monotonic() < end:  # read on while it closes
            if select.select([main_fd], [], [], 0.1)[0]:
                try:
                    seen += os.read(main_fd, 65536)
                except OSError:  # the child closed the terminal
                    break
        assert child.wait(timeout=15) == 0
    finally:
        if child.poll() is None:
            child.kill()
        os.close(main_fd)
    log = [json.loads(line) for line in events.read_text().splitlines()]
    adjusted = _adjusted(events, 3)
    assert len(adjusted) == 3
    (t0, left0), (t1, left1), (t2, left2) = adjusted
    assert 118 <= left0 <= 120
    # each key moved the time left by 30 s, whatever time passed between the keys
    assert (left0 - left1) - (t1 - t0) == pytest.approx(30, abs=0.2)
    assert (left1 - left2) - (t2 - t1) == pytest.approx(30, abs=0.2)
    assert [e["reason"] for e in log if e["type"] == "end"] == ["stopped"]
    assert any(e["type"] == "phase" and e["phase"] == "mirroring" for e in log)
