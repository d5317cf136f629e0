"""The assistant's own sentences and command words, per language, read from ``lang/*.toml``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from assistant.engine.messages import Intent

LANGUAGES = ("nl", "en")


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
        return [line.format(**values) for line in template]

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
    data = tomllib.loads(resources.files("assistant").joinpath(name).read_text("utf-8"))
    try:
        intents = {Intent(k): _as_tuple(v, f"{name} [intents] {k}")
                   for k, v in data["intents"].items() if k != "fillers"}
        missing = set(Intent) - set(intents)
        if missing:
            raise TextsError(f"{name}: [intents] lacks {sorted(i.value for i in missing)}")
        return Texts(
            lang=lang,
            phrases={k: _as_tuple(v, f"{name} [texts] {k}") for k, v in data["texts"].items()},
            intents=intents,
            fillers=frozenset(data["intents"].get("fillers", [])),
            words={Intent(k): v for k, v in data["words"].items()},
            help={Intent(k): v for k, v in data["help"].items()},
            units=dict(data["units"]),
            notices=dict(data["notices"]),
        )
    except (KeyError, ValueError) as err:
        raise TextsError(f"{name}: {err}") from err
