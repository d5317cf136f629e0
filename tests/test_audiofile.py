import array
import math
import struct
import sys
from pathlib import Path

import pytest

from assistant import audio
from assistant.audiofile import AudioFileError, decode_wav_pcm16, read_wav_pcm16

_KSDATAFORMAT_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


def _wav(
    samples: bytes,
    *,
    channels: int,
    rate: int,
    bits: int,
    tag: int = 1,
    extensible: bool = False,
    data_size: int | None = None,
) -> bytes:
    """Build a WAV file by hand, so formats the wave module cannot write are covered too."""
    align = channels * bits // 8
    if extensible:
        fmt = struct.pack(
            "<HHIIHHHHI", 0xFFFE, channels, rate, rate * align, align, bits, 22, bits, 0
        )
        fmt += struct.pack("<H", tag) + _KSDATAFORMAT_TAIL
    else:
        fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    size = len(samples) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"LIST" + struct.pack("<I", 4) + b"INFO"  # an extra chunk to skip
    body += b"data" + struct.pack("<I", size) + samples
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _sine(freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> list[float]:
    return [amplitude * math.sin(2 * math.pi * freq * i / rate) for i in range(int(rate * seconds))]


def _int16(values: list[float]) -> bytes:
    return array.array("h", (round(v * 32767) for v in values)).tobytes()


def _interleave(*channels: bytes, width: int) -> bytes:
    frames = len(channels[0]) // width
    out = bytearray()
    for i in range(frames):
        for channel in channels:
            out += channel[i * width : (i + 1) * width]
    return bytes(out)


def _samples(pcm: bytes) -> array.array:
    return array.array("h", pcm)


def _zero_crossings(pcm: bytes) -> int:
    values = _samples(pcm)
    return sum(1 for a, b in zip(values, values[1:], strict=False) if (a < 0) != (b < 0))


def test_44k1_stereo_becomes_16k_mono_of_the_same_length(tmp_path: Path) -> None:
    left = _int16(_sine(440, 44100, 1.5))
    path = tmp_path / "stereo.wav"
    path.write_bytes(_wav(_interleave(left, left, width=2), channels=2, rate=44100, bits=16))

    pcm = read_wav_pcm16(path)

    assert abs(len(pcm) // 2 - 24000) <= 2  # 1.5 s at 16 kHz, mono, 16-bit
    # The tone survives: 440 Hz crosses zero 880 times a second.
    assert abs(_zero_crossings(pcm) - 1320) <= 6
    assert max(_samples(pcm)) == pytest.approx(16384, rel=0.05)


def test_channels_are_mixed_not_picked(tmp_path: Path) -> None:
    tone = _sine(300, 16000, 0.5)
    left = _int16(tone)
    right = _int16([-v for v in tone])
    path = tmp_path / "opposite.wav"
    path.write_bytes(_wav(_interleave(left, right, width=2), channels=2, rate=16000, bits=16))

    pcm = read_wav_pcm16(path)

    assert len(pcm) == 16000
    assert max(abs(v) for v in _samples(pcm)) <= 2


def test_six_channels_are_mixed_down(tmp_path: Path) -> None:
    tone = _int16(_sine(500, 16000, 0.25, amplitude=0.6))
    silent = bytes(len(tone))
    samples = _interleave(tone, tone, tone, silent, silent, silent, width=2)
    path = tmp_path / "surround.wav"
    path.write_bytes(_wav(samples, channels=6, rate=16000, bits=16))

    pcm = read_wav_pcm16(path)

    assert len(pcm) == len(tone)
    assert max(_samples(pcm)) == pytest.approx(0.6 * 32767 / 2, rel=0.05)


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 48000, 96000])
def test_any_rate_is_converted(tmp_path: Path, rate: int) -> None:
    path = tmp_path / f"{rate}.wav"
    path.write_bytes(_wav(_int16(_sine(200, rate, 1.0)), channels=1, rate=rate, bits=16))

    pcm = read_wav_pcm16(path)

    assert abs(len(pcm) // 2 - 16000) <= 2
    assert abs(_zero_crossings(pcm) - 400) <= 4


def test_other_target_rate(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    path.write_bytes(_wav(_int16(_sine(200, 16000, 1.0)), channels=1, rate=16000, bits=16))

    assert abs(len(read_wav_pcm16(path, rate=8000)) // 2 - 8000) <= 2


def test_8_bit_unsigned(tmp_path: Path) -> None:
    samples = bytes([128, 255, 0, 128, 192, 64])
    path = tmp_path / "u8.wav"
    path.write_bytes(_wav(samples, channels=1, rate=16000, bits=8))

    values = list(_samples(read_wav_pcm16(path)))

    assert values[0] == 0 and values[3] == 0
    assert values[1] == 127 * 256 and values[2] == -128 * 256
    assert values[4] == 64 * 256 and values[5] == -64 * 256


@pytest.mark.parametrize("extensible", [False, True])
def test_24_bit(tmp_path: Path, extensible: bool) -> None:
    samples = bytes([0x56, 0x34, 0x12, 0x00, 0x00, 0x80, 0xFF, 0xFF, 0xFF])
    path = tmp_path / "s24.wav"
    path.write_bytes(_wav(samples, channels=1, rate=16000, bits=24, extensible=extensible))

    assert list(_samples(read_wav_pcm16(path))) == [0x1234, -32768, -1]


def test_32_bit_integer(tmp_path: Path) -> None:
    samples = struct.pack("<3i", 0x12345678, -(2**31), 0)
    path = tmp_path / "s32.wav"
    path.write_bytes(_wav(samples, channels=1, rate=16000, bits=32))

    assert list(_samples(read_wav_pcm16(path))) == [0x1234, -32768, 0]


@pytest.mark.parametrize(("bits", "code", "extensible"), [(32, "f", False), (64, "d", True)])
def test_float(tmp_path: Path, bits: int, code: str, extensible: bool) -> None:
    samples = array.array(code, [0.0, 0.5, -0.5, 1.0, -1.0, 3.0]).tobytes()
    path = tmp_path / "float.wav"
    path.write_bytes(_wav(samples, channels=1, rate=16000, bits=bits, tag=3, extensible=extensible))

    values = list(_samples(read_wav_pcm16(path)))

    assert values[0] == 0
    assert values[1] == pytest.approx(16383, abs=1) and values[2] == pytest.approx(-16383, abs=1)
    assert values[3] == 32767 and values[4] <= -32767
    assert values[5] == 32767  # clipped, not wrapped


def test_streamed_header_with_placeholder_size() -> None:
    """espeak-ng and other pipes write 0x7FFFFFFF-ish sizes: the file length wins."""
    samples = _int16(_sine(250, 16000, 0.2))
    data = _wav(samples, channels=1, rate=16000, bits=16, data_size=0x7FFFF000)

    assert decode_wav_pcm16(data) == samples


def test_a_partial_last_frame_is_dropped() -> None:
    samples = _int16([0.1, 0.2, 0.3])
    data = _wav(samples + b"\x01", channels=1, rate=16000, bits=16)

    assert decode_wav_pcm16(data) == samples


def test_empty_data_chunk() -> None:
    assert decode_wav_pcm16(_wav(b"", channels=2, rate=44100, bits=16)) == b""


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nothing-here.wav"
    with pytest.raises(AudioFileError) as info:
        read_wav_pcm16(path)
    message = str(info.value)
    assert str(path) in message and "no such file" in message and "\n" not in message


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match="directory"):
        read_wav_pcm16(tmp_path)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "not a WAV file"),
        (b"hello, this is text and not audio at all", "not a WAV file"),
        (b"RIFF\x10\x00\x00\x00WAVEdata\x00\x00\x00\x00", "data before format"),
        (b"RIFF\x04\x00\x00\x00WAVE", "no format chunk"),
    ],
)
def test_invalid_files(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioFileError) as info:
        read_wav_pcm16(path)
    assert fragment in str(info.value)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_unsupported_encoding(tmp_path: Path) -> None:
    path = tmp_path / "alaw.wav"
    path.write_bytes(_wav(b"\x00" * 100, channels=1, rate=8000, bits=8, tag=6))
    with pytest.raises(AudioFileError, match="unsupported WAV encoding 0x0006"):
        read_wav_pcm16(path)


def test_unsupported_sample_size(tmp_path: Path) -> None:
    path = tmp_path / "s12.wav"
    path.write_bytes(_wav(b"\x00" * 100, channels=1, rate=8000, bits=12))
    with pytest.raises(AudioFileError, match="12-bit"):
        read_wav_pcm16(path)


def test_no_data_chunk() -> None:
    fmt = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
    data = b"RIFF" + struct.pack("<I", 28) + b"WAVEfmt " + struct.pack("<I", 16) + fmt
    with pytest.raises(AudioFileError, match="no data chunk"):
        decode_wav_pcm16(data, source="x.wav")


# --- assistant.audio: the shared PCM helpers ------------------------------------------------------


def _ramp(n: int) -> bytes:
    return array.array("h", ((i * 37) % 20000 - 10000 for i in range(n))).tobytes()


def test_resample_in_blocks_equals_resampling_at_once():
    pcm = _ramp(4800)
    whole, _ = audio.resample(pcm, 48000, 16000)
    state = None
    parts = []
    for block in audio.chunks(pcm, 960):
        out, state = audio.resample(block, 48000, 16000, state)
        parts.append(out)
    assert b"".join(parts) == whole and abs(len(whole) // 2 - 1600) <= 1
    assert audio.resample(pcm, 16000, 16000) == (pcm, None)


def test_channels_mix_down_and_spread_out():
    mono = _ramp(100)
    stereo = audio.spread_channels(mono, 2)
    assert array.array("h", stereo)[0::2] == array.array("h", mono)
    assert audio.to_mono(stereo, 2) == mono
    assert audio.to_mono(audio.spread_channels(mono, 4), 4) == mono
    assert audio.spread_channels(mono, 1) is mono and audio.to_mono(mono, 1) is mono


def test_chunks_are_20ms_with_an_optional_padded_tail():
    pcm = bytes(2 * 700)
    assert [len(c) for c in audio.chunks(pcm)] == [640, 640, 120]
    assert [len(c) for c in audio.chunks(pcm, pad=True)] == [640, 640, 640]
    assert list(audio.chunks(b"")) == []


def test_wav_write_then_read_and_decode(tmp_path):
    pcm = _ramp(2205)
    path = audio.write_wav(tmp_path / "x.wav", pcm, audio.SPEECH_RATE)
    wav = audio.read_wav(path)
    assert wav.pcm == pcm and wav.rate == audio.SPEECH_RATE and wav.is_pcm16_mono
    assert read_wav_pcm16(path, audio.SPEECH_RATE) == pcm
    assert decode_wav_pcm16(path.read_bytes(), audio.SPEECH_RATE) == pcm


def test_rms_with_and_without_audioop():
    pcm = array.array("h", [3000, -3000] * 50).tobytes()
    assert audio.rms(pcm) == pytest.approx(3000)
    assert audio._rms_python(pcm) == pytest.approx(3000)
    assert audio._rms_python(b"") == 0.0


def test_audioop_is_imported_without_a_deprecation_warning(recwarn, monkeypatch):
    monkeypatch.delitem(sys.modules, "audioop", raising=False)  # a fresh import warns on 3.11
    audio.audioop.cache_clear()
    assert audio.audioop().rms(bytes(4), 2) == 0
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]
