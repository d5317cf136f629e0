"""Synthesized speech for tests: espeak-ng rendered to 16-bit mono PCM at 16 kHz.

``synth("klaar", lang="nl", voice="f3", speed=170)`` returns the raw samples;
``synth_wav(...)`` writes the same audio to a WAV file. Results are cached per argument set,
so many tests can ask for the same phrase cheaply.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import wave
from pathlib import Path

from assistant.audiofile import decode_wav_pcm16

SAMPLE_RATE = 16000
"""The sample rate of everything this module returns, in Hz."""


def synth(text: str, lang: str = "en", voice: str | None = None, speed: int = 160) -> bytes:
    """Return ``text`` spoken by espeak-ng as 16-bit mono PCM at 16000 Hz.

    ``lang`` is an espeak-ng voice such as 'en', 'en-us' or 'nl'; ``voice`` an optional
    variant such as 'f3', 'm3' or 'klatt' ('nl' + 'f3' gives 'nl+f3'); ``speed`` is in
    words per minute.
    """
    return _synth_cached(text, lang, voice, int(speed))


def synth_wav(
    text: str,
    path: str | Path,
    lang: str = "en",
    voice: str | None = None,
    speed: int = 160,
) -> Path:
    """Write ``text`` spoken by espeak-ng to ``path`` as a 16 kHz mono 16-bit WAV file."""
    path = Path(path)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(synth(text, lang, voice, speed))
    return path


def silence(seconds: float) -> bytes:
    """Return ``seconds`` of digital silence at 16 kHz."""
    return bytes(2 * round(seconds * SAMPLE_RATE))


@functools.lru_cache(maxsize=4096)
def _synth_cached(text: str, lang: str, voice: str | None, speed: int) -> bytes:
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    name = f"{lang}+{voice}" if voice else lang
    result = subprocess.run(
        [binary, "-v", name, "-s", str(speed), "--stdout", text],
        capture_output=True,
        check=True,
        timeout=60,
    )
    if not result.stdout:
        raise RuntimeError(f"espeak-ng produced no audio for voice {name!r}: {result.stderr!r}")
    return decode_wav_pcm16(result.stdout, SAMPLE_RATE, source=f"espeak-ng {name}")
