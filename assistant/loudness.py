"""Raised voices, noticed offline: the couple's own speaking level, and a sustained rise above it.

Seed 000: share *from calm* — once emotions take over, the connection breaks. Loud speech that
goes on for seconds is the audible sign. :class:`RaisedVoiceDetector` learns the couple's own
level from their first minutes of speech (the median level of speech frames), and reports a rise
when, within a few seconds, enough speech lies well above it. It only measures levels: no word
is recognised or kept. The session decides what to do with a report (offer a time-out, once in a
while); this module never speaks.

    detector = RaisedVoiceDetector()
    if detector.feed(chunk.pcm, chunk.captured_at):
        inputs.put(RaisedVoices())
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass

from assistant.audio import rms

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoudnessSettings:
    """When speech counts as raised."""

    rise_db: float = 7.0
    """How far above the couple's own level a frame must be to count as loud, in dB."""
    loud_seconds: float = 2.5
    """Seconds of loud speech within :attr:`window` that make a rise (at the density of
    ordinary speech, about six seconds of talk; the simulation uses
    :data:`~assistant.engine.timing.RAISED_VOICE_SECONDS`)."""
    window: float = 8.0
    """The stretch of time looked at, in seconds."""
    learn: float = 120.0
    """Seconds of speech the couple's own level is learned from (their first minutes)."""
    ready: float = 20.0
    """Seconds of speech needed before a rise can be reported at all."""
    speech_margin_db: float = 12.0
    """A frame is speech when it is this much louder than the room (its quiet level)."""
    floor_dbfs: float = -55.0
    """Frames below this are never speech, whatever the room."""


def level_dbfs(pcm: bytes) -> float:
    """The level of 16-bit PCM in dB relative to full scale (-inf for silence)."""
    value = rms(pcm)
    return 20 * math.log10(value / 32768) if value > 0 else -math.inf


REFRESH_CHUNKS = 50
"""The room's level and the couple's level are looked at again every this many chunks (1 s):
sorting seconds of levels for every 20 ms chunk is work the microphone thread need not do."""


class RaisedVoiceDetector:
    """Feeds on 20 ms chunks; True once for each sustained rise above the couple's own level."""

    def __init__(self, settings: LoudnessSettings | None = None, chunk_seconds: float = 0.02
                 ) -> None:
        self.settings = settings or LoudnessSettings()
        """The thresholds."""
        self._chunk = chunk_seconds
        self._room: deque[float] = deque(maxlen=round(30 / chunk_seconds))  # the last 30 s
        self._learned: list[float] = []
        self._own: float | None = None
        self._loud: deque[float] = deque()  # capture times of loud speech frames
        self._calm_until = -math.inf
        self._learning: float | None = None  # the median of what was learned so far
        self._learning_at = 0  # how many levels it was taken over
        self._room_level: float | None = None
        self._since_room = 0

    @property
    def own_level(self) -> float | None:
        """The couple's own speaking level in dBFS, once enough speech was heard."""
        if self._own is not None:
            return self._own
        if len(self._learned) * self._chunk < self.settings.ready:
            return None
        if self._learning is None or len(self._learned) >= self._learning_at + REFRESH_CHUNKS:
            # once a second of speech, not for every chunk nor for every caller
            self._learning, self._learning_at = _median(self._learned), len(self._learned)
        return self._learning

    def feed(self, pcm: bytes, at: float) -> bool:
        """Take one chunk captured at ``at`` (seconds); True when a rise is detected."""
        level = level_dbfs(pcm)
        if math.isinf(level):
            return False
        self._room.append(level)
        if not self._is_speech(level):
            return False
        s = self.settings
        if self._own is None:
            self._learned.append(level)
            if len(self._learned) * self._chunk >= s.learn:
                self._own = _median(self._learned)
                self._learned = []
                _LOGGER.info("the couple's own speaking level: %.1f dBFS", self._own)
        own = self.own_level
        if own is None or level < own + s.rise_db or at < self._calm_until:
            return False
        self._loud.append(at)
        while self._loud and self._loud[0] < at - s.window:
            self._loud.popleft()
        if len(self._loud) * self._chunk >= s.loud_seconds:
            self._loud.clear()
            self._calm_until = at + s.window  # one report per rise, not one per frame after
            _LOGGER.info("raised voices: %.1f s above %.1f dBFS", s.loud_seconds,
                         own + s.rise_db)
            return True
        return False

    def _is_speech(self, level: float) -> bool:
        if level < self.settings.floor_dbfs:
            return False
        if len(self._room) < REFRESH_CHUNKS:  # a second of room tone first
            return False
        self._since_room += 1
        if self._room_level is None or self._since_room >= REFRESH_CHUNKS:
            # the quiet end of the last 30 s, looked at again once a second
            self._room_level = sorted(self._room)[len(self._room) // 10]
            self._since_room = 0
        return level >= self._room_level + self.settings.speech_margin_db


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]
