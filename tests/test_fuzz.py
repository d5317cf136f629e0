"""Bad input, fuzzed with hypothesis: exercise files, scenario files and language files.

Whatever the text, parsing ends in the parsed thing or in the one error of its kind
(ExerciseError, ScenarioError, TextsError) whose message names the file: never a traceback.
Exercises that parse are also run on the virtual clock: they end, or the CLI's SimulationStuck
says so (never an exception from deep inside the engine).
"""

from __future__ import annotations

import json
import math
import tomllib
from importlib import resources

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from assistant.engine.exercises import STEP_KINDS, ExerciseError, parse_exercise
from assistant.engine.texts import Texts, TextsError, parse_texts
from assistant.engine.timing import Timing
from assistant.simulate import Scenario, ScenarioError, SimulationStuck, parse_scenario, simulate

WHERE = "fuzzed.toml"
FUZZ = settings(max_examples=300, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
"""Derandomized: the same examples in every run (CI stays deterministic and quick)."""


# --- a small TOML writer for generated values ---------------------------------------------------

def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def toml_document(top: dict, tables: dict[str, list[dict]]) -> str:
    lines = [f"{json.dumps(k)} = {toml_value(v)}" for k, v in top.items()]
    for name, items in tables.items():
        for item in items:
            lines.append(f"[[{name}]]")
            lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
sentences = st.sampled_from(["{speaker}, vertel.", "{listener}, wat hoorde je?", "Hallo.",
                             "{name}?", "{", "}", "{0}", "{speaker!r}", "{speaker:>{x}}", ""])
scalars = (st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True)
           | text | sentences)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.sampled_from(["say", "then", "x"]) | text, inner,
                                        max_size=3), max_leaves=8)
numbers = (st.integers(-5, 10**7) | st.floats(allow_nan=True, allow_infinity=True)
           | st.sampled_from([0, 1, 30, 60, 1e308, -0.0]))

STEP_FIELDS = ["kind", "text", "id", "seeds", "seconds", "warn_at", "chunk_seconds",
               "silence_seconds", "nudge_seconds", "attempts", "confirm", "clarify",
               "clarify_seconds", "more", "more_seconds", "confirmed_then", "to", "yes", "no",
               "both", "default", "assign_speaker", "wait", "count", "then", "bogus"]
VALID_STEPS: dict[str, dict] = {
    "say": {"text": "Hallo."}, "swap": {}, "turn": {"text": "{speaker}, vertel.", "seconds": 60},
    "mirror": {"text": "{listener}, wat hoorde je?"}, "ask": {"text": "Goed?"},
    "discuss": {"text": "Praat.", "seconds": 60}, "reflect": {"text": "Denk.", "seconds": 30},
    "agree": {"text": "Wat spreken jullie af?"}}
TOP_FIELDS = ["id", "lang", "title", "description", "minutes", "seeds", "closing", "bogus"]


@st.composite
def field_value(draw, name: str) -> object:
    if name == "kind":
        return draw(st.sampled_from(STEP_KINDS) | values)
    if "seconds" in name or name in ("minutes", "attempts", "count"):
        return draw(numbers | values)
    if name == "warn_at":
        return draw(st.lists(numbers, max_size=3) | values)
    if name in ("text", "confirm", "clarify", "closing"):
        return draw(sentences | st.lists(sentences, max_size=3) | values)
    if name in ("yes", "no", "both"):
        return draw(st.fixed_dictionaries({}, optional={
            "say": sentences | st.lists(sentences, max_size=2),
            "then": st.sampled_from(["continue", "end", "s1", "s2", "nergens"])}) | values)
    if name == "to":
        return draw(st.sampled_from(["both", "each", "speaker", "listener"]) | values)
    if name == "id":
        return draw(st.sampled_from(["s1", "s2", "fuzzed"]) | values)
    if name == "lang":
        return draw(st.sampled_from(["nl", "en", "de"]) | values)
    return draw(values)


@st.composite
def exercise_texts(draw) -> str:
    top = {"id": "fuzzed", "lang": "nl", "title": "T", "description": "D", "minutes": 5}
    for name in draw(st.lists(st.sampled_from(TOP_FIELDS), max_size=3)):
        top[name] = draw(field_value(name))
    for name in draw(st.lists(st.sampled_from(TOP_FIELDS[:5]), max_size=1)):
        top.pop(name, None)
    steps = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(STEP_KINDS))
        step = {"kind": kind, **VALID_STEPS[kind]}  # a good step, then a few fields changed
        for name in draw(st.lists(st.sampled_from(STEP_FIELDS), max_size=3)):
            step[name] = draw(field_value(name))
        steps.append(step)
    return toml_document(top, {"step": steps})


def check_exercise(text_: str) -> None:
    try:
        exercise = parse_exercise(text_, WHERE)
    except ExerciseError as err:
        assert str(err).startswith(WHERE), err
        return
    try:
        session = simulate(exercise, Scenario(()), ("Anna", "Ben"), _nl(), Timing(),
                           lambda line: None)
    except SimulationStuck:  # the CLI says the exercise never ends, in one line
        return
    assert session.done


def _nl() -> Texts:
    from assistant.engine.texts import load_texts

    return load_texts("nl")


ONE_TURN = ('id = "f"\nlang = "nl"\ntitle = "T"\ndescription = "D"\nminutes = 1\n'
            '[[step]]\nkind = "turn"\ntext = "{{speaker}}."\nseconds = {}\n')


@FUZZ
@given(exercise_texts())
@example(ONE_TURN.format("nan"))  # crashed the session: round(nan) when saying the duration
@example(ONE_TURN.format("inf"))  # crashed the session: a turn that never ends
@example(ONE_TURN.format("1e308"))
def test_fuzzed_exercise_files_parse_or_name_the_place(text_: str) -> None:
    check_exercise(text_)


@FUZZ
@given(st.text(max_size=200))
def test_any_text_as_an_exercise_file(text_: str) -> None:
    check_exercise(text_)


# --- scenario files ----------------------------------------------------------------------------

REPLY_FIELDS = ["say", "talk", "loud", "silence", "after", "bogus"]


@st.composite
def scenario_texts(draw) -> str:
    top: dict = {}
    if draw(st.booleans()):
        top["lang"] = draw(st.sampled_from(["nl", "en", "fr"]) | values)
    if draw(st.booleans()):
        top["names"] = draw(st.lists(text, max_size=3) | values)
    if draw(st.booleans()):
        top[draw(st.sampled_from(["reply", "bogus"]))] = draw(values)
    replies = []
    for _ in range(draw(st.integers(0, 5))):
        reply = {}
        for name in draw(st.lists(st.sampled_from(REPLY_FIELDS), min_size=0, max_size=3)):
            reply[name] = draw(numbers | text | values)
        replies.append(reply)
    return toml_document(top, {"reply": replies} if "reply" not in top else {})


def check_scenario(text_: str) -> None:
    try:
        scenario = parse_scenario(text_, WHERE)
    except ScenarioError as err:
        assert str(err).startswith(WHERE), err
        return
    exercise = parse_exercise('id = "f"\nlang = "nl"\ntitle = "T"\ndescription = "D"\n'
                              'minutes = 1\n[[step]]\nkind = "turn"\ntext = "{speaker}."\n'
                              'seconds = 30\n[[step]]\nkind = "ask"\ntext = "Goed?"\n', WHERE)
    session = simulate(exercise, scenario, scenario.names or ("Anna", "Ben"), _nl(), Timing(),
                       lambda line: None)
    assert session.done


@FUZZ
@given(scenario_texts())
@example('[[reply]]\ntalk = inf\n')
@example('[[reply]]\nsilence = nan\n')
@example('[[reply]]\nsay = "klaar"\nafter = 1e308\n')
def test_fuzzed_scenario_files_parse_or_name_the_place(text_: str) -> None:
    check_scenario(text_)


@FUZZ
@given(st.text(max_size=200))
def test_any_text_as_a_scenario_file(text_: str) -> None:
    check_scenario(text_)


# --- language files ----------------------------------------------------------------------------

REAL_NL = resources.files("assistant").joinpath("lang/nl.toml").read_text("utf-8")
REAL = tomllib.loads(REAL_NL)
PATHS = [(section, key) for section, table in REAL.items() if isinstance(table, dict)
         for key in table] + [(section, None) for section in REAL]


@st.composite
def damaged_language_files(draw) -> str:
    data = json.loads(json.dumps(REAL))
    for section, key in draw(st.lists(st.sampled_from(PATHS), min_size=1, max_size=4)):
        action = draw(st.sampled_from(["delete", "replace"]))
        target = data if key is None else data.get(section)
        name = section if key is None else key
        if not isinstance(target, dict):
            continue
        if action == "delete":
            target.pop(name, None)
        else:
            target[name] = draw(values | sentences)
    top = {k: v for k, v in data.items() if not isinstance(v, dict)}
    lines = [toml_document(top, {})]
    for section, table in data.items():
        if isinstance(table, dict):
            lines.append(f"[{section}]")
            lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def check_texts(text_: str) -> None:
    try:
        texts = parse_texts(text_, "nl", "lang/nl.toml")
    except TextsError as err:
        assert str(err).startswith("lang/nl.toml"), err
        return
    assert isinstance(texts, Texts)


def test_the_real_language_files_parse() -> None:
    for lang in ("nl", "en"):
        source = resources.files("assistant").joinpath(f"lang/{lang}.toml").read_text("utf-8")
        assert parse_texts(source, lang, f"lang/{lang}.toml").lang == lang


@FUZZ
@given(damaged_language_files())
def test_damaged_language_files_name_the_place(text_: str) -> None:
    check_texts(text_)


@FUZZ
@given(st.text(max_size=200))
def test_any_text_as_a_language_file(text_: str) -> None:
    check_texts(text_)
