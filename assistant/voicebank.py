"""A coach's own voice: recorded prompts that replace the synthesized ones.

``samenspraak record EXERCISE`` walks through the sentences of an exercise; each recording is
trimmed to the speech, brought to the loudness of the synthesized prompts and kept as an
owner-only WAV file in the user's data folder (``<home>/voice/<lang>/<sha256 of the text>.wav``).
At run time :class:`assistant.tts.VoiceSpeaker` plays a recorded sentence wherever one exists.
Sentences with a name or a number in them change from couple to couple and stay synthesized,
unless the coach records them for given names (``--names``).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from pathlib import Path

from assistant.audio import LISTEN_RATE, trim_to_speech, write_wav_private
from assistant.engine.exercises import Exercise
from assistant.history import private_dir

_LOGGER = logging.getLogger(__name__)

SPEECH_RMS = 400.0
"""A 20 ms chunk louder than this counts as speech when trimming."""
MARGIN = (0.15, 0.25)
"""Seconds kept before the first and after the last speech."""
MIN_SPEECH_SECONDS = 0.2
"""Less speech than this is no recording."""


def prompts_of(exercise: Exercise, names: tuple[str, str] | None = None) -> list[str]:
    """The sentences of ``exercise`` a coach can record, in order, without repeats.

    With ``names``, sentences about the partners are filled in for them (both ways round);
    without, those are left out. Sentences with numbers are always left out.
    """
    raw: list[str] = []
    for step in exercise.steps:
        raw += [*step.text, *(step.confirm or ()), *(step.clarify or ()), *step.yes.say,
                *step.no.say, *(step.both.say if step.both else ())]
    raw += list(exercise.closing)
    out: list[str] = []
    for line in raw:
        if "{" in line:
            if names is None:
                continue
            for first, second in (names, names[::-1]):
                out.append(line.format(speaker=first, listener=second, name=first))
        else:
            out.append(line)
    return [line for line in dict.fromkeys(out) if not re.search(r"\d", line)]


class VoiceBank:
    """The recorded prompts of one language."""

    def __init__(self, home: Path, lang: str) -> None:
        self.folder = home / "voice" / lang
        """Where the recordings of this language live."""

    @staticmethod
    def key(text: str) -> str:
        """The file name of a sentence's recording."""
        return hashlib.sha256(text.strip().encode("utf-8")).hexdigest() + ".wav"

    def path(self, text: str) -> Path:
        """Where the recording of ``text`` is (or would be)."""
        return self.folder / self.key(text)

    def has(self, text: str) -> bool:
        """Whether ``text`` has been recorded."""
        return self.path(text).is_file()

    def recorded(self, texts: Iterable[str]) -> tuple[list[str], list[str]]:
        """``texts`` split into (recorded, missing)."""
        done, missing = [], []
        for text in texts:
            (done if self.has(text) else missing).append(text)
        return done, missing

    def save(self, text: str, pcm: bytes, rate: int = LISTEN_RATE) -> Path | None:
        """Keep a recording of ``text``, trimmed to the speech; None when it holds no speech."""
        trimmed = trim(pcm, rate)
        if trimmed is None:
            return None
        private_dir(self.folder)
        return write_wav_private(self.path(text), trimmed, rate)

    def remove(self, text: str) -> None:
        """Forget the recording of ``text`` (synthesized again from now on)."""
        self.path(text).unlink(missing_ok=True)


def trim(pcm: bytes, rate: int = LISTEN_RATE) -> bytes | None:
    """``pcm`` from just before its first speech to just after its last; None without speech."""
    return trim_to_speech(pcm, rate, MARGIN, MIN_SPEECH_SECONDS, SPEECH_RMS)
