"""Synthesized speech for tests and the benchmark: espeak-ng rendered to 16-bit mono PCM.

``synth("klaar", lang="nl", voice="f3", speed=170)`` returns the samples at 16 kHz;
``espeak_pcm("klaar", voice="nl+f3")`` the same with the full espeak-ng voice name and any
rate; ``synth_wav(...)`` writes the audio to a WAV file. Results are cached per argument set, so
many tests can ask for the same phrase cheaply.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
from pathlib import Path

from assistant.audio import LISTEN_RATE as SAMPLE_RATE
from assistant.audio import write_wav
from assistant.audiofile import decode_wav_pcm16
from assistant.rig.signals import silence

_LOGGER = logging.getLogger(__name__)

__all__ = ["SAMPLE_RATE", "espeak_pcm", "silence", "synth", "synth_wav"]


def synth(text: str, lang: str = "en", voice: str | None = None, speed: int = 160) -> bytes:
    """Return ``text`` spoken by espeak-ng as 16-bit mono PCM at 16000 Hz.

    ``lang`` is an espeak-ng voice such as 'en', 'en-us' or 'nl'; ``voice`` an optional
    variant such as 'f3', 'm3' or 'klatt' ('nl' + 'f3' gives 'nl+f3'); ``speed`` is in
    words per minute.
    """
    return espeak_pcm(text, f"{lang}+{voice}" if voice else lang, SAMPLE_RATE, speed)


def espeak_pcm(text: str, voice: str = "en", rate: int = SAMPLE_RATE,
               words_per_minute: int = 160) -> bytes:
    """``text`` spoken by the espeak-ng ``voice`` (e.g. 'en', 'nl+f3'), as 16-bit mono PCM."""
    return _espeak_cached(text, voice, int(rate), int(words_per_minute))


def synth_wav(
    text: str,
    path: str | Path,
    lang: str = "en",
    voice: str | None = None,
    speed: int = 160,
) -> Path:
    """Write ``text`` spoken by espeak-ng to ``path`` as a 16 kHz mono 16-bit WAV file."""
    return write_wav(path, synth(text, lang, voice, speed), SAMPLE_RATE)


@functools.lru_cache(maxsize=4096)
def _espeak_cached(text: str, voice: str, rate: int, words_per_minute: int) -> bytes:
    """Run espeak-ng once per distinct request; its WAV is decoded and resampled to ``rate``."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng; "
                           "scripts/setup does)")
    result = subprocess.run(
        [binary, "-v", voice, "-s", str(words_per_minute), "--stdout", text],
        capture_output=True,
        check=True,
        timeout=60,
    )
    if not result.stdout:
        raise RuntimeError(f"espeak-ng produced no audio for voice {voice!r}: {result.stderr!r}")
    return decode_wav_pcm16(result.stdout, rate, source=f"espeak-ng {voice}")
