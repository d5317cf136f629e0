"""Short, soft chimes made from generated sine tones.

Each :class:`~assistant.engine.messages.Chime` is a few notes declared as data in :data:`CHIMES`; a
note is a sine with a quieter octave above it (a bell-like colour), a quick fade in and a long
fade out. The result has the same format as speech (16-bit mono PCM at
:data:`~assistant.audio.SPEECH_RATE`), so one warm output stream plays both.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from assistant.audio import SPEECH_RATE, import_pydub
from assistant.engine.messages import Chime

_LOGGER = logging.getLogger(__name__)

CHIME_PEAK_DBFS = -20.0
"""Loudness of a chime's note, in dBFS: clearly softer than speech (peaks near -1 dBFS)."""


@dataclass(frozen=True)
class Note:
    """One tone of a chime."""

    frequency: float
    """Pitch in Hz."""
    ms: int
    """How long the note sounds, fades included, in milliseconds."""
    gap_ms: int = 0
    """Silence after the note, in milliseconds."""


CHIMES: dict[Chime, tuple[Note, ...]] = {
    # A turn starts: two rising notes, E5 then A5.
    Chime.TURN_START: (Note(659.25, 160, 40), Note(880.0, 280)),
    # Time is nearly up: one soft, short note (A5).
    Chime.WARNING: (Note(880.0, 260),),
    # Time is up: the turn-start notes reversed, falling A5 then E5.
    Chime.TIME_UP: (Note(880.0, 160, 40), Note(659.25, 320)),
    # Paused: a single low note (E4), held a little longer.
    Chime.PAUSED: (Note(329.63, 420),),
}
"""The notes of every chime, in order."""

_FADE_IN_MS = 8
_FADE_OUT_SHARE = 0.7
"""The share of each note that fades out (linearly in amplitude), for a soft, bell-like end."""
_OVERTONE_DB = -14.0


def chime_duration_ms(chime: Chime) -> int:
    """How long ``chime`` lasts, in milliseconds (gaps included)."""
    return sum(note.ms + note.gap_ms for note in CHIMES[chime])


@functools.cache
def chime_pcm(chime: Chime, sample_rate: int = SPEECH_RATE,
              peak_dbfs: float = CHIME_PEAK_DBFS) -> bytes:
    """The chime as 16-bit mono PCM at ``sample_rate`` (generated once, then remembered)."""
    audio_segment, _effects, generators = import_pydub()
    segment = audio_segment.AudioSegment.silent(duration=0, frame_rate=sample_rate)
    for note in CHIMES[chime]:
        tone = generators.Sine(note.frequency, sample_rate=sample_rate, bit_depth=16)
        overtone = generators.Sine(note.frequency * 2, sample_rate=sample_rate, bit_depth=16)
        sound = tone.to_audio_segment(duration=note.ms, volume=-6.0).overlay(
            overtone.to_audio_segment(duration=note.ms, volume=-6.0 + _OVERTONE_DB))
        sound = sound.fade_in(_FADE_IN_MS).fade_out(int(note.ms * _FADE_OUT_SHARE))
        segment += sound
        if note.gap_ms:
            segment += audio_segment.AudioSegment.silent(duration=note.gap_ms,
                                                         frame_rate=sample_rate)
    segment = segment.set_channels(1).set_sample_width(2)
    segment = segment.apply_gain(peak_dbfs - segment.max_dBFS)
    _LOGGER.debug("generated chime %s: %d ms", chime.value, len(segment))
    return segment.raw_data
