"""Measurement 3: commands acted upon while someone talks without giving one.

Command-free prose (the seed articles, or bench/prose-<lang>.txt) in the couple's voices with
kitchen noise at 20 dB, heard in a speaking turn: every utterance a recognizer returns is matched
against the commands a session acts on there.
"""

from __future__ import annotations

from typing import Any

from assistant.engine.intents import IntentMatcher
from assistant.engine.texts import LANGUAGES, load_texts
from scripts.bench.config import NAMES, BenchConfig
from scripts.bench.corpus import prose_sentences, seconds_of, talk
from scripts.bench.listening import CONTEXTS, NO_COMMANDS, Engine, hear, moment


def measure_false_commands(engines: list[Engine], bed: bytes, cfg: BenchConfig
                           ) -> dict[str, Any]:
    """Commands acted upon while someone talks without giving one, during a speaking turn."""
    results: dict[str, Any] = {}
    allowed = CONTEXTS["turn"][0]
    for lang in LANGUAGES:
        pcm, sentences = talk(lang, cfg.false_seconds[lang], bed, 20.0)
        matcher = IntentMatcher(load_texts(lang), NAMES)
        utterances = hear(None, NO_COMMANDS, pcm).utterances
        entry: dict[str, Any] = {"source": prose_sentences(lang)[1], "sentences": sentences,
                                 "seconds": round(seconds_of(pcm), 1),
                                 "utterances": utterances,
                                 "recognizers": {"no recognizer": {"recognised": 0,
                                                                   "commands": 0}}}
        for engine in (e for e in engines if e.lang == lang):
            heard = hear(engine.make(), moment(matcher, engine, "turn"), pcm).texts
            acted = [(text, matcher.match(text, allowed)) for text in heard]
            acted = [(text, intent) for text, intent in acted if intent is not None]
            entry["recognizers"][engine.label] = {
                "recognised": len(heard), "commands": len(acted),
                "examples": [{"heard": t, "acted": i} for t, i in acted[:10]]}
        results[lang] = entry
    return results
