"""A practice, not a one-off: the local history, the read-back, the picture, forgetting."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from pathlib import Path

import pytest
from test_cli import samenspraak

from assistant.engine.texts import load_texts
from assistant.history import DB_NAME, History, SessionRecord

NL = load_texts("nl")
AGREEMENT = "elke avond tien minuten praten zonder telefoon"
EXERCISE = """id = "afspraak"
lang = "nl"
title = "Een afspraak"
description = "Een korte oefening met een afspraak."
minutes = 5

[[step]]
kind = "turn"
text = "{speaker}, vertel."
seconds = 60

[[step]]
kind = "agree"
text = "Wat spreken jullie af?"
seconds = 60
"""


def lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "afspraak.toml").write_text(EXERCISE, encoding="utf-8")
    return {"exercise": tmp_path / "afspraak.toml", "home": tmp_path / "home"}


def scenario(tmp_path: Path, *replies: str) -> Path:
    path = tmp_path / f"s{len(list(tmp_path.glob('s*.toml')))}.toml"
    path.write_text("".join(replies), encoding="utf-8")
    return path


def say(text: str) -> str:
    return f'[[reply]]\nsay = "{text}"\n'


def talk(seconds: int) -> str:
    return f"[[reply]]\ntalk = {seconds}\n"


def simulate(files: dict[str, Path], scenario_file: Path, *extra: str) -> list[dict]:
    result = samenspraak("simulate", "--file", str(files["exercise"]), "--scenario",
                         str(scenario_file), "--names", "Anna", "Ben", *extra)
    assert result.returncode == 0, result.stderr
    return lines(result.stdout)


def first_session(tmp_path: Path, files: dict[str, Path], consent: str = "ja") -> list[dict]:
    return simulate(files, scenario(tmp_path, talk(20), say("klaar"), say(AGREEMENT),
                                    say("klaar"), say(consent)), "--home", str(files["home"]))


def said(events: list[dict]) -> list[str]:
    return [e["text"] for e in events if e["type"] == "say"]


def test_the_next_session_opens_with_last_times_agreement(tmp_path: Path, files: dict) -> None:
    first = first_session(tmp_path, files)
    assert NL.lines("practice_may_keep")[0] in said(first)
    second = simulate(files, scenario(tmp_path, say("nee"), talk(10), say("klaar")),
                      "--home", str(files["home"]))
    texts = said(second)
    opening = texts.index(NL.line("practice_last_time"))
    assert texts[opening + 1] == AGREEMENT
    assert texts[opening + 2:opening + 4] == NL.lines("practice_how_did_it_go")
    first_turn = next(i for i, e in enumerate(second)
                      if e["type"] == "phase" and e["phase"] == "speaking")
    read_back = next(i for i, e in enumerate(second) if e.get("text") == AGREEMENT)
    assert read_back < first_turn  # read back before the first turn
    assert NL.lines("practice_went_badly")[0] in texts  # 'nee': a short, kind follow-up
    assert NL.lines("practice_may_keep")[0] not in texts  # asked once per couple
    listing = samenspraak("history", "--home", str(files["home"]))
    assert listing.returncode == 0
    rows = listing.stdout.splitlines()
    assert len(rows) == 2 and all("afspraak" in r and "Anna" in r and "Ben" in r for r in rows)
    assert AGREEMENT in rows[0]


def test_the_listing_keeps_its_columns_with_long_names() -> None:
    from assistant.history import iter_lines

    def record(names: tuple[str, str], exercise: str) -> SessionRecord:
        return SessionRecord(started=dt.datetime(2026, 11, 29, 20, 0), exercise=exercise,
                             lang="nl", names=names, ended="finished", seconds=600,
                             speaking={names[0]: 100, names[1]: 300}, agreements=("wandelen",))

    rows = list(iter_lines([record(("Anna", "Ben"), "spiegelen"),
                            record(("Maria-Magdalena", "Bartholomeus"), "mijn-eigen-oefening")]))
    starts = [[row.index(part) for part in ("min", "finished", "wandelen")] for row in rows]
    assert starts[0] == starts[1], rows


def test_without_home_a_simulation_touches_no_file(tmp_path: Path, files: dict) -> None:
    home = Path(os.environ["SAMENSPRAAK_HOME"])
    before = sorted(home.rglob("*"))
    events = simulate(files, scenario(tmp_path, talk(5), say("klaar"), say(AGREEMENT),
                                      say("klaar")))
    assert sorted(home.rglob("*")) == before
    assert NL.lines("practice_may_keep")[0] not in said(events)  # no history, no question


def test_nee_keeps_no_agreement_of_that_couple(tmp_path: Path, files: dict) -> None:
    first_session(tmp_path, files, consent="nee")
    second = simulate(files, scenario(tmp_path, talk(5), say("klaar"), say("iets anders"),
                                      say("klaar")), "--home", str(files["home"]))
    assert NL.line("practice_last_time") not in said(second)
    assert NL.lines("practice_may_keep")[0] not in said(second)
    with History(files["home"]) as history:
        assert [r.agreements for r in history.sessions()] == [(), ()]
    assert AGREEMENT.encode() not in (files["home"] / DB_NAME).read_bytes()


def test_files_are_owner_only_and_the_picture_shows_both(tmp_path: Path, files: dict) -> None:
    first_session(tmp_path, files)
    with History(files["home"]) as history:  # an evening where Ben talked more
        history.save(SessionRecord(
            started=dt.datetime(2026, 11, 29, 20, 0), exercise="spiegelen", lang="nl",
            names=("Anna", "Ben"), ended="finished", seconds=600,
            speaking={"Anna": 120, "Ben": 200},
            turns=(("Anna", 10, 130), ("Ben", 150, 350))))
    picture = tmp_path / "share.png"
    result = samenspraak("history", "--home", str(files["home"]), "--picture", str(picture))
    assert result.returncode == 0, result.stderr
    mode = stat.S_IMODE
    assert mode(files["home"].stat().st_mode) == 0o700
    assert mode((files["home"] / "recordings").stat().st_mode) == 0o700
    assert mode((files["home"] / DB_NAME).stat().st_mode) == 0o600
    assert mode(picture.stat().st_mode) == 0o600
    from matplotlib import image

    from assistant.picture import COLOURS

    pixels = image.imread(str(picture))[:, :, :3].reshape(-1, 3)
    for colour in COLOURS:  # both partners are drawn, in their own colour
        rgb = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        assert ((abs(pixels - rgb) < 0.02).all(axis=1)).sum() > 500, colour


def test_the_picture_takes_the_format_its_name_says(tmp_path: Path, files: dict) -> None:
    first_session(tmp_path, files)
    svg = tmp_path / "share.svg"
    result = samenspraak("history", "--home", str(files["home"]), "--picture", str(svg))
    assert result.returncode == 0, result.stderr
    assert svg.read_text(encoding="utf-8").lstrip().startswith("<?xml")
    result = samenspraak("history", "--home", str(files["home"]), "--picture",
                         str(tmp_path / "share.doc"))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"samenspraak: cannot write {tmp_path / 'share.doc'}: "
                                     "cannot draw a .doc picture; use a file name ending in "
                                     ".png, .svg or .pdf")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("share", ".pic"))) \
        == ["share.svg"]


def test_forget_yes_leaves_nothing_behind(tmp_path: Path, files: dict) -> None:
    first_session(tmp_path, files)
    (files["home"] / "recordings" / "x.wav").write_bytes(b"RIFF")
    result = samenspraak("forget", "--yes", "--home", str(files["home"]))
    assert result.returncode == 0 and "deleted 1 session" in result.stdout
    with History(files["home"]) as history:
        assert history.sessions() == [] and history.keep_agreements(("Anna", "Ben")) is None
    assert list((files["home"] / "recordings").iterdir()) == []
    assert AGREEMENT.encode() not in (files["home"] / DB_NAME).read_bytes()


def test_reading_an_empty_history_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "home"
    for command in (["history"], ["forget", "--yes"]):
        result = samenspraak(*command, "--home", str(missing))
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == \
            f"no sessions kept in {missing} (the folder does not exist)"
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "empty").mkdir()
    result = samenspraak("history", "--home", str(tmp_path / "empty"))
    assert result.stdout.strip() == f"no sessions kept in {tmp_path / 'empty'}"
    assert list((tmp_path / "empty").iterdir()) == []


def test_forget_one_couple_only(tmp_path: Path, files: dict) -> None:
    first_session(tmp_path, files)
    simulate(files, scenario(tmp_path, talk(5)), "--home", str(files["home"]), "--names",
             "Kim", "Sam")
    result = samenspraak("forget", "--couple", "anna", "BEN", "--yes", "--home",
                         str(files["home"]))
    assert "deleted 1 session" in result.stdout
    with History(files["home"]) as history:
        assert [r.names for r in history.sessions()] == [("Kim", "Sam")]


def test_forget_without_a_terminal_or_yes_deletes_nothing(tmp_path: Path, files: dict) -> None:
    first_session(tmp_path, files)
    result = samenspraak("forget", "--home", str(files["home"]))
    assert result.returncode == 2 and "--yes" in result.stderr
    with History(files["home"]) as history:
        assert len(history.sessions()) == 1


def test_a_corrupt_database_is_set_aside_and_a_fresh_one_started(tmp_path: Path,
                                                                 files: dict) -> None:
    files["home"].mkdir(mode=0o700)
    (files["home"] / DB_NAME).write_bytes(b"this is not a database" * 100)
    events = first_session(tmp_path, files)
    assert events[-1]["type"] == "summary"
    aside = list(files["home"].glob(f"{DB_NAME}.damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not a database")
    with History(files["home"]) as history:
        assert len(history.sessions()) == 1


def test_days_in_a_row_are_counted_up_to_today_or_yesterday(tmp_path: Path) -> None:
    today = dt.date(2026, 11, 30)
    with History(tmp_path / "home") as history:
        for days_ago in (1, 2, 3, 5):
            history.save(SessionRecord(
                started=dt.datetime.combine(today - dt.timedelta(days=days_ago),
                                            dt.time(20, 0)),
                exercise="dagelijks-gesprek", lang="nl", names=("Anna", "Ben"),
                ended="finished", seconds=600, speaking={"Anna": 200, "Ben": 180}))
        assert history.evenings_in_a_row(("Ben", "Anna"), "dagelijks-gesprek", today) == 3
        assert history.evenings_in_a_row(("Anna", "Ben"), "spiegelen", today) == 0


def test_who_spoke_when_is_kept(tmp_path: Path, files: dict) -> None:
    first_session(tmp_path, files)
    with History(files["home"]) as history:
        (record,) = history.sessions()
    assert record.turns and record.turns[0][0] == "Anna"
    assert record.turns[0][2] - record.turns[0][1] == pytest.approx(20.0)
    assert record.speaking["Anna"] == pytest.approx(20.0)
