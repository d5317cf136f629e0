"""Measurement 3: commands acted upon while someone talks without giving one.

Command-free prose (the seed articles, or bench/prose-<lang>.txt) in the couple's voices with
kitchen noise at 20 dB, heard in a speaking turn: every utterance a recognizer returns is matched
against the commands a session acts on there. Where the small Korean vosk model is installed,
Korean prose is heard under a grammar of Korean stand-in commands too, labelled as Korean: the
vosk path's false commands on a real model.
"""

from __future__ import annotations

import random
from typing import Any

from assistant.engine.intents import IntentMatcher
from assistant.engine.messages import Listen
from assistant.engine.texts import LANGUAGES, load_texts
from assistant.listen import moment_for
from assistant.rig.noise import mix
from assistant.rig.signals import silence
from scripts.bench.config import NAMES, BenchConfig
from scripts.bench.corpus import prose_sentences, seconds_of, speech, talk
from scripts.bench.listening import (
    CONTEXTS,
    KOREAN_COMMANDS,
    KOREAN_PROSE,
    NO_COMMANDS,
    Engine,
    hear,
    moment,
)


def measure_false_commands(engines: list[Engine], bed: bytes, cfg: BenchConfig
                           ) -> dict[str, Any]:
    """Commands acted upon while someone talks without giving one, during a speaking turn."""
    results: dict[str, Any] = {}
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
            entry["recognizers"][engine.label] = commands_in_prose(engine, matcher, pcm)
        results[lang] = entry
    korean = [e for e in engines if e.lang == "ko"]
    if korean:
        results["ko"] = korean_false_commands(korean, bed, cfg)
    return results


def commands_in_prose(engine: Engine, matcher: IntentMatcher, pcm: bytes) -> dict[str, Any]:
    """What a fresh ``engine`` hears in ``pcm`` during a speaking turn, and the commands among
    it that a session would act on."""
    heard = hear(engine.make(), moment(matcher, engine, "turn"), pcm).texts
    acted = [(text, matcher.match(text, CONTEXTS["turn"][0])) for text in heard]
    acted = [(text, intent) for text, intent in acted if intent is not None]
    return {"recognised": len(heard), "commands": len(acted),
            "examples": [{"heard": t, "acted": i} for t, i in acted[:10]]}


def korean_false_commands(engines: list[Engine], bed: bytes, cfg: BenchConfig
                          ) -> dict[str, Any]:
    """Korean prose under the Korean stand-in commands: any of them heard is a false command."""
    rng = random.Random(5)
    out = bytearray()
    rounds = 0
    while len(out) < cfg.false_seconds["en"] * 32000:
        for index, sentence in enumerate(KOREAN_PROSE):
            variant = (None, "f3", "m3")[(index + rounds) % 3]
            out += speech(sentence, ("ko", variant), (150, 175)[rounds % 2])
            out += silence(rng.uniform(0.3, 1.2))
        rounds += 1
    pcm = mix(bytes(out), bed, 20.0, rng)
    where = moment_for(Listen(KOREAN_COMMANDS, (), False, False))
    entry: dict[str, Any] = {"source": "KOREAN sentences (scripts/bench/listening.py)",
                             "sentences": len(KOREAN_PROSE) * rounds,
                             "seconds": round(seconds_of(pcm), 1),
                             "utterances": hear(None, NO_COMMANDS, pcm).utterances,
                             "recognizers": {}}
    for engine in engines:
        heard = hear(engine.make(), where, pcm).texts
        acted = [text for text in heard if text in KOREAN_COMMANDS]
        entry["recognizers"][engine.label] = {
            "recognised": len(heard), "commands": len(acted),
            "examples": [{"heard": t, "acted": t} for t in acted[:10]]}
    return entry
