"""The loudspeaker side: the rig's sound card, or a fake stream at a sound card's pace."""

from __future__ import annotations

import logging
from pathlib import Path

from assistant.playback import AudioOutput
from assistant.rig.fakes import PacedStream
from assistant.tts import VoiceSpeaker, build_voice_speaker

_LOGGER = logging.getLogger(__name__)


def describe(rig: bool) -> str:
    """Where the benchmark's sound goes, for the results."""
    return ("PulseAudio rig (sounddevice, null sink)" if rig else
            "fake output stream at a sound card's pace (no PulseAudio rig)")


def make_output(rig: bool) -> AudioOutput:
    """The warm output of a session: the rig's default device, or a paced fake stream."""
    return AudioOutput(None) if rig else AudioOutput(stream_factory=PacedStream)


def voice_speaker(lang: str, cache_dir: Path, rig: bool) -> VoiceSpeaker:
    """The speaker a session builds, with its output on the rig or on a paced fake stream."""
    speaker = build_voice_speaker(lang, cache_dir=cache_dir,
                                  on_notice=lambda key: _LOGGER.info("notice %s", key),
                                  print_fn=lambda text: _LOGGER.info("printed %r", text))
    if not rig:
        speaker.output = make_output(rig)
    return speaker
