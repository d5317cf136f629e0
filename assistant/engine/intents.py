"""Map short utterances to language-independent intents.

An utterance is a command only when it is (nearly) just the command: the whole utterance, after
dropping filler words and the partners' names, must equal one of the command phrases. "ik wil dat
je stopt met zeuren" is free speech, "eh, stop" is a command.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from assistant.engine.messages import Intent
from assistant.engine.texts import Texts

_NON_WORD = re.compile(r"[^\w' ]+")


def normalize(text: str) -> str:
    """Lower-case, strip accents and punctuation, fold hyphens and spaces."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("-", " ").replace("’", "'")
    return " ".join(_NON_WORD.sub(" ", text).split())


class IntentMatcher:
    """Finds the command in an utterance, if the utterance is one."""

    def __init__(self, texts: Texts, names: Iterable[str] = ()) -> None:
        self._phrases: dict[str, list[Intent]] = {}
        for intent, phrases in texts.intents.items():
            for phrase in phrases:
                known = self._phrases.setdefault(normalize(phrase), [])
                if intent not in known:
                    known.append(intent)
        self._ignorable = {normalize(w) for w in texts.fillers}
        self._ignorable |= {normalize(n) for n in names}
        self._texts = texts

    def candidates(self, text: str) -> list[Intent]:
        """Every intent the utterance could stand for, in the data file's order."""
        words = normalize(text).split()
        deduped = [w for i, w in enumerate(words) if i == 0 or w != words[i - 1]]
        for form in (words, deduped):
            hit = self._phrases.get(" ".join(form))
            if hit:
                return hit
        core = [w for w in deduped if w not in self._ignorable]
        return self._phrases.get(" ".join(core), []) if core else []

    def match(self, text: str, allowed: Iterable[Intent]) -> Intent | None:
        """The intent of ``text`` among ``allowed``, or None when it is not such a command."""
        allowed = set(allowed)
        for intent in self.candidates(text):
            if intent in allowed:
                return intent
        return None

    def phrases_for(self, intents: Iterable[Intent]) -> list[str]:
        """Every phrase (normalised) that expresses one of ``intents``: a recognizer grammar."""
        wanted = set(intents)
        return sorted(p for p, ints in self._phrases.items() if wanted & set(ints))

    @property
    def fillers(self) -> list[str]:
        """Filler words and names, which a grammar should also accept around commands."""
        return sorted(self._ignorable)
