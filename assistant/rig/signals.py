"""Test signals and their analysis, all 16-bit mono PCM (at 16 kHz unless told otherwise)."""

from __future__ import annotations

import logging
import math
import random
from array import array

from assistant.audio import LISTEN_RATE as RATE
from assistant.audio import SAMPLE_WIDTH as WIDTH
from assistant.audio import rms_function

_LOGGER = logging.getLogger(__name__)

__all__ = [
    "RATE", "WIDTH", "active_stretches", "noise", "rms_windows", "silence", "speech_span",
    "tone", "tone_frequency", "tone_purity",
]


# --- making signals -------------------------------------------------------------------------------


def silence(seconds: float, rate: int = RATE) -> bytes:
    """Digital silence."""
    return bytes(round(seconds * rate) * WIDTH)


def tone(frequency: float, seconds: float, amplitude: float = 0.4, rate: int = RATE) -> bytes:
    """A pure sine tone with 5 ms fades."""
    n = round(seconds * rate)
    fade = max(1, round(0.005 * rate))
    peak = amplitude * 32767
    return array("h", (
        round(peak * min(1.0, i / fade, (n - 1 - i) / fade)
              * math.sin(2 * math.pi * frequency * i / rate))
        for i in range(n))).tobytes()


def noise(seconds: float, amplitude: float, seed: int = 1, rate: int = RATE) -> bytes:
    """Deterministic white noise."""
    rng = random.Random(seed)
    peak = round(amplitude * 32767)
    return array("h", (rng.randint(-peak, peak) for _ in range(round(seconds * rate)))).tobytes()


# --- analysis -------------------------------------------------------------------------------------


def rms_windows(pcm: bytes, rate: int = RATE, window: float = 0.02) -> list[float]:
    """RMS level (of 32767) per window."""
    size = round(rate * window) * WIDTH
    rms = rms_function()
    return [rms(pcm[i:i + size], WIDTH) for i in range(0, len(pcm) - size + 1, size)]


def active_stretches(pcm: bytes, rate: int = RATE, threshold: float = 300.0,
                     window: float = 0.02, min_gap: float = 0.15,
                     min_length: float = 0.04) -> list[tuple[float, float]]:
    """(start, end) seconds of stretches louder than ``threshold``; short gaps are bridged."""
    stretches: list[list[float]] = []
    for i, level in enumerate(rms_windows(pcm, rate, window)):
        if level < threshold:
            continue
        start = i * window
        if stretches and start - stretches[-1][1] <= min_gap:
            stretches[-1][1] = start + window
        else:
            stretches.append([start, start + window])
    return [(round(a, 3), round(b, 3)) for a, b in stretches if b - a >= min_length]


def speech_span(pcm: bytes, rate: int = RATE, threshold: float = 300.0) -> tuple[float, float]:
    """From the first to the last loud sample window, in seconds; (0, 0) for silence."""
    stretches = active_stretches(pcm, rate, threshold, window=0.01, min_gap=10.0, min_length=0)
    return (stretches[0][0], stretches[-1][1]) if stretches else (0.0, 0.0)


def tone_frequency(pcm: bytes, rate: int = RATE) -> float:
    """The frequency of a pure tone, from its (interpolated) upward zero crossings."""
    samples = memoryview(pcm).cast("h")
    crossings: list[float] = []
    for i in range(1, len(samples)):
        a, b = samples[i - 1], samples[i]
        if a < 0 <= b:
            crossings.append(i - 1 + (-a) / (b - a))
    if len(crossings) < 2:
        return 0.0
    return (len(crossings) - 1) * rate / (crossings[-1] - crossings[0])


def tone_purity(pcm: bytes, frequency: float, rate: int = RATE) -> float:
    """Share (0..1) of the signal's power at ``frequency`` (Goertzel, Hann window)."""
    samples = memoryview(pcm).cast("h")
    n = len(samples)
    if n == 0:
        return 0.0
    coeff = 2 * math.cos(2 * math.pi * frequency / rate)
    s1 = s2 = 0.0
    total = 0.0
    for i, x in enumerate(samples):
        w = x * (0.5 - 0.5 * math.cos(2 * math.pi * i / (n - 1 or 1)))
        total += w * w
        s1, s2 = w + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    # For a Hann-windowed pure sine at ``frequency``, power / total energy equals n / 3.
    return min(1.0, 3 * power / (total * n)) if total else 0.0
