"""What the couple says in the benchmark: commands, command-free prose, a long conversation.

Speech comes from espeak-ng through :mod:`assistant.rig.speech`; the kitchen under it from
:mod:`assistant.rig.noise`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

from assistant.audio import SAMPLE_WIDTH, audioop
from assistant.engine.messages import Intent
from assistant.engine.texts import load_texts
from assistant.rig.noise import mix, room_tone
from assistant.rig.signals import RATE, silence
from assistant.rig.speech import synth
from scripts.bench.config import (
    BENCH_DIR,
    KEPT_ASIDE_SPEEDS,
    KEPT_ASIDE_VOICES,
    ROOT,
    SEEDS,
    VOICES,
    BenchConfig,
)

Voice = tuple[str, str | None]


def speech(text: str, voice: Voice, speed: int) -> bytes:
    """``text`` spoken by espeak-ng (cached), 16 kHz mono PCM."""
    return synth(text, voice[0], voice[1], speed)


def seconds_of(pcm: bytes) -> float:
    """Length of 16 kHz mono PCM."""
    return len(pcm) / SAMPLE_WIDTH / RATE


def prose_sentences(lang: str) -> tuple[list[str], str]:
    """Command-free sentences and where they come from: the seed articles (Dutch) or a file."""
    if lang == "nl" and SEEDS.is_dir() and list(SEEDS.glob("*.txt")):
        text = "\n".join(p.read_text("utf-8") for p in sorted(SEEDS.glob("*.txt")))
        source = f"seed articles ({SEEDS})"
    else:
        path = BENCH_DIR / f"prose-{lang}.txt"
        text, source = path.read_text("utf-8"), str(path.relative_to(ROOT))
    sentences = []
    for line in text.splitlines():
        for sentence in re.split(r"(?<=[.!?])\s+", line.strip(" •-*\t")):
            if len(sentence.split()) >= 4:
                sentences.append(sentence)
    return sentences, source


def talk(lang: str, seconds: float, bed: bytes, snr_db: float, seed: int = 3
         ) -> tuple[bytes, int]:
    """About ``seconds`` of someone talking without a command, and how many sentences.

    Each voice in turn, pauses of 0.3-1.2 s (some shorter than an endpoint), kitchen noise
    under it at ``snr_db`` against the level of the speech itself.
    """
    rng = random.Random(seed)
    sentences, _source = prose_sentences(lang)
    spoken: list[bytes] = []
    out = bytearray()
    while len(out) < seconds * RATE * SAMPLE_WIDTH and len(spoken) < len(sentences):
        voice = VOICES[lang][len(spoken) % len(VOICES[lang])]
        spoken.append(speech(sentences[len(spoken)], voice, 160))
        out += spoken[-1] + silence(rng.uniform(0.3, 1.2))
    level = audioop().rms(b"".join(spoken), SAMPLE_WIDTH)
    return mix(bytes(out), bed, snr_db, rng, speech_rms=level), len(spoken)


def command_corpus(lang: str, cfg: BenchConfig, kept_aside: bool = False
                   ) -> list[tuple[Intent, str, Voice, int]]:
    """(intent, phrase, voice, speed) for every command phrase (quick: a few) of ``lang``:
    in the tuning voices and speeds, or (``kept_aside``) in those never used for tuning."""
    texts = load_texts(lang)
    voices = (KEPT_ASIDE_VOICES if kept_aside else VOICES)[lang][:cfg.voices]
    speeds = ([s for s in KEPT_ASIDE_SPEEDS if s not in cfg.speeds][:len(cfg.speeds) + 1]
              if kept_aside else cfg.speeds)
    corpus = []
    for intent, phrases in texts.intents.items():
        chosen = phrases if cfg.phrases_per_intent is None else phrases[:cfg.phrases_per_intent]
        for phrase in chosen:
            for voice in voices:
                for speed in speeds:
                    corpus.append((intent, phrase, voice, speed))
    return corpus


def conversation(pool: list[bytes], bed: bytes, minutes: float) -> Iterator[bytes]:
    """``minutes`` of sentences from ``pool`` and stretches of a silent room, in random order."""
    rng = random.Random(9)
    fed = 0.0
    index = 0
    while fed < minutes * 60:
        if rng.random() < 0.6:
            piece = pool[index % len(pool)]
            index += 1
        else:
            piece = room_tone(bed, rng.uniform(1.0, 8.0), rng)
        fed += seconds_of(piece)
        yield piece
