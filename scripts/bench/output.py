"""The loudspeaker side: the rig's sound card, or a fake callback stream at a sound card's pace.

:func:`rig_pace` measures the sound card itself, before anything else and without the product's
code: how long a fresh stream takes to play its first second of audio, and the next. The report
shows it beside the latency figures, so a slow rig is never mistaken for a slow product, nor a
fast rig for a fast one.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from pathlib import Path
from typing import Any

from assistant.audio import SAMPLE_WIDTH, SPEECH_RATE
from assistant.playback import OUTPUT_LATENCY, AudioOutput, Pull, quiet_alsa
from assistant.tts import VoiceSpeaker, build_voice_speaker

_LOGGER = logging.getLogger(__name__)


class PacedCallbackStream:
    """A fake callback stream that pulls audio at the pace a sound card plays it."""

    PERIOD = 0.01
    """Seconds of audio per callback."""
    DELAY = 0.03
    """Seconds from a callback until its first frame is 'heard' (a small device buffer)."""

    def __init__(self, device: object, sample_rate: int, channels: int, pull: Pull) -> None:
        """The signature of :func:`assistant.playback.sounddevice_stream`; ``device`` is unused."""
        self._frames = round(sample_rate * self.PERIOD)
        self._bytes = self._frames * channels * SAMPLE_WIDTH
        self._pull = pull
        self._running = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        """True while it runs."""
        return self._running.is_set()

    def start(self) -> None:
        """Begin pulling, one period at a time."""
        self._running.set()
        self._thread = threading.Thread(target=self._run, name="paced-output", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        due = time.monotonic()
        while self._running.is_set():
            self._pull(bytearray(self._bytes), self._frames, self.DELAY)
            due += self.PERIOD
            time.sleep(max(0.0, due - time.monotonic()))

    def close(self) -> None:
        """Stop pulling."""
        self._running.clear()
        if self._thread is not None:
            self._thread.join(2)


def describe(rig: bool) -> str:
    """Where the benchmark's sound goes, for the results."""
    return ("PulseAudio rig (sounddevice callback stream, null sink)" if rig else
            "fake callback stream at a sound card's pace (no PulseAudio rig)")


def make_output(rig: bool) -> AudioOutput:
    """The output of a session: the rig's default device, or a paced fake stream."""
    return AudioOutput(None) if rig else AudioOutput(stream_factory=PacedCallbackStream)


def voice_speaker(lang: str, cache_dir: Path, rig: bool) -> VoiceSpeaker:
    """The speaker a session builds, with its output on the rig or on a paced fake stream."""
    speaker = build_voice_speaker(lang, cache_dir=cache_dir,
                                  on_notice=lambda key: _LOGGER.info("notice %s", key),
                                  print_fn=lambda text: _LOGGER.info("printed %r", text))
    if not rig:
        speaker.output = make_output(rig)
    return speaker


class _PaceProbe:
    """Counts the frames a stream's callback takes, and the longest wait between two calls."""

    def __init__(self, rate: int, seconds: float) -> None:
        self.rate = rate
        self.wanted = round(rate * seconds)
        self.frames = 0
        self.first_callback = math.nan
        self.last_callback = math.nan
        self.longest_gap = 0.0
        self.marks: list[float] = []
        """When the 1st, 2nd, ... ``seconds`` of audio had been taken and would be heard."""
        self.done = threading.Event()

    def pull(self, out: Any, frames: int, delay: float) -> None:
        """The callback: silence, while counting frames."""
        now = time.monotonic()
        out[:frames * SAMPLE_WIDTH] = bytes(frames * SAMPLE_WIDTH)
        if self.frames == 0:
            self.first_callback = now
        else:
            self.longest_gap = max(self.longest_gap, now - self.last_callback)
        self.last_callback = now
        self.frames += frames
        if self.frames >= self.wanted * (len(self.marks) + 1):
            self.marks.append(now + delay)
            if len(self.marks) == 2:
                self.done.set()


def rig_pace(rig: bool, seconds: float = 1.0) -> dict[str, Any]:
    """The sound card's own pace, on a plain callback stream of its own (not the product's).

    Two stretches of ``seconds`` are played on a fresh stream (at the product's latency):
    ``cold_s`` is how long the first took from the start of the stream, ``warm_s`` the second;
    ``longest_gap_ms`` the longest the card left the callback waiting (a card that needs time
    to start stalls here). 1.0 s per second is a healthy card.
    """
    probe = _PaceProbe(SPEECH_RATE, seconds)
    if rig:
        quiet_alsa()
        import sounddevice

        def callback(outdata: Any, frames: int, time_info: Any, status: Any) -> None:
            probe.pull(outdata, frames, time_info.outputBufferDacTime - time_info.currentTime)

        stream: Any = sounddevice.RawOutputStream(samplerate=SPEECH_RATE, channels=1,
                                                  dtype="int16", latency=OUTPUT_LATENCY,
                                                  callback=callback)
    else:
        stream = PacedCallbackStream(None, SPEECH_RATE, 1, probe.pull)
    started = time.monotonic()
    stream.start()
    limit = seconds * 20 + 10
    finished = probe.done.wait(limit)
    stream.close()
    if not finished:
        return {"error": f"the card played less than {2 * seconds:g} s of audio in {limit:g} s"}
    cold, warm = probe.marks[0] - started, probe.marks[1] - probe.marks[0]
    return {
        "stream": describe(rig),
        "first_callback_ms": round((probe.first_callback - started) * 1000, 1),
        "longest_gap_ms": round(probe.longest_gap * 1000, 1),
        "cold_s": round(cold / seconds, 2),
        "warm_s": round(warm / seconds, 2),
    }
