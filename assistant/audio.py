"""PCM helpers in one place: formats, audioop, pydub, resampling, channels, WAV files, chunks.

All audio inside Samenspraak is 16-bit signed little-endian PCM (:data:`SAMPLE_WIDTH` bytes per
sample). Speech and chimes play at :data:`SPEECH_RATE`; the microphone, the voice activity
detector and the recognizers work at :data:`LISTEN_RATE` in chunks of :data:`CHUNK_SAMPLES`.

Importing this module is cheap: ``audioop`` and pydub are imported on first use. ``audioop`` is
deprecated in Python 3.11–3.12 and gone from 3.13, where the ``audioop-lts`` package provides the
same module; :func:`audioop` hides the difference (and the deprecation warning).
Any WAV file (other widths, channel counts, float samples) is decoded by
:mod:`assistant.audiofile` (which builds on this module).
"""

from __future__ import annotations

import functools
import logging
import math
import os
import tempfile
import threading
import warnings
import wave
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

_LOGGER = logging.getLogger(__name__)

SAMPLE_WIDTH = 2
"""Bytes per sample: 16-bit signed little-endian PCM, everywhere."""
SPEECH_RATE = 22050
"""Sample rate of all speech and chimes, in Hz (what espeak-ng renders natively)."""
LISTEN_RATE = 16000
"""Sample rate of microphone audio as the VAD and the recognizers take it, in Hz."""
CHUNK_SAMPLES = 320
"""Samples per microphone chunk: 20 ms at :data:`LISTEN_RATE`."""

_PYDUB_LOCK = threading.Lock()
"""``warnings.catch_warnings`` is not thread-safe; imports of pydub take turns."""

ResampleState = Any
"""The opaque state ``audioop.ratecv`` carries from one block to the next (None at the start)."""


# --- audioop and pydub ------------------------------------------------------------------------


@functools.cache
def audioop() -> ModuleType:
    """The ``audioop`` module: the stdlib one up to 3.12, the ``audioop-lts`` package from 3.13.

    Raises :class:`ModuleNotFoundError` saying what to install when neither is there.
    """
    with warnings.catch_warnings():
        # Expected on Python 3.11-3.12: audioop announces its removal; it is still there.
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import audioop as module
        except ImportError as exc:  # Python 3.13+ without the audioop-lts package
            raise ModuleNotFoundError(
                "audioop is missing: pip install audioop-lts (scripts/setup does)") from exc
    return module


@functools.cache
def rms_function() -> Callable[[bytes, int], float]:
    """``audioop.rms`` when available, else a pure-Python root mean square of 16-bit PCM."""
    try:
        return audioop().rms
    except ModuleNotFoundError:  # the level meter still works, only slower
        return _rms_python


def rms(pcm: bytes, width: int = SAMPLE_WIDTH) -> float:
    """Root mean square level of ``pcm`` (of 32767 for 16-bit samples)."""
    return rms_function()(pcm, width)


def _rms_python(pcm: bytes, width: int = SAMPLE_WIDTH) -> float:
    """Root mean square of 16-bit PCM, without audioop."""
    if width != SAMPLE_WIDTH:
        raise ValueError(f"the pure-Python rms handles 16-bit samples only, not {width * 8}-bit")
    samples = memoryview(pcm[:len(pcm) - len(pcm) % 2]).cast("h")
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def import_pydub() -> tuple[ModuleType, ModuleType, ModuleType]:
    """Import pydub lazily: return its ``audio_segment`` module, ``effects`` and ``generators``.

    Only WAV files and raw PCM are handled, which need no ffmpeg, so pydub's warning about a
    missing ffmpeg (a RuntimeWarning) and audioop's deprecation warning are silenced, for the
    import only.
    """
    with _PYDUB_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            from pydub import audio_segment, effects, generators
        except ImportError as exc:  # pydub is a declared dependency; say what to install
            raise ImportError("pydub is needed for speech and chimes: pip install pydub") from exc
    return audio_segment, effects, generators


# --- rates and channels -----------------------------------------------------------------------


def resample(pcm: bytes, from_rate: int, to_rate: int,
             state: ResampleState = None) -> tuple[bytes, ResampleState]:
    """Convert 16-bit mono ``pcm`` from ``from_rate`` to ``to_rate`` Hz with ``audioop.ratecv``.

    Returns the converted PCM and the state to pass with the next block of the same stream
    (so a stream cut into blocks converts without clicks); pass None for a fresh stream. Equal
    rates return ``pcm`` itself.
    """
    if from_rate == to_rate:
        return pcm, state
    return audioop().ratecv(pcm, SAMPLE_WIDTH, 1, from_rate, to_rate, state)


def to_mono(pcm: bytes, channels: int) -> bytes:
    """Mix interleaved 16-bit ``pcm`` of ``channels`` channels down to mono (the average)."""
    if channels == 1:
        return pcm
    if channels == 2:
        return audioop().tomono(pcm, SAMPLE_WIDTH, 0.5, 0.5)
    if channels < 1:
        raise ValueError(f"channels must be at least 1, not {channels}")
    samples = array("h", pcm[:len(pcm) - len(pcm) % (SAMPLE_WIDTH * channels)])
    parts = [samples[c::channels] for c in range(channels)]
    return array("h", (sum(frame) // channels for frame in zip(*parts, strict=True))).tobytes()


def spread_channels(pcm: bytes, channels: int) -> bytes:
    """Copy 16-bit mono ``pcm`` into each of ``channels`` interleaved channels."""
    if channels == 1:
        return pcm
    if channels < 1:
        raise ValueError(f"channels must be at least 1, not {channels}")
    mono = array("h", pcm[:len(pcm) - len(pcm) % SAMPLE_WIDTH])
    out = array("h", bytes(len(mono) * channels * SAMPLE_WIDTH))
    for c in range(channels):
        out[c::channels] = mono
    return out.tobytes()


def chunks(pcm: bytes, samples: int = CHUNK_SAMPLES, *, pad: bool = False) -> Iterator[bytes]:
    """Cut 16-bit ``pcm`` into pieces of ``samples`` samples (20 ms at 16 kHz by default).

    The last piece is shorter when ``pcm`` does not divide evenly, unless ``pad`` fills it up
    with silence.
    """
    if samples < 1:
        raise ValueError(f"samples must be at least 1, not {samples}")
    size = samples * SAMPLE_WIDTH
    for offset in range(0, len(pcm), size):
        piece = pcm[offset:offset + size]
        yield piece.ljust(size, b"\0") if pad else piece


def duration(pcm: bytes, rate: int) -> float:
    """Seconds of 16-bit mono ``pcm`` at ``rate`` Hz."""
    return len(pcm) / SAMPLE_WIDTH / rate


# --- WAV files --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WavAudio:
    """The frames of a WAV file as stored, with their format."""

    pcm: bytes
    """The raw frames (interleaved when there is more than one channel)."""
    rate: int
    """Sample rate in Hz."""
    channels: int
    """Number of interleaved channels."""
    width: int
    """Bytes per sample."""

    @property
    def is_pcm16_mono(self) -> bool:
        """Whether the frames are 16-bit mono, the format used everywhere here."""
        return (self.channels, self.width) == (1, SAMPLE_WIDTH)


def write_wav(path: str | Path, pcm: bytes, rate: int) -> Path:
    """Write 16-bit mono ``pcm`` at ``rate`` Hz as a WAV file at ``path``; return the path."""
    path = Path(path)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(SAMPLE_WIDTH)
        out.setframerate(rate)
        out.writeframes(pcm)
    return path


def write_wav_private(path: str | Path, pcm: bytes, rate: int) -> Path:
    """Write a WAV file atomically and readable by its owner only: a temporary file in the same
    folder (0600 from the start), then a rename, so no half-written file is ever seen."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".wav", dir=path.parent)
    os.close(fd)  # mkstemp made it 0600; the WAV writer opens it by name
    try:
        write_wav(tmp, pcm, rate)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def trim_to_speech(pcm: bytes, rate: int, margin: tuple[float, float], min_speech: float,
                   level: float = 400.0) -> bytes | None:
    """``pcm`` from ``margin[0]`` seconds before its first speech to ``margin[1]`` after its last;
    None when it holds less than ``min_speech`` seconds of speech (20 ms pieces above
    ``level`` RMS)."""
    pieces = list(chunks(pcm, round(rate * 0.02)))
    loud = [i for i, piece in enumerate(pieces)
            if len(piece) == len(pieces[0]) and rms(piece) > level]
    if len(loud) * 0.02 < min_speech:
        return None
    first = max(0, loud[0] - round(margin[0] / 0.02))
    last = min(len(pieces), loud[-1] + 1 + round(margin[1] / 0.02))
    return b"".join(pieces[first:last])


def read_wav(path: str | Path) -> WavAudio:
    """Read an integer-PCM WAV file with the standard library, frames untouched.

    Raises ``FileNotFoundError``/``OSError`` when it cannot be read and ``wave.Error`` or
    ``EOFError`` when it is not a WAV file the ``wave`` module understands. For any WAV file as
    16-bit mono at a chosen rate use :func:`assistant.audiofile.read_wav_pcm16`.
    """
    with wave.open(str(path), "rb") as wav:
        return WavAudio(pcm=wav.readframes(wav.getnframes()), rate=wav.getframerate(),
                        channels=wav.getnchannels(), width=wav.getsampwidth())

