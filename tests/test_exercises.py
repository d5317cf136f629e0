"""Exercise files: every built-in one is valid and complete; every kind of bad file is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from simkit import run

from assistant.engine.exercises import (
    STEP_KINDS,
    ExerciseError,
    builtin_ids,
    find_exercise,
    load_exercise_file,
    parse_exercise,
)

NL = ["ben-je-er-voor-mij", "dagelijks-gesprek", "dankbaarheid", "herstelgesprek",
      "samen-besluiten", "spiegelen", "toekomstbeeld", "verzoening", "waardenkaart"]
EN = ["are-you-there", "daily-check-in", "decide-together", "future-picture", "gratitude",
      "mirroring", "reconciliation", "repair-talk", "values-map"]
ALL = [(i, "nl") for i in NL] + [(i, "en") for i in EN]

SILENT_BOUND_SECONDS = 120
"""A silent couple ends each exercise within its expected minutes plus this bound."""


def test_the_nine_exercises_exist_in_both_languages() -> None:
    assert builtin_ids("nl") == NL
    assert builtin_ids("en") == EN


@pytest.mark.parametrize(("exercise_id", "lang"), ALL)
def test_builtin_exercise_is_valid_and_swaps_roles(exercise_id: str, lang: str) -> None:
    ex = find_exercise(exercise_id, lang)
    assert ex.lang == lang and ex.minutes > 0
    kinds = [s.kind for s in ex.steps]
    assert "swap" in kinds, "both partners must get the floor"
    assert {"turn", "discuss", "agree", "reflect"} & set(kinds)


def test_dutch_and_english_files_have_the_same_shape() -> None:
    for nl_id, en_id in zip(sorted(NL), [
            "are-you-there", "daily-check-in", "gratitude", "repair-talk", "decide-together",
            "mirroring", "future-picture", "reconciliation", "values-map"], strict=True):
        nl, en = find_exercise(nl_id, "nl"), find_exercise(en_id, "en")
        assert [(s.kind, s.seconds) for s in nl.steps] == \
            [(s.kind, s.seconds) for s in en.steps], (nl_id, en_id)
        assert nl.minutes == en.minutes


@pytest.mark.parametrize(("exercise_id", "lang"), ALL)
def test_a_silent_couple_reaches_done_in_time(exercise_id: str, lang: str) -> None:
    ex = find_exercise(exercise_id, lang)
    r = run(ex, [])
    assert r.phases()[-1] == "done"
    assert r.end["reason"] == "finished"
    assert r.summary["t"] <= ex.minutes * 60 + SILENT_BOUND_SECONDS


def test_language_is_found_from_the_id() -> None:
    assert find_exercise("mirroring", None).lang == "en"
    assert find_exercise("spiegelen", None).lang == "nl"


def test_unknown_exercise_names_the_choices() -> None:
    with pytest.raises(ExerciseError, match="unknown exercise 'bestaat-niet'.*spiegelen"):
        find_exercise("bestaat-niet", "nl")


GOOD_HEAD = 'id = "eigen"\nlang = "nl"\ntitle = "Eigen"\ndescription = "Eigen oefening."\n' \
            'minutes = 5\n'


def write(tmp_path: Path, body: str, head: str = GOOD_HEAD) -> Path:
    path = tmp_path / "eigen.toml"
    path.write_text(head + body, encoding="utf-8")
    return path


def test_a_title_is_said_as_written_so_it_takes_no_placeholders(tmp_path: Path) -> None:
    head = GOOD_HEAD.replace('title = "Eigen"', 'title = "Gesprek van {speaker}"')
    with pytest.raises(ExerciseError, match=r"field 'title': placeholders such as \{speaker\} "
                                            r"are not filled in here"):
        load_exercise_file(write(tmp_path, '[[step]]\nkind = "say"\ntext = "Hoi."\n', head))


def test_a_file_as_editors_save_it(tmp_path: Path) -> None:
    body = '[[step]]\nkind = "say"\ntext = "Één café."\n'
    path = write(tmp_path, body)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # a byte-order mark: fine
    assert load_exercise_file(path).steps[0].text == ("Één café.",)
    path.write_bytes((GOOD_HEAD + body).encode("latin-1"))  # not UTF-8: said plainly
    with pytest.raises(ExerciseError, match=r"is not UTF-8 text .*; save it as UTF-8"):
        load_exercise_file(path)
    with pytest.raises(ExerciseError, match=r"field 'minutes': must be a number of minutes"):
        load_exercise_file(write(tmp_path, body, GOOD_HEAD.replace("minutes = 5",
                                                                   'minutes = "5"')))


def test_a_coach_file_loads_through_the_same_loader(tmp_path: Path) -> None:
    ex = load_exercise_file(write(tmp_path, '[[step]]\nkind = "turn"\ntext = "Vertel."\n'
                                            'seconds = 90\nwarn_at = [20, 45]\n'))
    assert ex.steps[0].seconds == 90.0 and ex.steps[0].warn_at == (45.0, 20.0)


BAD = [
    ('[[step]]\nkind = "zingen"\ntext = "La."\n',
     r"step 1: field 'kind': unknown step kind 'zingen' \(use one of say, swap"),
    ('[[step]]\nkind = "say"\n', r"step 1 \(say\): missing field 'text'"),
    ('[[step]]\nkind = "turn"\ntext = "Vertel."\nseconds = -5\n',
     r"step 1 \(turn\): field 'seconds': must not be negative, got -5"),
    ('[[step]]\nkind = "turn"\ntext = "Vertel."\nseconds = "lang"\n',
     r"step 1 \(turn\): field 'seconds': must be a number of seconds, got 'lang'"),
    ('[[step]]\nkind = "turn"\ntext = "Vertel."\nseconds = true\n',
     r"field 'seconds': must be a number of seconds, got True"),
    ('[[step]]\nkind = "say"\ntext = "Hoi."\nclosing = ["Dag."]\n',
     r"step 1 \(say\): field 'closing' belongs to the whole exercise: move it above the "
     r"first \[\[step\]\]"),
    ('[[step]]\nkind = "turn"\ntext = "Vertel."\nseconds = 120\nchunk_seconds = 0\n',
     r"step 1 \(turn\): field 'chunk_seconds': must be more than 0 seconds"),
    ('[[step]]\nkind = "ask"\nto = "each"\ntext = "{name}, nu?"\n'
     'no = { say = "Dank je {name}.", then = "end" }\n',
     r"step 1 \(ask\): field 'no': unknown placeholder \{name\}"),
    ('[[step]]\nkind = "say"\ntext = "Hoi."\n\n[[step]]\nkind = "say"\ntext = "Hoi."\n'
     'kleur = "rood"\n',
     r"step 2 \(say\): unknown field 'kleur' \(allowed: id, kind, seconds, seeds, text, wait\)"),
    ('[[step]]\nkind = "say"\ntext = 5\n',
     r"step 1 \(say\): field 'text': must be a sentence or a list of sentences"),
    ('[[step]]\nkind = "mirror"\ntext = "Zeg."\nmore = "ja"\n',
     r"field 'more': must be true or false, got 'ja'"),
    ('[[step]]\nkind = "mirror"\ntext = "Zeg."\nattempts = 0\n',
     r"field 'attempts': must be a whole number of at least 1"),
    ('[[step]]\nkind = "ask"\ntext = "Ja?"\nto = "buurman"\n',
     r"field 'to': must be one of both, each, speaker, listener"),
    ('[[step]]\nkind = "ask"\ntext = "Ja?"\nyes = { then = "nergens" }\n',
     r"field 'yes': then = 'nergens' must be 'continue', 'end' or the id of a later step"),
    ('[[step]]\nkind = "say"\ntext = "Hoi {partner}."\n',
     r"field 'text': unknown placeholder \{partner\}"),
    ('[[step]]\nkind = "turn"\ntext = "Vertel."\nseconds = 60\nwarn_at = [60]\n',
     r"field 'warn_at': every warning must come before the end"),
    ('[[step]]\nkind = "say"\ntext = "Hoi."\nkind = "say"\n', r"invalid TOML: .*line 9"),
    ('[[step]\nkind = "say"\n', r"invalid TOML: .*line 6"),
    ('', r"no steps: add at least one \[\[step\]\] table"),
    ('[[step]]\nkind = "say"\ntext = "Hoi."\nseeds = ["een artikel"]\n',
     r"field 'seeds': each reference is an article number"),
    ('[[step]]\nkind = "say"\ntext = "Hoi."\nseconds = 20\n',
     r"step 1 \(say\): field 'seconds': only with wait = true"),
    ('[[step]]\nkind = "ask"\ntext = "Ja?"\nassign_speaker = true\n',
     r"field 'assign_speaker': needs to = \"each\""),
    ('[[step]]\nkind = "ask"\nto = "each"\ntext = "{name}?"\nboth = { then = "end" }\n',
     r"field 'both': needs assign_speaker = true"),
    ('[[step]]\nkind = "mirror"\ntext = "Zeg."\nconfirmed_then = "nergens"\n',
     r"field 'confirmed_then': then = 'nergens' must be"),
]


@pytest.mark.parametrize(("body", "message"), BAD)
def test_bad_file_is_refused_naming_file_step_and_field(tmp_path: Path, body: str,
                                                        message: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ExerciseError, match=message) as caught:
        load_exercise_file(path)
    assert str(caught.value).startswith(str(path))
    assert "\n" not in str(caught.value)


def test_top_level_mistakes_are_named(tmp_path: Path) -> None:
    body = '[[step]]\nkind = "say"\ntext = "Hoi."\n'
    for head, message in [
        (GOOD_HEAD.replace('minutes = 5', 'minutes = "vijf"'), "field 'minutes'"),
        (GOOD_HEAD.replace('lang = "nl"', 'lang = "de"'), "field 'lang': must be one of nl, en"),
        (GOOD_HEAD.replace('title = "Eigen"\n', ''), "missing field 'title'"),
        (GOOD_HEAD + 'auteur = "ik"\n', "unknown field 'auteur'"),
    ]:
        with pytest.raises(ExerciseError, match=message):
            load_exercise_file(write(tmp_path, body, head))


def problems_of(tmp_path: Path, body: str) -> list[str]:
    """Every problem of the file with ``body`` as its steps, without the file name."""
    path = write(tmp_path, body)
    with pytest.raises(ExerciseError) as caught:
        load_exercise_file(path)
    return [problem.removeprefix(f"{path}: ") for problem in caught.value.problems]


UNKNOWN = "unknown placeholder {{{}}} (allowed: {{listener}}, {{speaker}})"
NOWHERE = "then = 'nowhere' must be 'continue', 'end' or the id of a later step"


@pytest.mark.parametrize(("body", "expected"), [
    pytest.param('[[step]]\nkind = "say"\ntext = "Hoi {foo}."\n\n'
                 '[[step]]\nkind = "ask"\ntext = "Ja?"\nno = { then = "nowhere" }\n\n'
                 '[[step]]\nkind = "turn"\ntext = "Vertel."\nseconds = -1\n',
                 ["step 1 (say): field 'text': " + UNKNOWN.format("foo"),
                  "step 3 (turn): field 'seconds': must not be negative, got -1",
                  "step 2 (ask): field 'no': " + NOWHERE],
                 id="a problem in every step and a bad jump"),
    pytest.param('[[step]]\nkind = "say"\ntext = "Hoi {speaker en {foo}."\n\n'
                 '[[step]]\nkind = "say"\ntext = ["{bar} {baz}", "{bar}"]\n\n'
                 '[[step]]\nkind = "ask"\ntext = "Ja?"\n'
                 'no = { say = "Jammer {bar}.", then = "nowhere" }\n',
                 ["step 1 (say): field 'text': has a broken {placeholder}: unexpected '{' in "
                  "field name",
                  "step 1 (say): field 'text': " + UNKNOWN.format("foo"),
                  "step 2 (say): field 'text': " + UNKNOWN.format("bar"),
                  "step 2 (say): field 'text': " + UNKNOWN.format("baz"),
                  "step 3 (ask): field 'no': " + UNKNOWN.format("bar"),
                  "step 3 (ask): field 'no': " + NOWHERE],
                 id="every placeholder problem of a text"),
])
def test_every_problem_is_reported_at_once(tmp_path: Path, body: str,
                                           expected: list[str]) -> None:
    assert problems_of(tmp_path, body) == expected


def test_a_jump_to_a_step_with_problems_is_no_problem_of_its_own(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, '[[step]]\nkind = "ask"\ntext = "Ja?"\n'
                                     'yes = { then = "twee" }\nno = { then = "drie" }\n\n'
                                     '[[step]]\nkind = "zingen"\nid = "twee"\n\n'
                                     '[[step]]\nkind = "say"\nid = "drie"\n\n'
                                     '[[step]]\nkind = "say"\ntext = "Hoi."\nid = 4\n')
    assert problems == [
        "step 2: field 'kind': unknown step kind 'zingen' (use one of "
        "say, swap, turn, mirror, ask, discuss, reflect, agree)",
        "step 3 (say): missing field 'text'",
        "step 4 (say): field 'id': must be a non-empty string, got 4",
    ]


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ExerciseError, match="no such file"):
        load_exercise_file(tmp_path / "nergens.toml")


def test_every_step_kind_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for kind in STEP_KINDS:
        assert f"`{kind}`" in readme


def test_parse_reports_where() -> None:
    with pytest.raises(ExerciseError, match=r"^mijn\.toml: "):
        parse_exercise("id = 3", "mijn.toml")
