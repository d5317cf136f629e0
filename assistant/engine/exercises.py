"""Exercises as data: one TOML file per exercise and language, checked completely on load.

A bad file is rejected with messages that name the file, the step and the field: every
problem of the file at once (:attr:`ExerciseError.problems`), the first one as its text.
The format is documented in README.md ("Exercise files").
"""

from __future__ import annotations

import math
import re
import string
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from assistant.engine.errors import read_user_file
from assistant.engine.texts import LANGUAGES

STEP_KINDS = ("say", "swap", "turn", "mirror", "ask", "discuss", "reflect", "agree")
ASK_TO = ("both", "each", "speaker", "listener")
THEN_BUILTIN = ("continue", "end")


class ExerciseError(Exception):
    """An exercise file that cannot be used; the message says where and what to fix."""

    def __init__(self, *problems: str) -> None:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{problems[0]}{more}")
        self.problems = problems
        """Every problem found, each naming file, step and field."""


@dataclass(frozen=True)
class Answer:
    """What follows one answer to an ``ask`` step."""

    say: tuple[str, ...] = ()
    """Sentences spoken after this answer."""
    then: str = "continue"
    """'continue', 'end', or the id of a later step to go to."""


@dataclass(frozen=True)
class Step:
    """One step of an exercise; fields that do not apply to its kind stay None."""

    number: int
    """Position in the file, counting from 1 (used in messages)."""
    kind: str
    """One of STEP_KINDS."""
    text: tuple[str, ...] = ()
    """Sentences spoken at the start of the step, one instruction each."""
    id: str | None = None
    """Optional label, a target for an answer's ``then``."""
    seconds: float | None = None
    """Floor, thinking, talking or answering time (None: the default for the kind)."""
    warn_at: tuple[float, ...] | None = None
    """Seconds remaining at which a warning is spoken."""
    chunk_seconds: float | None = None
    """turn: after this much talk, pause so the listener can mirror what was said so far."""
    silence_seconds: float | None = None
    """End the wait after this much silence."""
    nudge_seconds: float | None = None
    """A gentle 'take your time' after this much silence."""
    attempts: int | None = None
    """mirror: how many tries the listener gets."""
    confirm: tuple[str, ...] | None = None
    """mirror: the question to the speaker ('klopt dat?')."""
    clarify: tuple[str, ...] | None = None
    """mirror: what the speaker is asked after 'nee'."""
    clarify_seconds: float | None = None
    """mirror: time for the speaker to clarify."""
    more: bool = False
    """mirror: ask 'is er meer?' after a confirmed mirror."""
    more_seconds: float | None = None
    """mirror: floor time when there is more."""
    to: str = "both"
    """ask: who answers."""
    yes: Answer = field(default_factory=Answer)
    """ask: what follows 'ja'."""
    no: Answer = field(default_factory=Answer)
    """ask: what follows 'nee'."""
    default: str = "yes"
    """ask: the answer taken when nobody answers."""
    count: int | None = None
    """agree: how many agreements to ask for."""
    wait: bool = False
    """say: after the text, wait until the couple says 'verder' (or ``seconds`` pass)."""
    assign_speaker: bool = False
    """ask (to = each): the one partner who says 'ja' while the other says 'nee' becomes the
    speaker; both 'ja' follows ``both``; anything else follows ``no``."""
    both: Answer | None = None
    """ask with assign_speaker: what follows when both say 'ja' (None: as ``yes``)."""
    confirmed_then: str | None = None
    """mirror: the id of a later step to go to when the mirror was confirmed; when it was not,
    the next step follows (e.g. the speaker says once more what matters most)."""
    seeds: tuple[str, ...] = ()
    """Where in the seed articles this step comes from: '001' or '001: a quoted sentence'."""


@dataclass(frozen=True)
class Exercise:
    """A whole exercise in one language."""

    id: str
    """Identifier, equal to the file name."""
    lang: str
    """Language code."""
    title: str
    """Short spoken title."""
    description: str
    """One plain sentence for listings."""
    minutes: float
    """Expected duration in minutes when every timed step runs its full length."""
    steps: tuple[Step, ...]
    """The steps, in order."""
    seeds: tuple[str, ...] = ()
    """The seed articles it comes from."""
    closing: tuple[str, ...] = ()
    """Sentences spoken at the end, before the agreements are read back."""
    path: Path | None = None
    """Where it was read from."""


# --- field checkers: each returns the clean value or raises ValueError with a plain reason ---


def _text(value: object) -> tuple[str, ...]:
    if isinstance(value, str) and value.strip():
        return (value.strip(),)
    if (isinstance(value, list) and value
            and all(isinstance(v, str) and v.strip() for v in value)):
        return tuple(v.strip() for v in value)
    raise ValueError("must be a sentence or a list of sentences (not empty), "
                     f"got {_show(value)}")


def _seconds(value: object, unit: str = "seconds") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number of {unit}, got {_show(value)}")
    if value < 0:
        raise ValueError(f"must not be negative, got {value}")
    if not math.isfinite(value):  # nan or inf: a timer that never fires, a duration unsaid
        raise ValueError(f"must be a finite number of {unit}, got {value}")
    if value == 0:  # a turn over before it starts, a silence that ends it at once
        raise ValueError(f"must be more than 0 {unit}")
    return float(value)


def _positive_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"must be a whole number of at least 1, got {_show(value)}")
    return value


def _seconds_list(value: object) -> tuple[float, ...]:
    if not isinstance(value, list):
        raise ValueError(f"must be a list of seconds, e.g. [30], got {_show(value)}")
    return tuple(sorted((_seconds(v) for v in value), reverse=True))


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {_show(value)}")
    return value


def _word(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be a non-empty string, got {_show(value)}")
    return value.strip()


def _choice(*options: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}, got {_show(value)}")
        return str(value)
    return check


def _answer(value: object) -> Answer:
    if not isinstance(value, dict):
        raise ValueError(f"must be a table like {{ say = \"...\", then = \"continue\" }}, "
                         f"got {_show(value)}")
    unknown = set(value) - {"say", "then"}
    if unknown:
        raise ValueError(f"unknown key '{sorted(unknown)[0]}' (allowed: say, then)")
    say = _text(value["say"]) if "say" in value else ()
    then = _word(value.get("then", "continue"))
    return Answer(say=say, then=then)


_SEED_REF = re.compile(r"\d{3}(: \S.*)?")


def _seed_refs(value: object) -> tuple[str, ...]:
    refs = _text(value)
    for ref in refs:
        if not _SEED_REF.fullmatch(ref):
            raise ValueError(f"each reference is an article number, optionally with a quote, "
                             f"e.g. \"001: Plan een kalm moment\", got {ref!r}")
    return refs


def _show(value: object) -> str:
    return repr(value) if not isinstance(value, dict | list) else type(value).__name__


_COMMON: dict[str, Callable[[object], object]] = {"kind": str, "text": _text, "id": _word,
                                                  "seeds": _seed_refs}
_FIELDS: dict[str, dict[str, Callable[[object], object]]] = {
    "say": {"wait": _bool, "seconds": _seconds},
    "swap": {},
    "turn": {"seconds": _seconds, "warn_at": _seconds_list, "chunk_seconds": _seconds,
             "silence_seconds": _seconds, "nudge_seconds": _seconds},
    "mirror": {"seconds": _seconds, "attempts": _positive_int, "confirm": _text,
               "clarify": _text, "clarify_seconds": _seconds, "more": _bool,
               "more_seconds": _seconds, "confirmed_then": _word},
    "ask": {"to": _choice(*ASK_TO), "yes": _answer, "no": _answer, "both": _answer,
            "default": _choice("yes", "no"), "seconds": _seconds, "assign_speaker": _bool},
    "discuss": {"seconds": _seconds, "warn_at": _seconds_list, "silence_seconds": _seconds,
                "nudge_seconds": _seconds},
    "reflect": {"seconds": _seconds},
    "agree": {"seconds": _seconds, "count": _positive_int},
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "say": ("text",), "swap": (), "turn": ("text", "seconds"), "mirror": ("text",),
    "ask": ("text",), "discuss": ("text", "seconds"), "reflect": ("text", "seconds"),
    "agree": ("text",),
}
_TOP: dict[str, Callable[[object], object]] = {
    "id": _word, "lang": _choice(*LANGUAGES), "title": _word, "description": _word,
    "minutes": lambda v: _seconds(v, "minutes"), "seeds": lambda v: _text(v) if v else (),
    "closing": _text,
}
_TOP_REQUIRED = ("id", "lang", "title", "description", "minutes")
_PLACEHOLDERS = {"speaker", "listener"}
_WHOLE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
"""An escaped brace, or a whole {placeholder} (group 1): found even in a line broken elsewhere."""


def _placeholder_problems(lines: tuple[str, ...], allowed: set[str]) -> list[str]:
    """Every broken and every unknown {placeholder} in ``lines``, each as a plain reason."""
    reasons: list[str] = []
    for line in lines:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(line) if name is not None}
        except ValueError as err:
            reasons.append(f"has a broken {{placeholder}}: {err}")
            names = {re.split("[!:]", whole[1])[0] for whole in _WHOLE.finditer(line)
                     if whole[1] is not None}
        reasons += [f"unknown placeholder {{{name}}} "
                    f"(allowed: {', '.join('{' + a + '}' for a in sorted(allowed))})"
                    for name in sorted(names - allowed)]
    return list(dict.fromkeys(reasons))  # the same mistake in two lines is one problem


def _parse_step(raw: object, number: int, where: str, problems: list[str]) -> Step | None:
    """The step with its usable fields (for the checks across steps), every problem of it
    added to ``problems``; None when not even its kind is usable."""
    if not isinstance(raw, dict):
        problems.append(f"{where}: step {number}: must be a [[step]] table")
        return None
    kind = raw.get("kind")
    if kind is None:
        problems.append(f"{where}: step {number}: missing field 'kind' "
                        f"(one of {', '.join(STEP_KINDS)})")
        return None
    if kind not in STEP_KINDS:
        problems.append(f"{where}: step {number}: field 'kind': unknown step kind "
                        f"{kind!r} (use one of {', '.join(STEP_KINDS)})")
        return None
    here = f"{where}: step {number} ({kind})"
    checkers = {**_COMMON, **_FIELDS[kind]}
    for key in raw:
        if key in _TOP and key not in checkers:  # TOML puts it in the step above it
            problems.append(f"{here}: field '{key}' belongs to the whole exercise: move it "
                            "above the first [[step]]")
        elif key not in checkers:
            problems.append(f"{here}: unknown field '{key}' "
                            f"(allowed: {', '.join(sorted(checkers))})")
    for key in _REQUIRED[kind]:
        if key not in raw:
            problems.append(f"{here}: missing field '{key}'")
    values: dict[str, object] = {}
    placeholders = _PLACEHOLDERS | ({"name"} if raw.get("to") == "each" else set())
    for key, value in raw.items():
        if key == "kind" or key not in checkers:
            continue
        try:
            values[key] = checkers[key](value)
        except ValueError as err:
            problems.append(f"{here}: field '{key}': {err}")
            continue
        wrong: list[str] = []
        if key in ("text", "confirm", "clarify"):
            wrong = _placeholder_problems(values[key], placeholders)  # type: ignore[arg-type]
        if key in ("yes", "no", "both"):
            # an answer follows both partners' answers: whose {name} would it be?
            wrong = _placeholder_problems(values[key].say, _PLACEHOLDERS)  # type: ignore[union-attr]
        problems += [f"{here}: field '{key}': {reason}" for reason in wrong]
    seconds, warn_at = values.get("seconds"), values.get("warn_at")
    if seconds is not None and warn_at and max(warn_at) >= seconds:  # type: ignore[arg-type]
        problems.append(f"{here}: field 'warn_at': every warning must come before the end "
                        f"(less than seconds = {seconds:g})")
    if (values.get("assign_speaker") or "both" in values) and raw.get("to") != "each":
        key = "assign_speaker" if values.get("assign_speaker") else "both"
        problems.append(f"{here}: field '{key}': needs to = \"each\" (both partners answer)")
    if "both" in values and not values.get("assign_speaker"):
        problems.append(f"{here}: field 'both': needs assign_speaker = true")
    if "seconds" in values and kind == "say" and not values.get("wait"):
        problems.append(f"{here}: field 'seconds': only with wait = true")
    return Step(number=number, kind=kind, **values)  # type: ignore[arg-type]


def parse_exercise(text: str, where: str, expect_id: str | None = None) -> Exercise:
    """Check and build an exercise from TOML text; ``where`` names the file in messages.

    Every problem is looked for before it gives up: :class:`ExerciseError` carries them all."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ExerciseError(f"{where}: invalid TOML: {err}") from None
    problems: list[str] = []
    for key in data:
        if key not in _TOP and key != "step":
            problems.append(f"{where}: unknown field '{key}' "
                            f"(allowed: {', '.join(sorted([*_TOP, 'step']))})")
    for key in _TOP_REQUIRED:
        if key not in data:
            problems.append(f"{where}: missing field '{key}'")
    top: dict[str, object] = {}
    for key, check in _TOP.items():
        if key in data:
            try:
                top[key] = check(data[key])
            except ValueError as err:
                problems.append(f"{where}: field '{key}': {err}")
    if "closing" in top:
        reasons = _placeholder_problems(top["closing"], _PLACEHOLDERS)  # type: ignore[arg-type]
        problems += [f"{where}: field 'closing': {reason}" for reason in reasons]
    for key in ("title", "description"):  # said as written: a {speaker} would be read out
        if isinstance(top.get(key), str) and re.search(r"\{[^{}]*\}", top[key]):  # type: ignore[arg-type]
            problems.append(f"{where}: field '{key}': placeholders such as {{speaker}} are not "
                            "filled in here; write the words themselves")
    if expect_id is not None and "id" in top and top["id"] != expect_id:
        problems.append(f"{where}: field 'id': is {top['id']!r} but the file is named "
                        f"{expect_id!r}.toml; make them the same")
    raw_steps = data.get("step")
    if not isinstance(raw_steps, list) or not raw_steps:
        problems.append(f"{where}: no steps: add at least one [[step]] table")
        raw_steps = []
    parsed = [_parse_step(raw, n, where, problems) for n, raw in enumerate(raw_steps, start=1)]
    steps = tuple(step for step in parsed if step is not None)
    # a step whose kind is unusable still names its id: a jump to it is no problem of its own
    unusable = {raw["id"].strip(): n
                for n, (raw, step) in enumerate(zip(raw_steps, parsed, strict=True), start=1)
                if step is None and isinstance(raw, dict) and isinstance(raw.get("id"), str)}
    _check_jumps(steps, unusable, where, problems)
    if problems:
        raise ExerciseError(*problems)
    return Exercise(steps=steps, **top)  # type: ignore[arg-type]


def _check_jumps(steps: tuple[Step, ...], unusable: dict[str, int], where: str,
                 problems: list[str]) -> None:
    """Every id used once, every jump to a later step; ``unusable``: the ids of steps left
    out of ``steps`` (their problems are reported already), with their numbers."""
    ids: dict[str, int] = {}
    for step in steps:
        if step.id is not None:
            if step.id in ids or step.id in unusable or step.id in THEN_BUILTIN:
                problems.append(f"{where}: step {step.number} ({step.kind}): field 'id': "
                                f"{step.id!r} is used twice or reserved")
            ids[step.id] = step.number
    ids = {**unusable, **ids}
    for step in steps:
        jumps = [("yes", step.yes.then), ("no", step.no.then)]
        if step.both is not None:
            jumps.append(("both", step.both.then))
        if step.confirmed_then is not None:
            jumps.append(("confirmed_then", step.confirmed_then))
        for name, then in jumps:
            if then in THEN_BUILTIN:
                continue
            target = ids.get(then)
            if target is None or target <= step.number:
                problems.append(
                    f"{where}: step {step.number} ({step.kind}): field '{name}': then = "
                    f"{then!r} must be 'continue', 'end' or the id of a later step")


def load_exercise_file(path: Path) -> Exercise:
    """Read a coach's own exercise file (``--file``) with the same checks as built-in ones."""
    exercise = parse_exercise(read_user_file(path, ExerciseError), str(path))
    return replace(exercise, path=path)


def _builtin_dir(lang: str):  # noqa: ANN202 - importlib Traversable
    return resources.files("assistant").joinpath("exercises", lang)


def builtin_ids(lang: str) -> list[str]:
    """Ids of the exercises that ship in ``lang``, sorted."""
    return sorted(p.name.removesuffix(".toml") for p in _builtin_dir(lang).iterdir()
                  if p.name.endswith(".toml"))


def find_exercise(exercise_id: str, lang: str | None) -> Exercise:
    """Load a built-in exercise by id; without ``lang`` the id tells the language (nl first)."""
    langs = [lang] if lang else list(LANGUAGES)
    for code in langs:
        entry = _builtin_dir(code).joinpath(f"{exercise_id}.toml")
        if entry.is_file():
            where = f"exercises/{code}/{exercise_id}.toml"
            exercise = parse_exercise(entry.read_text("utf-8"), where, expect_id=exercise_id)
            if exercise.lang != code:
                raise ExerciseError(f"{where}: field 'lang': is {exercise.lang!r} but the file "
                                    f"is in the {code!r} folder")
            return exercise
    known = ", ".join(builtin_ids(lang or "nl"))
    in_lang = f" in '{lang}'" if lang else ""
    other = next((c for c in LANGUAGES if lang and c != lang
                  and _builtin_dir(c).joinpath(f"{exercise_id}.toml").is_file()), None)
    if other:  # e.g. spiegelen with --lang en: the id is of the other language
        raise ExerciseError(f"'{exercise_id}' is an exercise in '{other}', not '{lang}'; "
                            f"leave out --lang, or choose one in '{lang}': {known}")
    raise ExerciseError(f"unknown exercise '{exercise_id}'{in_lang}; "
                        f"choose one of: {known} (see 'samenspraak list')")


def list_exercises(lang: str) -> list[Exercise]:
    """Every built-in exercise in ``lang``."""
    return [find_exercise(i, lang) for i in builtin_ids(lang)]
