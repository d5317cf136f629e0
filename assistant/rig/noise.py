"""A kitchen to talk in: generated background noise and mixing it under speech at an SNR.

:func:`kitchen_noise` makes a noise bed (pink and brown noise, a fridge hum, clattering dishes)
at :data:`NOISE_BED_RMS`; :func:`mix` puts a random stretch of it under speech at a chosen
signal-to-noise ratio; :func:`room_tone` is the same bed turned down to a quiet room. All audio
is 16-bit mono PCM at 16 kHz, deterministic for a given seed.
"""

from __future__ import annotations

import logging
import math
import random
from array import array

from assistant.audio import audioop
from assistant.rig.signals import RATE, WIDTH

_LOGGER = logging.getLogger(__name__)

NOISE_BED_RMS = 1000.0
"""Level of the kitchen bed (of 32767), about -30 dBFS."""
ROOM_TONE_RMS = 30.0
"""A quiet room: about -61 dBFS of room noise."""


def kitchen_noise(seconds: float, seed: int = 7) -> bytes:
    """Kitchen noise at RMS :data:`NOISE_BED_RMS`: pink and brown noise, a 50 Hz fridge hum.

    With its harmonics, plus the clatter of cutlery and plates every second or two.
    """
    rng = random.Random(seed)
    n = round(seconds * RATE)
    pink, brown = _coloured_noise(n, rng)
    period = RATE // 50
    hum = [math.sin(2 * math.pi * i / period) + 0.5 * math.sin(4 * math.pi * i / period)
           + 0.3 * math.sin(6 * math.pi * i / period) for i in range(period)]
    mixed = array("d", (0.8 * p + 0.5 * b + 0.15 * hum[i % period]
                        for i, (p, b) in enumerate(zip(pink, brown, strict=True))))
    _add_clatter(mixed, rng)
    return _to_pcm(mixed, NOISE_BED_RMS)


def _coloured_noise(n: int, rng: random.Random) -> tuple[array, array]:
    """Pink (Paul Kellet's filter) and brown noise, each scaled to RMS 1."""
    pink, brown = array("d", bytes(8 * n)), array("d", bytes(8 * n))
    b0 = b1 = b2 = br = 0.0
    gauss = rng.gauss
    for i in range(n):
        w = gauss(0.0, 1.0)
        b0 = 0.99765 * b0 + w * 0.0990460
        b1 = 0.96300 * b1 + w * 0.2965164
        b2 = 0.57000 * b2 + w * 1.0526913
        br = (br + 0.02 * w) / 1.02
        pink[i] = b0 + b1 + b2 + w * 0.1848
        brown[i] = br
    for signal in (pink, brown):
        scale = 1.0 / (math.sqrt(sum(x * x for x in signal) / n) or 1.0)
        for i in range(n):
            signal[i] *= scale
    return pink, brown


def _add_clatter(signal: array, rng: random.Random) -> None:
    """Add short ringing knocks (a spoon on a plate, a glass put down) at random moments."""
    t = rng.uniform(0.2, 1.0)
    while (start := round(t * RATE)) < len(signal):
        freq = rng.uniform(1500.0, 5000.0)
        decay = rng.uniform(0.008, 0.04) * RATE
        peak = rng.uniform(2.0, 6.0)
        for k in range(min(round(6 * decay), len(signal) - start)):
            env = peak * math.exp(-k / decay)
            ring = math.sin(2 * math.pi * freq * k / RATE)
            signal[start + k] += env * (0.7 * ring + 0.3 * rng.uniform(-1.0, 1.0))
        t += rng.uniform(0.6, 2.5)


def _to_pcm(signal: array, rms: float) -> bytes:
    """Scale ``signal`` to ``rms`` and clip it to 16-bit PCM."""
    now = math.sqrt(sum(x * x for x in signal) / max(1, len(signal))) or 1.0
    gain = rms / now
    return array("h", (max(-32768, min(32767, round(x * gain))) for x in signal)).tobytes()


def speech_bounds(pcm: bytes) -> tuple[float, float]:
    """Seconds of the first and last 10 ms window within 40 dB of the loudest one."""
    rms = audioop().rms
    size = round(RATE * 0.01) * WIDTH
    levels = [rms(pcm[i:i + size], WIDTH) for i in range(0, len(pcm), size)]
    floor = max(max(levels, default=0) * 0.01, 20)
    loud = [i for i, level in enumerate(levels) if level >= floor]
    if not loud:
        return 0.0, 0.0
    return loud[0] * 0.01, min(len(pcm) / WIDTH / RATE, (loud[-1] + 1) * 0.01)


def mix(pcm: bytes, bed: bytes, snr_db: float | None, rng: random.Random,
        speech_rms: float | None = None) -> bytes:
    """``pcm`` with a random stretch of ``bed`` under it at ``snr_db`` (None: unchanged).

    The speech level is ``speech_rms``, or else measured over :func:`speech_bounds`.
    """
    if snr_db is None:
        return pcm
    ops = audioop()
    if speech_rms is None:
        start, end = speech_bounds(pcm)
        speech_rms = ops.rms(pcm[round(start * RATE) * WIDTH:round(end * RATE) * WIDTH],
                             WIDTH) or 1
    stretch = noise_stretch(bed, len(pcm), rng)
    gain = speech_rms / ((ops.rms(stretch, WIDTH) or 1) * 10 ** (snr_db / 20))
    return ops.add(pcm, ops.mul(stretch, WIDTH, gain), WIDTH)


def room_tone(bed: bytes, seconds: float, rng: random.Random) -> bytes:
    """A silent room: the kitchen bed turned down to :data:`ROOM_TONE_RMS`."""
    stretch = noise_stretch(bed, WIDTH * round(seconds * RATE), rng)
    return audioop().mul(stretch, WIDTH, ROOM_TONE_RMS / NOISE_BED_RMS)


def noise_stretch(bed: bytes, size: int, rng: random.Random) -> bytes:
    """``size`` bytes of ``bed`` from a random sample offset, wrapping around."""
    start = rng.randrange(0, len(bed) // WIDTH) * WIDTH
    out = bytearray()
    while len(out) < size:
        out += bed[start:start + size - len(out)]
        start = 0
    return bytes(out)
