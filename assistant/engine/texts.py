"""The assistant's own sentences and command words, per language, read from ``lang/*.toml``."""

from __future__ import annotations

import re
import string
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from assistant.engine.messages import Intent

LANGUAGES = ("nl", "en")
_DOUBLE_STOP = re.compile(r"([?!])\.(?=\s|$)")
"""A question or exclamation mark followed by a full stop."""


class TextsError(Exception):
    """A language file is missing or incomplete."""


@dataclass(frozen=True)
class Texts:
    """Everything the assistant says in one language, plus its command words."""

    lang: str
    """Language code, 'nl' or 'en'."""
    phrases: dict[str, tuple[str, ...]]
    """Sentences by key; each key holds one or more sentences spoken one after another."""
    intents: dict[Intent, tuple[str, ...]]
    """Command phrases per intent."""
    fillers: frozenset[str]
    """Words that may stand around a command without making it free speech."""
    words: dict[Intent, str]
    """The word used to name each command when explaining it."""
    help: dict[Intent, str]
    """What each command does, said on 'help'."""
    units: dict[str, str]
    """Words for seconds and minutes."""
    notices: dict[str, str]
    """Sentences said once when the session falls back to a simpler mode."""

    def lines(self, key: str, **values: object) -> list[str]:
        """The sentences under ``key`` with placeholders filled in."""
        try:
            template = self.phrases[key]
        except KeyError:
            raise TextsError(f"lang/{self.lang}.toml: no text '{key}' in [texts]") from None
        # a value that ends a sentence itself ("Ben je er voor mij?") takes the template's full
        # stop: "Vandaag doen we: Ben je er voor mij?", not "...mij?."
        return [_DOUBLE_STOP.sub(r"\1", line.format(**values)) for line in template]

    def line(self, key: str, **values: object) -> str:
        """The sentences under ``key`` joined into one line."""
        return " ".join(self.lines(key, **values))

    def duration(self, seconds: float) -> str:
        """Say a duration in plain words: '2 minuten', 'een halve minuut', '45 seconden'."""
        total = max(0, round(seconds))
        u = self.units
        if total == 30:
            return u["half_minute"]
        if total == 90 and "one_and_a_half_minutes" in u:
            return u["one_and_a_half_minutes"]
        minutes, secs = divmod(total, 60)
        parts = []
        if minutes:
            parts.append(f"{u['one'] if minutes == 1 else minutes} "
                         f"{u['minute'] if minutes == 1 else u['minutes']}")
        if secs or not minutes:
            parts.append(f"{u['one'] if secs == 1 else secs} "
                         f"{u['second'] if secs == 1 else u['seconds']}")
        return f" {u['and']} ".join(parts)


def _as_tuple(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise TextsError(f"{where}: must be a sentence or a list of sentences")


@cache
def load_texts(lang: str) -> Texts:
    """Read and check ``assistant/lang/<lang>.toml``."""
    if lang not in LANGUAGES:
        raise TextsError(f"unknown language '{lang}': choose one of {', '.join(LANGUAGES)}")
    name = f"lang/{lang}.toml"
    return parse_texts(resources.files("assistant").joinpath(name).read_text("utf-8"), lang, name)


def _table(data: dict, key: str, where: str) -> dict:
    value = data[key]
    if not isinstance(value, dict):
        raise TextsError(f"{where}: [{key}] must be a table")
    return value


def _sentence(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise TextsError(f"{where}: must be text, got {value!r}")
    return value


def _check_format(phrases: dict[str, tuple[str, ...]], where: str) -> None:
    """Every {placeholder} is well-formed and named (filled in by keyword at speaking time)."""
    for key, lines in phrases.items():
        for line in lines:
            try:
                fields = [f for _, f, _, _ in string.Formatter().parse(line) if f is not None]
            except ValueError as err:
                raise TextsError(f"{where} [texts] {key}: broken {{placeholder}}: {err}") from None
            if any(not f.isidentifier() for f in fields):
                raise TextsError(f"{where} [texts] {key}: placeholders are names, "
                                 f"like {{speaker}}, got {line!r}")


def parse_texts(text: str, lang: str, where: str) -> Texts:
    """Check and build a language's texts from TOML; ``where`` names the file in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise TextsError(f"{where}: invalid TOML: {err}") from None
    name = where
    try:
        raw_intents = _table(data, "intents", name)
        intents = {Intent(k): _as_tuple(v, f"{name} [intents] {k}")
                   for k, v in raw_intents.items() if k != "fillers"}
        missing = set(Intent) - set(intents)
        if missing:
            raise TextsError(f"{name}: [intents] lacks {sorted(i.value for i in missing)}")
        phrases = {k: _as_tuple(v, f"{name} [texts] {k}")
                   for k, v in _table(data, "texts", name).items()}
        _check_format(phrases, name)
        fillers = raw_intents.get("fillers", [])
        if not isinstance(fillers, list) or not all(isinstance(f, str) for f in fillers):
            raise TextsError(f"{name} [intents] fillers: must be a list of words")
        sections = {key: {k: _sentence(v, f"{name} [{key}] {k}")
                          for k, v in _table(data, key, name).items()}
                    for key in ("words", "help", "units", "notices")}
        return Texts(
            lang=lang,
            phrases=phrases,
            intents=intents,
            fillers=frozenset(fillers),
            words={Intent(k): v for k, v in sections["words"].items()},
            help={Intent(k): v for k, v in sections["help"].items()},
            units=sections["units"],
            notices=sections["notices"],
        )
    except KeyError as err:
        raise TextsError(f"{name}: missing [{err.args[0]}]") from None
    except ValueError as err:  # an unknown intent name
        raise TextsError(f"{name}: {err}") from None
