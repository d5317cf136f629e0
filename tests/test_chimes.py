"""Chimes: generated tones of the right length, soft, faded, rising or falling as designed."""

from __future__ import annotations

import math
from array import array

import pytest

from assistant.chimes import CHIME_PEAK_DBFS, CHIMES, chime_duration_ms, chime_pcm
from assistant.engine.messages import Chime
from assistant.playback import SAMPLE_RATE


def samples(pcm: bytes) -> array:
    return array("h", pcm)


def dbfs(value: float) -> float:
    return 20 * math.log10(value / 32768) if value else -math.inf


def rms(values) -> float:
    values = list(values)
    return math.sqrt(sum(v * v for v in values) / len(values))


def pitch(values) -> float:
    """Rough fundamental frequency from upward zero crossings."""
    values = list(values)
    ups = sum(1 for a, b in zip(values, values[1:], strict=False) if a < 0 <= b)
    return ups * SAMPLE_RATE / len(values)


def note_span(chime: Chime, index: int) -> slice:
    """The samples of the middle half of note ``index`` (away from the fades)."""
    start_ms = sum(n.ms + n.gap_ms for n in CHIMES[chime][:index])
    note = CHIMES[chime][index]
    a = (start_ms + note.ms // 8) * SAMPLE_RATE // 1000
    b = (start_ms + note.ms // 2) * SAMPLE_RATE // 1000
    return slice(a, b)


def test_every_chime_is_defined():
    assert set(CHIMES) == set(Chime)


@pytest.mark.parametrize("chime", list(Chime))
def test_length_matches_the_notes(chime):
    frames = len(chime_pcm(chime)) // 2
    expected = chime_duration_ms(chime) * SAMPLE_RATE / 1000
    assert abs(frames - expected) <= len(CHIMES[chime])
    assert 200 <= chime_duration_ms(chime) <= 600  # short


@pytest.mark.parametrize("chime", list(Chime))
def test_soft_but_audible_with_quiet_edges(chime):
    values = samples(chime_pcm(chime))
    peak = max(abs(v) for v in values)
    assert abs(dbfs(peak) - CHIME_PEAK_DBFS) < 0.2
    assert dbfs(rms(values)) > CHIME_PEAK_DBFS - 12  # clearly not silence
    edge = SAMPLE_RATE // 1000  # the first and last millisecond
    assert max(abs(v) for v in values[:edge]) < peak / 4
    assert max(abs(v) for v in values[-edge:]) < peak / 4


def test_turn_start_rises_and_time_up_falls():
    start = samples(chime_pcm(Chime.TURN_START))
    up = samples(chime_pcm(Chime.TIME_UP))
    assert pitch(start[note_span(Chime.TURN_START, 0)]) < pitch(
        start[note_span(Chime.TURN_START, 1)])
    assert pitch(up[note_span(Chime.TIME_UP, 0)]) > pitch(up[note_span(Chime.TIME_UP, 1)])


def test_paused_is_the_lowest_note():
    paused = samples(chime_pcm(Chime.PAUSED))
    warning = samples(chime_pcm(Chime.WARNING))
    low = pitch(paused[note_span(Chime.PAUSED, 0)])
    assert abs(low - 329.63) < 25
    assert low < pitch(warning[note_span(Chime.WARNING, 0)]) / 2


def test_other_sample_rates():
    frames = len(chime_pcm(Chime.WARNING, 48000)) // 2
    assert abs(frames - chime_duration_ms(Chime.WARNING) * 48) <= 1
