"""Read any WAV file as the 16-bit mono PCM a recognizer expects.

Integer WAVs (8, 16, 24 or 32 bit, any channel count, any sample rate, including
WAVE_FORMAT_EXTENSIBLE) are decoded by pydub's built-in WAV reader, which needs no ffmpeg;
32- and 64-bit float WAVs are decoded here. Channels are mixed down and the rate is converted
with pydub and :func:`assistant.audio.resample`. pydub is imported lazily so that importing this
module stays cheap.
"""

from __future__ import annotations

import array
import logging
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.audio import SAMPLE_WIDTH, import_pydub, resample

if TYPE_CHECKING:
    from pydub import AudioSegment

_LOGGER = logging.getLogger(__name__)

_FORMAT_PCM = 0x0001
_FORMAT_FLOAT = 0x0003
_FORMAT_EXTENSIBLE = 0xFFFE
_MAX_CHANNELS = 32


class AudioFileError(Exception):
    """A WAV file is missing, unreadable or not audio this module understands."""


@dataclass(frozen=True)
class WavFormat:
    """What the ``fmt `` chunk of a WAV file says about its samples."""

    encoding: int
    """The effective format tag: 1 for integer PCM, 3 for IEEE float."""
    channels: int
    """The number of interleaved channels."""
    sample_rate: int
    """Frames per second."""
    bits: int
    """Bits per sample of one channel."""
    data_offset: int
    """Where the sample data begins in the file."""
    data_size: int
    """How many bytes of sample data the file holds (clipped to what is really there)."""


def read_wav_pcm16(path: str | Path, rate: int = 16000) -> bytes:
    """Return the audio of the WAV file at ``path`` as 16-bit mono PCM at ``rate`` Hz.

    Raises :class:`AudioFileError` with a one-line message when the file is missing,
    unreadable or not a WAV file of a kind this module can decode.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise AudioFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise AudioFileError(f"{path}: is a directory, not a WAV file") from None
    except OSError as exc:  # permissions, I/O errors: report them in one line
        raise AudioFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return decode_wav_pcm16(data, rate=rate, source=str(path))


def decode_wav_pcm16(data: bytes, rate: int = 16000, source: str = "WAV data") -> bytes:
    """Return the WAV file held in ``data`` as 16-bit mono PCM at ``rate`` Hz.

    ``source`` names the data in error messages.
    """
    if rate <= 0:
        raise ValueError(f"sample rate must be positive, got {rate}")
    fmt = parse_wav_header(data, source)
    segment = _to_segment(data, fmt)
    return _convert(segment, rate)


def parse_wav_header(data: bytes, source: str = "WAV data") -> WavFormat:
    """Read the ``fmt `` and ``data`` chunk headers; raise :class:`AudioFileError` if invalid."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioFileError(f"{source}: not a WAV file (no RIFF/WAVE header)")
    pos = 12
    fmt_chunk: bytes | None = None
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        body = pos + 8
        if chunk_id == b"fmt ":
            fmt_chunk = data[body : body + size]
        elif chunk_id == b"data":
            if fmt_chunk is None:
                raise AudioFileError(f"{source}: invalid WAV file (data before format chunk)")
            # Streamed WAVs (e.g. from a pipe) carry a placeholder size: trust the file length.
            available = len(data) - body
            return _parse_fmt(fmt_chunk, source, body, min(size, available))
        pos = body + size + (size & 1)
    if fmt_chunk is None:
        raise AudioFileError(f"{source}: invalid WAV file (no format chunk)")
    raise AudioFileError(f"{source}: invalid WAV file (no data chunk)")


def _parse_fmt(chunk: bytes, source: str, data_offset: int, data_size: int) -> WavFormat:
    if len(chunk) < 16:
        raise AudioFileError(f"{source}: invalid WAV file (format chunk too short)")
    tag, channels, sample_rate, _byte_rate, _align, bits = struct.unpack_from("<HHIIHH", chunk)
    if tag == _FORMAT_EXTENSIBLE:
        if len(chunk) < 40:
            raise AudioFileError(f"{source}: invalid WAV file (extensible format chunk too short)")
        # The sub-format GUID starts with the plain format tag.
        (tag,) = struct.unpack_from("<H", chunk, 24)
    if tag not in (_FORMAT_PCM, _FORMAT_FLOAT):
        raise AudioFileError(
            f"{source}: unsupported WAV encoding 0x{tag:04X} (use PCM or float samples)"
        )
    if not 1 <= channels <= _MAX_CHANNELS:
        raise AudioFileError(f"{source}: invalid WAV file ({channels} channels)")
    if sample_rate <= 0:
        raise AudioFileError(f"{source}: invalid WAV file (sample rate {sample_rate})")
    valid_bits = (8, 16, 24, 32) if tag == _FORMAT_PCM else (32, 64)
    if bits not in valid_bits:
        kind = "integer" if tag == _FORMAT_PCM else "float"
        raise AudioFileError(f"{source}: unsupported WAV sample size ({bits}-bit {kind})")
    return WavFormat(tag, channels, sample_rate, bits, data_offset, data_size)


def _to_segment(data: bytes, fmt: WavFormat) -> AudioSegment:
    """Build an AudioSegment of integer samples from the file's sample data."""
    audio_segment = import_pydub()[0].AudioSegment
    frame_bytes = fmt.channels * fmt.bits // 8
    usable = fmt.data_size - fmt.data_size % frame_bytes
    raw = data[fmt.data_offset : fmt.data_offset + usable]
    if fmt.encoding == _FORMAT_FLOAT:
        raw = _float_to_int32(raw, fmt.bits)
        width = 4
    elif fmt.bits == 8:
        # 8-bit WAV samples are unsigned; pydub works with signed samples.
        raw = bytes((b - 128) & 0xFF for b in raw)
        width = 1
    elif fmt.bits == 24:
        raw = _int24_to_int32(raw)
        width = 4
    else:
        width = fmt.bits // 8
    return audio_segment(
        data=raw, sample_width=width, frame_rate=fmt.sample_rate, channels=fmt.channels
    )


def _float_to_int32(raw: bytes, bits: int) -> bytes:
    samples = array.array("f" if bits == 32 else "d")
    samples.frombytes(raw)
    if sys.byteorder != "little":
        samples.byteswap()
    top = 2**31 - 1
    out = array.array("i", (int(max(-1.0, min(1.0, s)) * top) for s in samples))
    if sys.byteorder != "little":
        out.byteswap()
    return out.tobytes()


def _int24_to_int32(raw: bytes) -> bytes:
    """Widen little-endian 24-bit samples to 32 bits by appending a zero low byte."""
    out = bytearray(len(raw) // 3 * 4)
    out[1::4] = raw[0::3]
    out[2::4] = raw[1::3]
    out[3::4] = raw[2::3]
    return bytes(out)


def _convert(segment: AudioSegment, rate: int) -> bytes:
    """Mix down to mono and 16 bits with pydub, then resample like the rest of the program."""
    if segment.channels != 1:
        segment = segment.set_channels(1)
    if segment.sample_width != SAMPLE_WIDTH:
        segment = segment.set_sample_width(SAMPLE_WIDTH)
    pcm, _state = resample(bytes(segment.raw_data), segment.frame_rate, rate)
    return pcm
