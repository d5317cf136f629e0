"""Voice activity: turns 16 kHz mono PCM into speech start, the utterance's audio, and speech end.

A small state machine (quiet → speaking → stopping → quiet) sits on top of a per-frame decision,
speech or not. The decision is webrtcvad plus an energy floor by default; tests hand in any
callable instead. Audio streams out while the person speaks, so a recognizer can decode at once:

    vad = VoiceActivity(VadSettings(end_silence=END_SILENCE["yesno"]))
    for event in vad.process(chunk.pcm):
        ...  # SpeechStarted, then UtteranceAudio chunks, then SpeechEnded(seconds)
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from assistant.audio import SAMPLE_WIDTH, rms_function
from assistant.engine.messages import SpeechEnded, SpeechStarted

_LOGGER = logging.getLogger(__name__)

END_SILENCE: dict[str, float] = {"yesno": 0.4, "commands": 0.5, "free": 0.9}
"""Seconds of silence that end an utterance, by what the moment expects."""
EARLY_END_SILENCE = 0.34
"""Seconds of silence that end a short answer once the recognizer already hears a whole one
(see :meth:`VoiceActivity.end_now`; :class:`assistant.listen.Listener` decides). Longer than
the comma in "ja, maar ik ..." even at 120 words a minute (0.26-0.32 s as voice activity sees
it; at 0.28 s the benchmark cut off 11 of 36 slow English replies), so such a reply goes on."""


@dataclass(frozen=True)
class UtteranceAudio:
    """Audio of the utterance in progress, from just before its start until its end."""

    pcm: bytes
    """16-bit little-endian mono PCM at the detector's sample rate."""


VadEvent = SpeechStarted | UtteranceAudio | SpeechEnded
"""What :meth:`VoiceActivity.process` reports, in order."""


class VadState(Enum):
    """Where the detector is within an utterance."""

    QUIET = "quiet"
    SPEAKING = "speaking"
    STOPPING = "stopping"


@dataclass(frozen=True)
class VadSettings:
    """How voice activity is decided and how utterances are cut."""

    sample_rate: int = 16000
    """Hz; webrtcvad accepts 8000, 16000, 32000 and 48000."""
    frame_seconds: float = 0.02
    """Length of one decision frame; webrtcvad accepts 0.01, 0.02 and 0.03."""
    aggressiveness: int = 2
    """webrtcvad mode, 0 (lets most through) to 3 (strictest about what is speech)."""
    energy_floor: float = 150.0
    """Frames quieter than this RMS (of 32767) never count as speech."""
    start_window: float = 0.1
    """Speech starts when enough of this many recent seconds are speech..."""
    start_speech: float = 0.06
    """...namely this many seconds of them."""
    end_silence: float = 0.8
    """Seconds of silence that end an utterance (see END_SILENCE); changeable at run time."""
    pre_roll: float = 0.25
    """Seconds of audio before the first speech frame that go with the utterance."""

    def __post_init__(self) -> None:
        if self.sample_rate not in (8000, 16000, 32000, 48000):
            raise ValueError(f"sample_rate {self.sample_rate} is not one of 8000/16000/32000/48000")
        if round(self.frame_seconds * 1000) not in (10, 20, 30):
            raise ValueError(f"frame_seconds {self.frame_seconds} is not 0.01, 0.02 or 0.03")
        if self.aggressiveness not in (0, 1, 2, 3):
            raise ValueError(f"aggressiveness {self.aggressiveness} is not 0, 1, 2 or 3")
        if not 0 < self.start_speech <= self.start_window:
            raise ValueError("start_speech must be positive and at most start_window")
        if self.end_silence <= 0 or self.pre_roll < 0 or self.energy_floor < 0:
            raise ValueError("end_silence must be positive; pre_roll and energy_floor not negative")

    @property
    def frame_samples(self) -> int:
        """Samples per decision frame."""
        return round(self.sample_rate * self.frame_seconds)


SpeechDecision = Callable[[bytes], bool]
"""Says whether one frame of PCM is speech."""


class WebRtcDecision:
    """webrtcvad's verdict on a frame, but only for frames above an energy floor."""

    def __init__(self, sample_rate: int, aggressiveness: int, energy_floor: float) -> None:
        try:
            import webrtcvad
        except ImportError as exc:
            raise ModuleNotFoundError(
                "webrtcvad is not installed: pip install webrtcvad-wheels (scripts/setup does)"
            ) from exc
        self._vad = webrtcvad.Vad(aggressiveness)
        self._rate = sample_rate
        self._floor = energy_floor
        self._rms = rms_function()

    def __call__(self, frame: bytes) -> bool:
        """True when the frame is loud enough and webrtcvad calls it speech."""
        if self._rms(frame, SAMPLE_WIDTH) < self._floor:
            return False
        return self._vad.is_speech(frame, self._rate)


class VoiceActivity:
    """Cuts a stream of PCM into utterances: quiet → speaking → stopping (hangover) → quiet."""

    def __init__(self, settings: VadSettings | None = None,
                 is_speech: SpeechDecision | None = None) -> None:
        """Use ``is_speech`` to decide per frame, or webrtcvad with the settings' energy floor."""
        self._settings = settings or VadSettings()
        s = self._settings
        self._is_speech = is_speech or WebRtcDecision(s.sample_rate, s.aggressiveness,
                                                      s.energy_floor)
        self._frame_bytes = s.frame_samples * SAMPLE_WIDTH
        self._start_window = max(1, round(s.start_window / s.frame_seconds))
        self._start_speech = max(1, round(s.start_speech / s.frame_seconds))
        self._pre_roll = round(s.pre_roll / s.frame_seconds)
        self._end_silence = s.end_silence
        self._partial = bytearray()
        self._recent: deque[tuple[bytes, bool]] = deque(maxlen=self._pre_roll + self._start_window)
        self._state = VadState.QUIET
        self._frames = 0
        self._since_start = 0
        self._silent_run = 0
        self._last_speech_end = 0.0

    @property
    def settings(self) -> VadSettings:
        """The settings this detector was made with (end_silence may have changed since)."""
        return self._settings

    @property
    def state(self) -> VadState:
        """Quiet, speaking, or in the silence after speech that may still end it."""
        return self._state

    @property
    def end_silence(self) -> float:
        """Seconds of silence that end the utterance; set it per moment (see END_SILENCE)."""
        return self._end_silence

    @end_silence.setter
    def end_silence(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError(f"end_silence must be positive, not {seconds}")
        self._end_silence = seconds

    @property
    def position(self) -> float:
        """Seconds of audio decided so far."""
        return self._frames * self._settings.frame_seconds

    @property
    def silence(self) -> float:
        """Seconds of silence since the last speech frame of the utterance in progress (else 0)."""
        if self._state is not VadState.STOPPING:
            return 0.0
        return self._silent_run * self._settings.frame_seconds

    def end_now(self) -> list[VadEvent]:
        """End the utterance in progress now, as its silence would later; [] when quiet.

        Unlike :meth:`flush` the stream goes on: audio already fed but not yet decided stays.
        """
        if self._state is VadState.QUIET:
            return []
        return [self._end()]

    @property
    def last_speech_end(self) -> float:
        """Position where the most recent speech frame ended (0.0 before any speech)."""
        return self._last_speech_end

    def process(self, pcm: bytes) -> list[VadEvent]:
        """Feed PCM of any length; return what happened, with the utterance's audio in between."""
        self._partial += pcm
        events: list[VadEvent] = []
        size = self._frame_bytes
        usable = len(self._partial) - len(self._partial) % size
        for offset in range(0, usable, size):
            self._frame(bytes(self._partial[offset:offset + size]), events)
        del self._partial[:usable]
        return _merge_audio(events)

    def flush(self) -> list[VadEvent]:
        """End the stream (or a gap in it): close an utterance in progress and start afresh."""
        events: list[VadEvent] = []
        if self._state is not VadState.QUIET:
            events.append(self._end())
        self._partial.clear()
        self._recent.clear()
        return events

    def _frame(self, frame: bytes, events: list[VadEvent]) -> None:
        """Decide one frame and move the state machine."""
        speech = self._is_speech(frame)
        self._frames += 1
        if speech:
            self._last_speech_end = self.position
        if self._state is VadState.QUIET:
            self._recent.append((frame, speech))
            window = list(self._recent)[-self._start_window:]
            if sum(voiced for _, voiced in window) < self._start_speech:
                return
            first = len(self._recent) - len(window) + next(
                i for i, (_, voiced) in enumerate(window) if voiced)
            frames = list(self._recent)[max(0, first - self._pre_roll):]
            self._since_start = len(self._recent) - first
            self._silent_run = 0
            self._recent.clear()
            self._state = VadState.SPEAKING
            events.append(SpeechStarted())
            events.append(UtteranceAudio(b"".join(f for f, _ in frames)))
            return
        events.append(UtteranceAudio(frame))
        self._since_start += 1
        if speech:
            self._silent_run = 0
            self._state = VadState.SPEAKING
            return
        self._silent_run += 1
        self._state = VadState.STOPPING
        if self._silent_run * self._settings.frame_seconds >= self._end_silence - 1e-9:
            events.append(self._end())

    def _end(self) -> SpeechEnded:
        """Close the utterance; its length runs from the first to the last speech frame."""
        seconds = (self._since_start - self._silent_run) * self._settings.frame_seconds
        self._state = VadState.QUIET
        self._since_start = 0
        self._silent_run = 0
        _LOGGER.debug("speech ended after %.2f s", seconds)
        return SpeechEnded(seconds=round(seconds, 3))


def _merge_audio(events: list[VadEvent]) -> list[VadEvent]:
    """Join neighbouring audio events so a caller gets one per stretch."""
    out: list[VadEvent] = []
    pending: list[bytes] = []
    for event in events:
        if isinstance(event, UtteranceAudio):
            pending.append(event.pcm)
            continue
        if pending:
            out.append(UtteranceAudio(b"".join(pending)))
            pending = []
        out.append(event)
    if pending:
        out.append(UtteranceAudio(b"".join(pending)))
    return out
