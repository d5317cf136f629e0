"""The couple's own voice, kept for their agreement: what the microphone heard while they stated
it, trimmed to the speech, as an owner-only WAV file in the history's folder.

It records only while the session listens for free speech (an agreement being stated) and only
what the speaking gate admitted (never the assistant's own voice). Whether a recording is kept
is the couple's choice: the driver deletes them when the answer to "Mag ik jullie afspraak
bewaren?" is no.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from pathlib import Path

from assistant.audio import LISTEN_RATE, duration, trim_to_speech, write_wav_private

_LOGGER = logging.getLogger(__name__)

SPEECH_RMS = 400.0
"""A 20 ms chunk louder than this counts as speech (of 32767)."""
MIN_SPEECH_SECONDS = 0.4
"""Less speech than this is no recording."""
MAX_SECONDS = 90.0
"""The longest recording kept (an agreement is a sentence or two)."""
MARGIN = (0.2, 0.3)
"""Seconds kept before the first and after the last speech."""


class AgreementRecorder:
    """Records one file per agreement moment that had speech; :attr:`files` lists them."""

    def __init__(self, folder: Path, rate: int = LISTEN_RATE) -> None:
        self.folder = folder
        """Where the recordings go (owner-only)."""
        self.files: list[str] = []
        """File names (in :attr:`folder`) of the recordings made, in order."""
        self._rate = rate
        self._lock = threading.Lock()
        self._chunks: list[bytes] | None = None

    def listening(self, free_speech: bool) -> None:
        """The session's moment changed: start recording, or finish the recording."""
        with self._lock:
            chunks, recording = self._chunks, self._chunks is not None
            if free_speech and not recording:
                self._chunks = []
            elif not free_speech and recording:
                self._chunks = None
        if not free_speech and recording and chunks:
            self._keep(chunks)

    def feed(self, pcm: bytes, at: float) -> None:
        """What the microphone admitted (any thread); kept while recording."""
        with self._lock:
            if self._chunks is not None and len(self._chunks) * 0.02 < MAX_SECONDS:
                self._chunks.append(pcm)

    def discard_all(self) -> None:
        """Delete every recording made (the couple does not want them kept)."""
        for name in self.files:
            with contextlib.suppress(FileNotFoundError):  # gone already is what we want
                (self.folder / name).unlink()
        self.files.clear()

    def _keep(self, chunks: list[bytes]) -> None:
        pcm = trim_to_speech(b"".join(chunks), self._rate, MARGIN, MIN_SPEECH_SECONDS,
                             SPEECH_RMS)
        if pcm is None:
            return
        name = f"agreement-{uuid.uuid4().hex}.wav"
        try:
            write_wav_private(self.folder / name, pcm, self._rate)
        except OSError as err:  # a full disk costs the recording, never the session
            _LOGGER.warning("cannot keep the recording of the agreement: %s", err)
            return
        self.files.append(name)
        _LOGGER.info("recorded the agreement: %s (%.1f s)", name, duration(pcm, self._rate))
