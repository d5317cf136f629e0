"""Measurement 2: the share of spoken commands a session acts on rightly, per recognizer and noise.

Every command phrase (quick: one per intent) in each voice and speed, with kitchen noise at each
signal-to-noise ratio — once in the voices and speeds the recognizers were tuned on, once in
voices and speeds kept aside (:data:`~scripts.bench.config.KEPT_ASIDE_VOICES`) — heard
through :func:`~scripts.bench.listening.hear` in the moment the
session would be in for that command (a question, a pause, or a speaking turn).
"""

from __future__ import annotations

import random
from typing import Any

from assistant.engine.intents import IntentMatcher
from assistant.engine.texts import LANGUAGES, load_texts
from assistant.rig.noise import mix
from assistant.rig.signals import silence
from scripts.bench.config import NAMES, BenchConfig
from scripts.bench.corpus import command_corpus, speech
from scripts.bench.listening import CONTEXTS, Engine, acted_on, context_of, hear, moment


def condition_name(snr: float | None) -> str:
    """'clean' or '10 dB'."""
    return "clean" if snr is None else f"{snr:g} dB"


def measure_accuracy(engines: list[Engine], bed: bytes, cfg: BenchConfig) -> dict[str, Any]:
    """Share of command utterances the session acts on correctly, per recognizer and noise:
    in the voices and speeds the thresholds were tuned on, and in others kept aside."""
    results: dict[str, Any] = {}
    for lang in LANGUAGES:
        matcher = IntentMatcher(load_texts(lang), NAMES)
        entry: dict[str, Any] = {}
        for split, kept_aside in (("tuning", False), ("kept_aside", True)):
            corpus = command_corpus(lang, cfg, kept_aside)
            per_engine: dict[str, Any] = {"no recognizer": {
                condition_name(s): {"correct": 0, "wrong_command": 0, "total": len(corpus),
                                    "accuracy": 0.0, "wrong_pct": 0.0} for s in cfg.conditions}}
            for engine in (e for e in engines if e.lang == lang):
                per_engine[engine.label] = accuracy_of(engine, matcher, corpus, bed, cfg)
            part = {"voices": sorted({"+".join(filter(None, c[2])) for c in corpus}),
                    "speeds": sorted({c[3] for c in corpus}),
                    "utterances_per_condition": len(corpus), "recognizers": per_engine}
            if split == "tuning":  # at the top, where readers of results.json look for it
                entry.update(part)
            else:
                entry[split] = part
        results[lang] = entry
    return results


def accuracy_of(engine: Engine, matcher: IntentMatcher, corpus: list, bed: bytes,
                cfg: BenchConfig) -> dict[str, Any]:
    """One recognizer over the whole corpus in every noise condition.

    Each condition starts with a fresh recognizer, like a session in a kitchen that loud.
    """
    out: dict[str, Any] = {}
    for snr in cfg.conditions:
        # Each condition draws its own noise, whichever conditions run before it.
        rng = random.Random(f"accuracy {condition_name(snr)}")
        recognizer = engine.make()
        correct, wrong, errors = 0, 0, []
        for intent, phrase, voice, speed in corpus:
            context = context_of(intent)
            pcm = mix(silence(0.4) + speech(phrase, voice, speed) + silence(0.8), bed, snr, rng)
            heard = hear(recognizer, moment(matcher, engine, context), pcm).texts
            got = acted_on(matcher, heard, CONTEXTS[context][0])
            correct += got is intent
            wrong += got is not None and got is not intent
            if got is not intent and len(errors) < 12:
                errors.append({"said": phrase, "heard": " | ".join(heard), "acted": got})
        out[condition_name(snr)] = {"correct": correct, "wrong_command": wrong,
                                    "total": len(corpus),
                                    "accuracy": round(100 * correct / len(corpus), 1),
                                    "wrong_pct": round(100 * wrong / len(corpus), 1),
                                    "errors": errors}
    return out


def sweep(lang: str, kept_aside: bool, conditions: tuple[float | None, ...],
          garbage: tuple[float, float] | None, prose_seconds: float) -> dict[str, Any]:
    """pocketsphinx alone on one half of the corpus, with the garbage path's weights given
    (None: as shipped), and the commands it acts on in command-free prose at each noise level:
    the numbers behind the README's table of weights."""
    from dataclasses import replace
    from functools import partial

    from assistant import asr
    from assistant.rig.noise import kitchen_noise
    from scripts.bench.config import FULL
    from scripts.bench.corpus import talk
    from scripts.bench.false_commands import commands_in_prose

    make = partial(asr.PocketsphinxRecognizer, lang, garbage=garbage)
    engine = Engine("pocketsphinx", lang, make, True, True)
    cfg = replace(FULL, conditions=conditions)
    bed = kitchen_noise(cfg.noise_seconds)
    matcher = IntentMatcher(load_texts(lang), NAMES)
    corpus = command_corpus(lang, cfg, kept_aside)
    out: dict[str, Any] = {"lang": lang, "split": "kept_aside" if kept_aside else "tuning",
                           "garbage": list(make().garbage),
                           "utterances_per_condition": len(corpus),
                           "accuracy": accuracy_of(engine, matcher, corpus, bed, cfg),
                           "prose": {}}
    for snr in (s for s in conditions if s is not None and prose_seconds > 0):
        pcm, sentences = talk(lang, prose_seconds, bed, snr)
        out["prose"][condition_name(snr)] = {"sentences": sentences,
                                             **commands_in_prose(engine, matcher, pcm)}
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m scripts.bench.accuracy``: pocketsphinx on the tuning or kept-aside corpus."""
    import argparse
    import json
    import logging

    parser = argparse.ArgumentParser(prog="python -m scripts.bench.accuracy",
                                     description=sweep.__doc__.split("\n\n")[0] if sweep.__doc__
                                     else None)
    parser.add_argument("--lang", choices=LANGUAGES, default="en")
    parser.add_argument("--kept-aside", action="store_true",
                        help="the voices and speeds kept aside from tuning (default: tuning)")
    parser.add_argument("--snr", action="append", default=[], metavar="DB",
                        help="a noise condition: 'clean' or dB (repeatable; default clean, 10)")
    parser.add_argument("--garbage", metavar="ENTRY,PHONE",
                        help="the garbage path's weights, e.g. 1e-20,1e-3 (default: as shipped)")
    parser.add_argument("--prose-seconds", type=float, default=180.0,
                        help="seconds of command-free prose per noise level (0: none)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    try:
        conditions = tuple(None if s == "clean" else float(s) for s in args.snr or ["clean", "10"])
        garbage = (tuple(float(x) for x in args.garbage.split(",")) if args.garbage else None)
    except ValueError:
        parser.error("--snr takes 'clean' or a number, --garbage two numbers: ENTRY,PHONE")
    if garbage is not None and len(garbage) != 2:
        parser.error("--garbage takes two numbers: ENTRY,PHONE")
    result = sweep(args.lang, args.kept_aside, conditions, garbage,  # type: ignore[arg-type]
                   args.prose_seconds)
    for per in result["accuracy"].values():
        per.pop("errors", None)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
