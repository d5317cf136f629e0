"""Audio output: one callback stream that runs for the whole session and plays silence in between.

Everything the assistant plays — speech and chimes — is 16-bit mono PCM at :data:`SAMPLE_RATE`.
:class:`AudioOutput` opens one stream on a device chosen by name or index the first time it is
needed and keeps it running until :meth:`AudioOutput.close`: its callback (on PortAudio's thread)
copies the next prompt's frames from a queue, or silence when there is none, and notes when the
prompt's last frame will reach the loudspeaker (``outputBufferDacTime``). A prompt therefore
starts with the next callback, never behind a device that wakes up again, and
:meth:`AudioOutput.play` knows it has been heard from the stream's own timing. While a prompt is
queued or audible :meth:`AudioOutput.is_playing` is true, so the assistant's own voice never
comes back as input (:class:`assistant.mic.SpeakingGate`).

ALSA writes its own messages (``ALSA lib pcm.c:…(snd_pcm_recover) underrun occurred``) from C
straight to the terminal; :func:`quiet_alsa` gives ALSA an error handler that counts them
instead (:func:`alsa_messages`).

Importing this module needs no sound card: sounddevice (and with it PortAudio) is imported the
first time a stream is opened.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from assistant.audio import SAMPLE_WIDTH, resample, spread_channels
from assistant.audio import SPEECH_RATE as SAMPLE_RATE
from assistant.devices import AudioUnavailable, load_sounddevice
from assistant.worker import JobTimeout, OwnerThread, WorkerClosed

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

STALL_SECONDS = 5.0
"""A running stream whose callback has not run this long while a prompt waits counts as lost."""
_CLOSED = "the audio output is closed"
ANSWER_SECONDS = 15.0
"""A device call (opening, closing a stream) that has not returned by then: no device."""
OUTPUT_LATENCY = 0.1
"""Seconds of audio the device buffer holds, asked of PortAudio: what a prompt waits before it
is heard, and how long the callback may wait for Python. 'low' (about 9 ms through ALSA's pulse
device) runs dry several times a second; 50 ms runs dry whenever a recognizer holds Python's
lock for longer (pocketsphinx does, 50-90 ms at the end of an utterance), and PulseAudio's ALSA
device then falls silent for about two seconds. 100 ms rides that out."""
_POLL = 0.05
"""Longest single wait of :meth:`AudioOutput.play` before it looks at the stream again."""


class AudioOutputError(RuntimeError):
    """The audio output cannot play; the session goes on with printed text."""


class NoOutputDevice(AudioOutputError):
    """No usable output device was found (or the chosen one does not exist)."""


class OutputDeviceLost(AudioOutputError):
    """The output device failed while in use (unplugged, sound server gone)."""


class DeviceError(Exception):
    """Raised by an output stream (or its factory) when the device itself fails."""


Pull = Callable[[Any, int, float], None]
"""The stream's callback: ``pull(out, frames, delay)`` fills the writable buffer ``out`` with
``frames`` interleaved 16-bit frames; ``delay`` is how many seconds from now the first of them
will be heard (``outputBufferDacTime - currentTime``)."""


class OutputStream(Protocol):
    """A running callback stream: the part of a sounddevice ``RawOutputStream`` used here."""

    @property
    def active(self) -> bool:
        """False once the stream stopped by itself (the device failed)."""

    def start(self) -> None:
        """Start calling the callback."""

    def close(self) -> None:
        """Stop at once and release the device."""


StreamFactory = Callable[[str | int | None, int, int, Pull], OutputStream]
"""Opens a stream: ``factory(device, sample_rate, channels, pull)``; raises :class:`DeviceError`."""


# --- ALSA's own messages ----------------------------------------------------------------------

_ALSA_HANDLER: Any = None  # the C callback; kept for the life of the process (ALSA holds it)
_alsa_count = 0


def _count_alsa_message(file: bytes | None, line: int, function: bytes | None, err: int,
                        fmt: bytes | None) -> None:
    """ALSA's error handler: count the message (ALSA calls it from any thread, audio included)."""
    global _alsa_count
    _alsa_count += 1


def quiet_alsa() -> bool:
    """Keep ALSA's messages off the terminal from now on; True when ALSA's handler is set.

    ALSA prints them (underruns, probing of absent cards) with ``fprintf(stderr)`` from C, on
    PortAudio's audio thread, at any time of the session. An error handler set with
    ``snd_lib_error_set_handler`` catches each of them wherever and whenever it comes, and
    nothing else; redirecting file descriptor 2 would only help while it lasts (a stream's
    creation, not its underruns later) and would hide Python's own errors with them.
    Without libasound (no ALSA, another platform) there is nothing to quieten: False.
    """
    global _ALSA_HANDLER
    if _ALSA_HANDLER is not None:
        return True
    name = ctypes.util.find_library("asound")
    if name is None:
        return False
    try:
        library = ctypes.CDLL(name)  # the same library PortAudio loads: one handler for both
        setter = library.snd_lib_error_set_handler
    except (OSError, AttributeError) as exc:  # a broken or foreign libasound: leave it be
        _LOGGER.debug("cannot set ALSA's error handler: %s", exc)
        return False
    # void handler(const char *file, int line, const char *function, int err, const char *fmt,
    # ...): the variable arguments are not read, which the C calling convention allows.
    handler_type = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                                    ctypes.c_int, ctypes.c_char_p)
    handler = handler_type(_count_alsa_message)
    setter.argtypes = [handler_type]
    setter.restype = ctypes.c_int
    setter(handler)
    _ALSA_HANDLER = handler
    return True


def alsa_messages() -> int:
    """How many messages ALSA sent since :func:`quiet_alsa` (none were shown)."""
    return _alsa_count


# --- the real stream --------------------------------------------------------------------------


class _SoundDeviceStream:
    """A sounddevice callback stream whose PortAudio errors become :class:`DeviceError`."""

    def __init__(self, device: str | int | None, sample_rate: int, channels: int,
                 pull: Pull) -> None:
        quiet_alsa()  # before PortAudio starts, so its probing stays quiet too
        try:
            sounddevice = load_sounddevice()
        except AudioUnavailable as exc:  # no PortAudio or sounddevice: like a missing device
            raise DeviceError(str(exc)) from exc
        self._sd = sounddevice
        self._pull = pull
        self._finished = False
        try:
            self._stream = sounddevice.RawOutputStream(
                device=device, samplerate=sample_rate, channels=channels, dtype="int16",
                latency=OUTPUT_LATENCY, callback=self._callback,
                finished_callback=self._on_finished)
        except (sounddevice.PortAudioError, ValueError) as exc:
            # ValueError: no device matches the name; PortAudioError: the device refused.
            raise DeviceError(str(exc)) from exc
        self._latency = float(self._stream.latency)

    def _callback(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        """On PortAudio's thread: hand the buffer on with the time until it is heard."""
        delay = time_info.outputBufferDacTime - time_info.currentTime
        if not 0.0 <= delay < 10.0:  # some host APIs leave the times at 0: use the latency
            delay = self._latency
        self._pull(outdata, frames, delay)

    def _on_finished(self) -> None:
        """On PortAudio's thread: the stream ended (closed, or the device failed)."""
        self._finished = True

    @property
    def active(self) -> bool:
        """False once the stream ended by itself."""
        return not self._finished and bool(self._stream.active)

    def start(self) -> None:
        """Start the stream."""
        try:
            self._stream.start()
        except self._sd.PortAudioError as exc:  # the device refused to start
            raise DeviceError(str(exc)) from exc

    def close(self) -> None:
        """Close at once (what the device still holds is dropped)."""
        try:
            self._stream.close(ignore_errors=True)
        except self._sd.PortAudioError as exc:  # the device is already gone
            raise DeviceError(str(exc)) from exc


def sounddevice_stream(device: str | int | None, sample_rate: int, channels: int,
                       pull: Pull) -> OutputStream:
    """Open a real 16-bit callback stream with sounddevice (the default stream factory)."""
    return _SoundDeviceStream(device, sample_rate, channels, pull)


def convert_pcm(pcm: bytes, from_rate: int, to_rate: int, channels: int) -> bytes:
    """Resample 16-bit mono ``pcm`` and spread it over ``channels`` channels."""
    data, _state = resample(pcm, from_rate, to_rate)
    return spread_channels(data, channels)


class _Prompt:
    """One :meth:`AudioOutput.play` on its way through the callback."""

    def __init__(self, data: bytes, serial: int) -> None:
        self.data = memoryview(data)
        self.serial = serial
        self.offset = 0
        self.heard_at = math.nan
        """Monotonic time its last frame reaches the loudspeaker (set by the callback)."""
        self.wake = threading.Event()
        """Set once the callback took the last frame, or when the prompt is cut."""
        self.cut = threading.Event()
        """Set when the prompt is cut (interrupt, close, lost device)."""

    def stop(self) -> None:
        """Cut it: its waiter returns at once and the callback drops what is left."""
        self.cut.set()
        self.wake.set()


class AudioOutput:
    """Plays PCM through one callback stream that runs from the first prompt to :meth:`close`.

    An :class:`~assistant.worker.OwnerThread` opens and closes the stream; :meth:`play` queues
    the audio for the callback and blocks until the stream's timing says its last sample has
    been heard. ``busy`` is set while a prompt is queued or audible and ``ended_at`` holds the
    monotonic time the assistant last fell silent.
    """

    def __init__(self, device: str | int | None = None, *,
                 stream_factory: StreamFactory | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 stall_seconds: float = STALL_SECONDS,
                 answer_seconds: float = ANSWER_SECONDS) -> None:
        """Choose the device (name, part of a name, index, or None for the system default).

        ``stream_factory`` opens streams (a fake in tests); ``clock`` gives monotonic seconds
        (the callback reads it too); a stream whose callback stops for ``stall_seconds`` while
        a prompt waits counts as lost; a device call that hangs ``answer_seconds``: no device.
        """
        if isinstance(device, str) and device.strip().isdigit():
            device = int(device)
        self.device = device
        """The device as given: name, index, or None for the system default."""
        self.busy = threading.Event()
        """Set while a prompt is queued or audible."""
        self.ended_at = -math.inf
        """Monotonic time the last prompt was heard to its end (or cut)."""
        self.last_play_started = math.nan
        """Monotonic time the first sample of the latest prompt reaches the loudspeaker."""
        if stream_factory is None:
            quiet_alsa()  # before anything (the microphone too) starts PortAudio
        self._factory = stream_factory or sounddevice_stream
        self._clock = clock
        self._stall = stall_seconds
        self._answer = answer_seconds
        self._hung: str | None = None  # why a device call timed out (the worker is stuck)
        self._worker = OwnerThread("samenspraak-audio-out", on_exit=self._close_stream)
        self._lock = threading.Lock()  # serials, the waiting prompts, busy
        self._serial = 0
        self._cut_up_to = 0  # interrupt() cuts every prompt up to this serial, also one whose
        # caller already left play() (an exception while it waited) and so is not in _waiting
        self._waiting: list[_Prompt] = []
        self._closed = False
        # Shared with the callback: appended here, taken there (deque ends are thread-safe).
        self._queue: deque[_Prompt] = deque()
        self._last_callback = -math.inf
        # Owned by the worker thread only:
        self._stream: OutputStream | None = None
        self._stream_format: tuple[int, int] = (SAMPLE_RATE, CHANNELS)
        self._lost: str | None = None
        # Owned by the callback only:
        self._current: _Prompt | None = None
        self._silence = bytes(4096)

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
        """Start the stream now, not at the first :meth:`play`; raises :class:`NoOutputDevice`."""
        self._submit(lambda: self._ensure_stream(sample_rate))

    def open_soon(self, sample_rate: int = SAMPLE_RATE) -> None:
        """Start the stream in the background: a device may take seconds to run after it starts
        (the PulseAudio rig about two). A failure shows at the first :meth:`play`."""
        if self._closed:
            return
        try:
            self._worker.submit(lambda: self._open_quietly(sample_rate))
        except WorkerClosed:  # close() came first: nothing to open any more
            pass

    def play(self, pcm: bytes, sample_rate: int = SAMPLE_RATE) -> None:
        """Play 16-bit mono ``pcm``; block until its last sample has been heard (or it is cut).

        Raises :class:`NoOutputDevice` when no stream can be opened and
        :class:`OutputDeviceLost` when the device fails (then and on every later call).
        """
        if not pcm:
            return
        self._submit(lambda: self._ensure_stream(sample_rate))
        rate, channels = self._stream_format
        prompt = self._enqueue(convert_pcm(pcm, sample_rate, rate, channels))
        try:
            self._await(prompt)
        finally:
            self._done(prompt)

    def interrupt(self) -> None:
        """Cut what is playing or queued now short (e.g. on Ctrl-C); later plays are not cut."""
        with self._lock:
            self._cut_up_to = self._serial
            waiting = list(self._waiting)
        for prompt in waiting:
            prompt.stop()

    def is_playing(self) -> bool:
        """Whether the assistant is audible right now (``busy`` is set)."""
        return self.busy.is_set()

    def reset(self) -> None:
        """Forget a lost device, so the next :meth:`play` tries to open a stream again."""
        self._submit(self._reset_on_worker)

    def close(self) -> None:
        """Cut what plays, close the stream and stop the worker; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        self.interrupt()
        if not self._worker.close(timeout=5.0):
            _LOGGER.warning("audio output worker did not stop within 5 s")
        if _alsa_count:
            _LOGGER.debug("ALSA sent %d messages (not shown)", _alsa_count)

    # --- the caller's side ------------------------------------------------------------------

    def _enqueue(self, data: bytes) -> _Prompt:
        """Hand ``data`` to the callback as the next prompt."""
        with self._lock:
            self._serial += 1
            prompt = _Prompt(data, self._serial)
            self._waiting.append(prompt)
            self.busy.set()
        self._queue.append(prompt)
        return prompt

    def _await(self, prompt: _Prompt) -> None:
        """Wait until the callback took the last frame, then until it is heard; or a cut."""
        waited_from = self._clock()
        while not prompt.wake.wait(_POLL):
            if self._closed:
                return
            problem = self._stream_problem(waited_from)
            if problem is not None:
                self._submit(lambda problem=problem: self._lose(problem))
                raise OutputDeviceLost(self._lost_message())
        if prompt.cut.is_set():
            if self._lost is not None and not self._closed:  # cut because the device failed
                raise OutputDeviceLost(self._lost_message())
            return
        left = prompt.heard_at - self._clock()
        if left > 0:
            prompt.cut.wait(left)  # the device still holds the end: wait until it is heard

    def _stream_problem(self, waited_from: float) -> str | None:
        """Why the stream cannot be playing the prompt any more, or None while it is fine."""
        if self._lost is not None:
            return self._lost
        stream = self._stream
        if stream is None:
            return "the output stream was closed"
        if not stream.active:
            return "the output stream stopped"
        quiet = self._clock() - max(self._last_callback, waited_from)
        if quiet > self._stall:
            return f"the output device took no audio for {quiet:.1f} s"
        return None

    def _done(self, prompt: _Prompt) -> None:
        """The prompt is over for its caller (heard, cut, or failed)."""
        with self._lock:
            self._waiting.remove(prompt)
            if not prompt.cut.is_set() or prompt.offset:
                self.ended_at = self._clock()
            if not self._waiting:  # another play follows at once: stay audible
                self.busy.clear()

    # --- the callback (PortAudio's thread): copy frames, nothing more ------------------------

    def _pull(self, out: Any, frames: int, delay: float) -> None:
        """Fill ``out`` with the queued prompts' frames, silence after them."""
        now = self._clock()
        self._last_callback = now
        rate, channels = self._stream_format
        frame_bytes = SAMPLE_WIDTH * channels
        size = frames * frame_bytes
        filled = 0
        while filled < size:
            prompt = self._current
            if prompt is None:
                if not self._queue:
                    break
                prompt = self._current = self._queue.popleft()
            if prompt.serial <= self._cut_up_to or prompt.cut.is_set():
                self._current = None
                continue
            if prompt.offset == 0:
                self.last_play_started = now + delay + filled / frame_bytes / rate
            n = min(size - filled, len(prompt.data) - prompt.offset)
            out[filled:filled + n] = prompt.data[prompt.offset:prompt.offset + n]
            prompt.offset += n
            filled += n
            if prompt.offset >= len(prompt.data):
                prompt.heard_at = now + delay + filled / frame_bytes / rate
                self._current = None
                prompt.wake.set()
        while filled < size:
            n = min(size - filled, len(self._silence))
            out[filled:filled + n] = self._silence[:n]
            filled += n

    # --- worker side ----------------------------------------------------------------------

    def _submit(self, job: Callable[[], Any]) -> None:
        """Run ``job`` on the worker thread and wait for it; re-raise what it raised."""
        if self._closed or self._hung:  # closed, or the worker is still stuck in the device
            raise NoOutputDevice(self._hung) if self._hung else AudioOutputError(_CLOSED)
        try:
            self._worker.call(job, timeout=self._answer)
        except WorkerClosed as exc:  # close() won the race against this call
            raise AudioOutputError(_CLOSED) from exc
        except JobTimeout as exc:  # PortAudio hangs in the device: give up on it, not the session
            self._hung = f"the loudspeaker did not answer within {self._answer:g} s (see check)"
            raise NoOutputDevice(self._hung) from exc

    def _ensure_stream(self, sample_rate: int) -> OutputStream:
        """Return the running stream, opening and starting one if needed.

        A stream keeps the format it was opened with; prompts at another rate are converted.
        """
        if self._lost is not None:
            raise OutputDeviceLost(self._lost_message())
        if self._stream is not None:
            return self._stream
        reasons: list[str] = []
        for rate, channels in _FALLBACK_FORMATS:
            rate = rate or sample_rate
            self._stream_format = (rate, channels)  # before the first callback reads it
            try:
                stream = self._factory(self.device, rate, channels, self._pull)
            except DeviceError as exc:
                reasons.append(f"{rate} Hz/{channels} ch: {exc}")
                continue
            try:
                stream.start()
            except DeviceError as exc:
                reasons.append(f"{rate} Hz/{channels} ch: {exc}")
                self._stream = stream
                self._close_stream()
                continue
            if (rate, channels) != (sample_rate, 1):
                _LOGGER.info("output device plays %d Hz/%d ch; converting from %d Hz mono",
                             rate, channels, sample_rate)
            self._stream = stream
            return stream
        self._stream_format = (sample_rate, CHANNELS)
        which = "the default output device" if self.device is None else f"device {self.device!r}"
        raise NoOutputDevice(
            f"Cannot play sound on {which} ({reasons[0] if reasons else 'no reason given'}). "
            "Connect a loudspeaker or headphones, or pick another output device by name or "
            "number (`samenspraak check` lists them). Until then prompts are shown as text.")

    def _open_quietly(self, sample_rate: int) -> None:
        """Open the stream ahead of time; a failure is left for :meth:`play` to report."""
        try:
            self._ensure_stream(sample_rate)
        except AudioOutputError as exc:  # the first play() tries again and raises it there
            _LOGGER.debug("opening the output ahead of time failed: %s", exc)

    def _lose(self, problem: str) -> None:
        """The device failed: remember why, cut every prompt, drop the stream (once)."""
        if self._lost is None:
            self._lost = problem
            _LOGGER.warning("output device failed: %s", problem)
        self._close_stream()
        with self._lock:
            waiting = list(self._waiting)
        for prompt in waiting:
            prompt.stop()

    def _reset_on_worker(self) -> None:
        """Clear the lost state and drop the stream."""
        self._lost = None
        self._close_stream()

    def _close_stream(self) -> None:
        """Close the stream, ignoring a device that is already gone; drop what was queued."""
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close()
            except DeviceError as exc:  # closing a vanished device may fail; nothing to free
                _LOGGER.debug("closing the output stream failed: %s", exc)
        self._queue.clear()  # the callback runs no more
        self._current = None

    def _lost_message(self) -> str:
        """A message that says what happened and what to do."""
        return (f"The audio output stopped working ({self._lost}). Check the loudspeaker or "
                "headphones; prompts are shown as text for the rest of the session.")
