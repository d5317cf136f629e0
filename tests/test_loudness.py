"""Raised voices noticed from levels alone: the couple's own level, and a sustained rise."""

from __future__ import annotations

from assistant.audio import audioop
from assistant.loudness import LoudnessSettings, RaisedVoiceDetector, level_dbfs
from assistant.rig.signals import noise

CHUNK = 640  # 20 ms at 16 kHz


def speech_like(seconds: float, level: float, seed: int) -> bytes:
    """Noise bursts shaped like speech: 300 ms of sound, 100 ms of pause, at ``level`` (0..1)."""
    out = bytearray()
    sound = noise(0.3, amplitude=level, seed=seed)
    gap = noise(0.1, amplitude=0.002, seed=seed + 1)
    while len(out) < seconds * 32000:
        out += sound + gap
    return bytes(out[: int(seconds * 32000) // 2 * 2])


def feed(detector: RaisedVoiceDetector, pcm: bytes, start: float) -> list[float]:
    """Times (seconds) at which the detector reported a rise."""
    reports = []
    for i in range(0, len(pcm) - CHUNK + 1, CHUNK):
        at = start + (i + CHUNK) / 32000
        if detector.feed(pcm[i:i + CHUNK], at):
            reports.append(at)
    return reports


def room_and_talk(minutes: float, level: float = 0.05) -> bytes:
    return noise(2.0, amplitude=0.002, seed=3) + speech_like(minutes * 60, level, seed=5)


def test_ten_minutes_at_the_couples_own_level_raise_nothing() -> None:
    detector = RaisedVoiceDetector()
    assert feed(detector, room_and_talk(10), 0.0) == []
    own = detector.own_level
    assert own is not None and abs(own - level_dbfs(speech_like(1, 0.05, 5)[:9600])) < 3


def test_sustained_speech_10_db_above_is_noticed_within_ten_seconds() -> None:
    detector = RaisedVoiceDetector()
    calm = room_and_talk(2)
    assert feed(detector, calm, 0.0) == []
    start = len(calm) / 32000
    loud = audioop().mul(speech_like(15, 0.05, 7), 2, 10 ** (10 / 20))
    reports = feed(detector, loud, start)
    assert reports and reports[0] - start <= 10.0
    assert reports[0] - start >= LoudnessSettings().loud_seconds  # not before it lasted


def test_a_short_loud_burst_is_not_raised_voices() -> None:
    detector = RaisedVoiceDetector()
    calm = room_and_talk(1)
    feed(detector, calm, 0.0)
    start = len(calm) / 32000
    burst = audioop().mul(speech_like(2, 0.05, 9), 2, 10 ** (12 / 20))  # a laugh, a shout
    after = speech_like(20, 0.05, 11)
    assert feed(detector, burst + after, start) == []


def test_nothing_is_reported_before_the_couples_level_is_known() -> None:
    detector = RaisedVoiceDetector()
    loud_from_the_start = noise(2.0, amplitude=0.002, seed=3) + speech_like(10, 0.3, seed=5)
    assert feed(detector, loud_from_the_start, 0.0) == []
    assert detector.own_level is None
