"""Where the benchmark keeps its files, who plays the couple, and how much of everything to run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = ROOT / "bench"
RESULTS = BENCH_DIR / "results.json"
SEEDS = Path(os.environ.get("SAMENSPRAAK_SEEDS", "/work/shared/seeds"))
NAMES = ("Anna", "Ben")
EXERCISE = {"nl": "spiegelen", "en": "mirroring"}
"""Exercises with a ja/nee question after a mirror: where the latency trials take place."""
TIMING_EXERCISE = "daily-check-in"
VOICES: dict[str, tuple[tuple[str, str | None], ...]] = {
    "nl": (("nl", None), ("nl", "m3"), ("nl", "f3")),
    "en": (("en-us", None), ("en", "m3"), ("en", "f3"))}
"""espeak-ng voices (voice, variant) that play the couple; the recognizers' thresholds and
weights were tuned on these, at the accuracy corpus's speeds (``BenchConfig.speeds``)."""
KEPT_ASIDE_VOICES: dict[str, tuple[tuple[str, str | None], ...]] = {
    "nl": (("nl", "m1"), ("nl", "f2"), ("nl", "m5")),
    "en": (("en-us", "f2"), ("en-gb-x-rp", None), ("en-us-nyc", "m1"))}
"""Voices never used for tuning: the accuracy on these, at :data:`KEPT_ASIDE_SPEEDS`, is the
figure that counts."""
KEPT_ASIDE_SPEEDS = (125, 160, 190)
"""espeak-ng words per minute of the kept-aside corpus: none of them a tuning speed."""
LONGER_REPLIES: dict[str, tuple[str, ...]] = {
    "nl": ("ja, maar ik weet het nog niet zeker", "nee, want dat zag ik anders",
           "ja, al wil ik er nog iets over zeggen", "klopt, maar niet helemaal",
           "nee, dat klopt niet helemaal", "ja hoor, en toen ging ik naar huis"),
    "en": ("yes, but I am not so sure about it", "no, because I saw it differently",
           "yes, although I want to add something", "right, but not entirely",
           "no, that is not quite it", "yes, and then I went home")}
"""Replies that start like a ja/nee and go on after a comma: no answer may cut them off."""
CUTOFF_SPEEDS = (140, 175)
"""espeak-ng words per minute of those replies (the comma's pause grows as speech slows)."""
SLOW_SPEED = 120
"""A slow speaker, counted apart: a pause longer than the early end's silence."""
CLEAN = None
"""The noise condition without noise."""
SECTIONS = ("latency", "accuracy", "false_commands", "cost", "timing", "raised_voices", "soak")


@dataclass(frozen=True)
class BenchConfig:
    """How much of everything to run."""

    quick: bool
    latency_trials: int
    """Trials per language."""
    voices: int
    """How many of each language's VOICES the accuracy corpus uses."""
    speeds: tuple[int, ...]
    """espeak-ng words per minute."""
    conditions: tuple[float | None, ...]
    """Clean (None) and signal-to-noise ratios in dB."""
    phrases_per_intent: int | None
    """None: every command phrase."""
    false_seconds: dict[str, float]
    """Seconds of command-free speech per language."""
    cpu_seconds: float
    """Real-time seconds of a silent room, and of someone talking."""
    rss_minutes: float
    """Simulated minutes of the memory run; growth is measured over its second half."""
    startup_runs: tuple[str, ...]
    """Cache states of the start-up runs: 'cold' (empty prompt cache) and/or 'warm'."""
    timing_sessions: int
    """Short sessions on the real clock."""
    noise_seconds: float = 60.0
    latency_snr: float = 20.0
    """The kitchen during the latency trials."""


FULL = BenchConfig(quick=False, latency_trials=50, voices=3, speeds=(140, 175),
                   conditions=(CLEAN, 20.0, 10.0, 5.0), phrases_per_intent=None,
                   false_seconds={"nl": 240.0, "en": 180.0}, cpu_seconds=30.0, rss_minutes=120.0,
                   startup_runs=("cold", "warm"), timing_sessions=3)
QUICK = BenchConfig(quick=True, latency_trials=5, voices=1, speeds=(160,),
                    conditions=(CLEAN, 10.0), phrases_per_intent=1,
                    false_seconds={"nl": 20.0, "en": 20.0}, cpu_seconds=2.0, rss_minutes=2.0,
                    startup_runs=("cold",), timing_sessions=1, noise_seconds=20.0)
