"""Fakes that stand where hardware stands: an output stream, a microphone, a speaker.

- :class:`PacedStream` is an output stream (for :class:`assistant.playback.AudioOutput`) that
  takes audio at the pace a sound card plays it, for machines without the PulseAudio rig.
- :class:`ScriptedMic` is an :class:`~assistant.ports.AudioSource` that hands out PCM in 20 ms
  chunks, in real time or as fast as it is read, and counts how often it fell behind.
- :class:`InstantSpeaker` is a :class:`~assistant.ports.Speaker` that says everything at once
  and notes when it was last called.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from assistant.audio import CHUNK_SAMPLES, LISTEN_RATE, SAMPLE_WIDTH
from assistant.engine.messages import Chime
from assistant.ports import AudioChunk

_LOGGER = logging.getLogger(__name__)

CHUNK_SECONDS = CHUNK_SAMPLES / LISTEN_RATE
"""Length of one microphone chunk (20 ms)."""
LATE_SECONDS = 0.04
"""A real-time chunk handed out later than this after its time counts as late."""


class PacedStream:
    """A fake output stream that takes audio at the pace a sound card plays it (100 ms buffer)."""

    BUFFER_SECONDS = 0.1
    """How far ahead of the 'card' a writer may get before :meth:`write` blocks."""

    def __init__(self, device: object, sample_rate: int, channels: int) -> None:
        """The signature of :func:`assistant.playback.sounddevice_stream`; ``device`` is unused."""
        self._bytes_per_second = sample_rate * channels * SAMPLE_WIDTH
        self._started = 0.0
        self._written = 0

    def start(self) -> None:
        """Begin playing."""
        self._started, self._written = time.monotonic(), 0

    def write(self, data: bytes) -> None:
        """Block while the buffer is full."""
        self._written += len(data)
        ahead = (self._written / self._bytes_per_second - self.BUFFER_SECONDS
                 - (time.monotonic() - self._started))
        if ahead > 0:
            time.sleep(ahead)

    def stop(self) -> None:
        """Nothing is left to play."""

    def close(self) -> None:
        """Nothing to release."""


class ScriptedMic:
    """A microphone that plays PCM pieces: in real time, or as fast as the reader takes them.

    It stands where :class:`assistant.mic.Microphone` stands (read by
    :class:`assistant.voice.MicLoop` on its own thread). The pieces may have any length; they
    are handed out as one continuous stream of 20 ms chunks. ``on_minute`` runs after each
    ``minute`` seconds of audio handed out (a shorter "minute" samples more often).
    """

    def __init__(self, pieces: Iterable[bytes], real_time: bool,
                 on_minute: Callable[[float], None] | None = None, minute: float = 60.0) -> None:
        self._pieces: Iterator[bytes] = iter(pieces)
        self._real_time = real_time
        self._on_minute = on_minute
        self._chunks_per_minute = max(1, round(minute / CHUNK_SECONDS))
        self._size = CHUNK_SAMPLES * SAMPLE_WIDTH
        self._buffer = bytearray()
        self._offset = 0
        self._start: float | None = None
        self._count = 0
        self._closed = False
        self.finished = threading.Event()
        """Set once every piece has been handed out."""
        self.late_chunks = 0
        """Real-time chunks handed out more than :data:`LATE_SECONDS` after their time."""

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    @property
    def chunks(self) -> int:
        """Chunks handed out so far."""
        return self._count

    @property
    def seconds(self) -> float:
        """Audio handed out so far."""
        return self._count * CHUNK_SECONDS

    def pace(self) -> dict[str, float | int]:
        """How well it kept time: chunks handed out, and how many of them late."""
        return {"chunks": self._count, "late_chunks": self.late_chunks,
                "real_time": self._real_time}

    def read(self, timeout: float | None = None) -> AudioChunk | None:
        """The next 20 ms (in real time: once its last sample is due); None at the end."""
        if self._start is None:
            self._start = time.monotonic()
        if not self._fill():
            time.sleep(timeout or 0.0)
            return None
        due = self._start + (self._count + 1) * CHUNK_SECONDS
        if self._real_time:
            wait = due - time.monotonic()
            if wait > 0:
                if timeout is not None and wait > timeout:
                    time.sleep(timeout)
                    return None
                time.sleep(wait)
            elif -wait > LATE_SECONDS:
                self.late_chunks += 1
        chunk = bytes(self._buffer[self._offset:self._offset + self._size])
        self._offset += self._size
        self._count += 1
        if self._on_minute is not None and self._count % self._chunks_per_minute == 0:
            self._on_minute(self.seconds / 60)
        return AudioChunk(chunk, LISTEN_RATE, due if self._real_time else time.monotonic())

    def _fill(self) -> bool:
        """Make a chunk ready in the buffer; False once nothing is left."""
        if len(self._buffer) - self._offset < self._size:
            del self._buffer[:self._offset]
            self._offset = 0
        while len(self._buffer) < self._size and not self.finished.is_set():
            piece = next(self._pieces, None)
            if piece is None:
                self.finished.set()
            else:
                self._buffer += piece
        return self._offset < len(self._buffer)

    def close(self) -> None:
        """Stop handing out chunks."""
        self._closed = True


class InstantSpeaker:
    """A speaker that says everything at once and notes the time of its last call."""

    def __init__(self) -> None:
        self.last_call = time.monotonic()
        """Monotonic time of the last :meth:`say` or :meth:`chime`."""
        self.said: list[str] = []
        """Everything said, in order."""

    def say(self, text: str, keep: bool = True) -> None:
        """Note the line."""
        self.said.append(text)
        self.last_call = time.monotonic()

    def chime(self, chime: Chime) -> None:
        """Note the chime."""
        self.last_call = time.monotonic()

    def set_pace(self, factor: float) -> None:
        """No pace to change."""

    def prepare(self, texts: Iterable[str]) -> None:
        """Nothing to render."""

    def interrupt(self) -> None:
        """Nothing plays long enough to be cut."""

    def close(self) -> None:
        """Nothing to release."""
