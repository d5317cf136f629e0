"""Audio output: one warm sounddevice stream, owned by one worker thread.

Everything the assistant plays — speech and chimes — is 16-bit mono PCM at :data:`SAMPLE_RATE`.
:class:`AudioOutput` plays it on a device chosen by name or index and tells the microphone side
when the assistant is audible (:attr:`AudioOutput.busy`, :attr:`AudioOutput.ended_at`), so the
assistant's own voice never comes back as input.

Importing this module needs no sound card: sounddevice (and with it PortAudio) is imported the
first time a stream is opened.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from assistant.audio import SAMPLE_WIDTH, resample, spread_channels
from assistant.audio import SPEECH_RATE as SAMPLE_RATE
from assistant.devices import AudioUnavailable, load_sounddevice
from assistant.worker import OwnerThread, WorkerClosed

_LOGGER = logging.getLogger(__name__)

CHANNELS = 1
"""Speech and chimes are mono."""

_FALLBACK_FORMATS: tuple[tuple[int | None, int], ...] = (
    (None, 1),  # the requested rate, mono
    (48000, 1),
    (44100, 1),
    (48000, 2),
    (44100, 2),
)
"""Stream formats tried in order when a device refuses the one asked for (None: as requested)."""

class AudioOutputError(RuntimeError):
    """The audio output cannot play; the session goes on with printed text."""


class NoOutputDevice(AudioOutputError):
    """No usable output device was found (or the chosen one does not exist)."""


class OutputDeviceLost(AudioOutputError):
    """The output device failed while in use (unplugged, sound server gone)."""


class DeviceError(Exception):
    """Raised by an output stream (or its factory) when the device itself fails."""


class OutputStream(Protocol):
    """The part of a blocking sounddevice ``RawOutputStream`` this module uses."""

    def start(self) -> None:
        """Start the stream."""

    def write(self, data: bytes) -> None:
        """Write interleaved 16-bit frames; block while the device buffer is full."""

    def stop(self) -> None:
        """Stop the stream once everything written has been played."""

    def close(self) -> None:
        """Release the device."""


StreamFactory = Callable[[str | int | None, int, int], OutputStream]
"""Opens a stream: ``factory(device, sample_rate, channels)``; raises :class:`DeviceError`."""


class _SoundDeviceStream:
    """A sounddevice ``RawOutputStream`` whose PortAudio errors become :class:`DeviceError`."""

    def __init__(self, device: str | int | None, sample_rate: int, channels: int) -> None:
        try:
            sounddevice = load_sounddevice()
        except AudioUnavailable as exc:  # no PortAudio or sounddevice: like a missing device
            raise DeviceError(str(exc)) from exc
        self._sd = sounddevice
        try:
            # Low latency: play() returns (and the microphone opens again) soon after the last
            # sample is heard, instead of after a long device buffer drains.
            self._stream = sounddevice.RawOutputStream(
                device=device, samplerate=sample_rate, channels=channels, dtype="int16",
                latency="low")
        except (sounddevice.PortAudioError, ValueError) as exc:
            # ValueError: no device matches the name; PortAudioError: the device refused.
            raise DeviceError(str(exc)) from exc

    def _guarded(self, action: Callable[[], Any]) -> Any:
        """Run a stream call, turning a PortAudio failure into :class:`DeviceError`."""
        try:
            return action()
        except self._sd.PortAudioError as exc:  # the device went away or failed
            raise DeviceError(str(exc)) from exc

    def start(self) -> None:
        """Start the stream."""
        self._guarded(self._stream.start)

    def write(self, data: bytes) -> None:
        """Write frames, blocking while the buffer is full (an underflow is harmless)."""
        self._guarded(lambda: self._stream.write(data))

    def stop(self) -> None:
        """Stop once everything written has been played."""
        self._guarded(self._stream.stop)

    def close(self) -> None:
        """Close the stream."""
        self._guarded(self._stream.close)


def sounddevice_stream(device: str | int | None, sample_rate: int, channels: int) -> OutputStream:
    """Open a real 16-bit output stream with sounddevice (the default stream factory)."""
    return _SoundDeviceStream(device, sample_rate, channels)


def convert_pcm(pcm: bytes, from_rate: int, to_rate: int, channels: int) -> bytes:
    """Resample 16-bit mono ``pcm`` and spread it over ``channels`` channels."""
    data, _state = resample(pcm, from_rate, to_rate)
    return spread_channels(data, channels)


class AudioOutput:
    """Plays PCM on one output device through one stream, opened once and kept warm.

    An :class:`~assistant.worker.OwnerThread` owns the stream; :meth:`play` hands it the audio
    and blocks until the last sample has been played. ``busy`` is set while the assistant is
    audible and ``ended_at`` holds the monotonic time it last fell silent, so the microphone
    side can ignore the assistant's own voice plus a short tail
    (:class:`assistant.mic.SpeakingGate`).
    """

    def __init__(self, device: str | int | None = None, *,
                 stream_factory: StreamFactory | None = None, block_frames: int = 1024,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """Choose the device (name, part of a name, index, or None for the default).

        ``stream_factory`` opens streams (a fake in tests); ``clock`` gives monotonic seconds.
        """
        if isinstance(device, str) and device.strip().isdigit():
            device = int(device)
        self.device = device
        """The device as given: name, index, or None for the system default."""
        self.busy = threading.Event()
        """Set while the assistant is audible."""
        self.ended_at = -math.inf
        """Monotonic time the last playback ended."""
        self.last_play_started = math.nan
        """Monotonic time the first block of the latest :meth:`play` was handed to the device."""
        self._factory = stream_factory or sounddevice_stream
        self._block_frames = block_frames
        self._clock = clock
        self._worker = OwnerThread("samenspraak-audio-out", on_exit=self._close_stream)
        self._interrupt = threading.Event()  # set when closing: cut everything
        self._serial_lock = threading.Lock()
        self._serial = 0
        self._cut_up_to = 0
        self._closed = False
        # Owned by the worker thread only:
        self._stream: OutputStream | None = None
        self._stream_key: int | None = None  # the sample rate the stream was opened for
        self._stream_format: tuple[int, int] = (SAMPLE_RATE, CHANNELS)
        self._lost: str | None = None

    # --- public API (any thread) --------------------------------------------------------

    @property
    def lost(self) -> bool:
        """True once the device failed; every later :meth:`play` raises at once."""
        return self._lost is not None

    @property
    def stream_format(self) -> tuple[int, int]:
        """(sample rate, channels) the open stream actually runs at."""
        return self._stream_format

    def open(self, sample_rate: int = SAMPLE_RATE) -> None:
        """Open the stream now, not at the first :meth:`play`; raises :class:`NoOutputDevice`."""
        self._submit(lambda: self._ensure_stream(sample_rate))

    def play(self, pcm: bytes, sample_rate: int = SAMPLE_RATE) -> None:
        """Play 16-bit mono ``pcm``; block until the last sample has been played.

        Raises :class:`NoOutputDevice` when no stream can be opened and
        :class:`OutputDeviceLost` when the device fails (then and on every later call).
        """
        if not pcm:
            return
        with self._serial_lock:
            self._serial += 1
            serial = self._serial
        self._submit(lambda: self._play_on_worker(pcm, sample_rate, serial))

    def interrupt(self) -> None:
        """Cut what is playing or queued now short (e.g. on Ctrl-C); later plays are not cut."""
        with self._serial_lock:
            self._cut_up_to = self._serial

    def is_playing(self) -> bool:
        """Whether the assistant is audible right now (``busy`` is set)."""
        return self.busy.is_set()

    def reset(self) -> None:
        """Forget a lost device, so the next :meth:`play` tries to open a stream again."""
        self._submit(self._reset_on_worker)

    def close(self) -> None:
        """Close the stream and stop the worker; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        self._interrupt.set()
        if not self._worker.close(timeout=5.0):
            _LOGGER.warning("audio output worker did not stop within 5 s")

    # --- worker side ----------------------------------------------------------------------

    def _submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` on the worker thread and wait for it; re-raise what it raised."""
        if self._closed:
            raise AudioOutputError("the audio output is closed")
        try:
            self._worker.call(job)
        except WorkerClosed as exc:  # close() won the race against this call
            raise AudioOutputError("the audio output is closed") from exc

    def _ensure_stream(self, sample_rate: int) -> OutputStream:
        """Return the open stream for ``sample_rate``, opening one if needed."""
        if self._lost is not None:
            raise OutputDeviceLost(self._lost_message())
        if self._stream is not None and self._stream_key == sample_rate:
            return self._stream
        self._close_stream()
        reasons: list[str] = []
        for rate, channels in _FALLBACK_FORMATS:
            rate = rate or sample_rate
            try:
                stream = self._factory(self.device, rate, channels)
            except DeviceError as exc:
                reasons.append(f"{rate} Hz/{channels} ch: {exc}")
                continue
            if (rate, channels) != (sample_rate, 1):
                _LOGGER.info("output device plays %d Hz/%d ch; converting from %d Hz mono",
                             rate, channels, sample_rate)
            self._stream, self._stream_key = stream, sample_rate
            self._stream_format = (rate, channels)
            return stream
        which = "the default output device" if self.device is None else f"device {self.device!r}"
        raise NoOutputDevice(
            f"Cannot play sound on {which} ({reasons[0] if reasons else 'no reason given'}). "
            "Connect a loudspeaker or headphones, or pick another output device by name or "
            "number (`samenspraak check` lists them). Until then prompts are shown as text.")

    def _cut(self, serial: int) -> bool:
        """Whether play number ``serial`` was interrupted (or the output is closing)."""
        return serial <= self._cut_up_to or self._interrupt.is_set()

    def _play_on_worker(self, pcm: bytes, sample_rate: int, serial: int = 0) -> None:
        """Write ``pcm`` block by block, then stop the stream, which waits until it is heard."""
        self.busy.set()
        started = False
        try:
            stream = self._ensure_stream(sample_rate)
            rate, channels = self._stream_format
            data = convert_pcm(pcm, sample_rate, rate, channels)
            block = self._block_frames * SAMPLE_WIDTH * channels
            try:
                stream.start()
                started = True
                for offset in range(0, len(data), block):
                    if self._cut(serial):
                        break
                    stream.write(data[offset:offset + block])
                    if offset == 0:
                        self.last_play_started = self._clock()
                stream.stop()  # returns once every written frame has been played
            except DeviceError as exc:
                self._lost = str(exc)
                _LOGGER.warning("output device failed: %s", exc)
                self._close_stream()
                raise OutputDeviceLost(self._lost_message()) from exc
        finally:
            if started:
                self.ended_at = self._clock()
            if not self._worker.pending:  # another play follows at once: stay audible
                self.busy.clear()

    def _reset_on_worker(self) -> None:
        """Clear the lost state and drop the stream."""
        self._lost = None
        self._close_stream()

    def _close_stream(self) -> None:
        """Close the stream, ignoring a device that is already gone."""
        stream, self._stream, self._stream_key = self._stream, None, None
        if stream is None:
            return
        try:
            stream.close()
        except DeviceError as exc:  # closing a vanished device may fail; nothing left to free
            _LOGGER.debug("closing the output stream failed: %s", exc)

    def _lost_message(self) -> str:
        """A message that says what happened and what to do."""
        return (f"The audio output stopped working ({self._lost}). Check the loudspeaker or "
                "headphones; prompts are shown as text for the rest of the session.")
