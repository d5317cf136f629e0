"""Raised voices: no time-out offered in ten minutes of speech at the couple's own level, and an
offer within ten seconds of sustained speech 10 dB above it.

The couple is espeak-ng speech (the benchmark's command-free prose, both languages in turn) in
kitchen noise, fed 20 ms at a time to :class:`assistant.loudness.RaisedVoiceDetector` exactly as
the microphone loop feeds it; the detector only measures levels.
"""

from __future__ import annotations

import time
from typing import Any

from assistant.audio import audioop, chunks
from assistant.loudness import LoudnessSettings, RaisedVoiceDetector
from assistant.rig.noise import kitchen_noise
from assistant.rig.signals import RATE
from scripts.bench.config import BenchConfig
from scripts.bench.corpus import seconds_of, talk

RISE_DB = 10.0
"""How much louder the raised voices are than the couple's own level."""
LOUD_SECONDS = 15.0
"""How long the raised voices go on in the trial."""


def _feed(detector: RaisedVoiceDetector, pcm: bytes, start: float) -> list[float]:
    """Seconds (from ``start``) at which the detector reported a rise."""
    reports = []
    for index, piece in enumerate(chunks(pcm)):
        at = start + (index + 1) * 0.02
        if detector.feed(piece, at):
            reports.append(at)
    return reports


def measure_raised_voices(cfg: BenchConfig) -> dict[str, Any]:
    """False offers in calm speech, and the time to an offer once voices are raised."""
    calm_seconds = 60.0 if cfg.quick else 600.0
    bed = kitchen_noise(30.0)
    calm = bytearray()
    for n, lang in enumerate(("nl", "en") * 20):
        part, _sentences = talk(lang, 60.0, bed, snr_db=20.0, seed=11 + n)
        calm += part
        if seconds_of(bytes(calm)) >= calm_seconds:
            break
    calm_pcm = bytes(calm[: int(calm_seconds * RATE) * 2])
    started = time.perf_counter()
    detector = RaisedVoiceDetector()
    false_offers = _feed(detector, calm_pcm, 0.0)
    loud_part, _ = talk("nl", LOUD_SECONDS, bed, snr_db=30.0, seed=97)
    loud_pcm = audioop().mul(loud_part[: int(LOUD_SECONDS * RATE) * 2], 2, 10 ** (RISE_DB / 20))
    offers = _feed(detector, loud_pcm, calm_seconds)
    took = time.perf_counter() - started
    audio_seconds = seconds_of(calm_pcm) + seconds_of(loud_pcm)
    return {
        "calm_seconds": round(seconds_of(calm_pcm), 1),
        "false_offers": len(false_offers),
        "own_level_dbfs": None if detector.own_level is None else round(detector.own_level, 1),
        "rise_db": RISE_DB,
        "seconds_to_offer": round(offers[0] - calm_seconds, 2) if offers else None,
        "settings": {"rise_db": LoudnessSettings().rise_db,
                     "loud_seconds": LoudnessSettings().loud_seconds,
                     "window": LoudnessSettings().window},
        "realtime_factor": round(took / audio_seconds, 4),
    }
