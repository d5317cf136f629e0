"""The microphone: a sounddevice input stream whose callback only copies and enqueues.

Whatever the device delivers, the caller reads 20 ms chunks of 16 kHz mono 16-bit PCM, each with
the monotonic time it was captured. Another rate or two channels are converted on the caller's
side, never in the callback. A device that stops delivering raises :class:`InputDeviceLost` once;
:class:`SpeakingGate` drops what the microphone picked up while the assistant itself spoke.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from assistant.audio import SAMPLE_WIDTH, resample, to_mono
from assistant.devices import AudioUnavailable, load_sounddevice
from assistant.ports import AudioChunk

_LOGGER = logging.getLogger(__name__)

_POLL = 0.25
"""Longest single wait on the queue before looking for a lost device again."""

_END = object()
"""Queued by the stream's finished callback: no more audio will come."""


@dataclass(frozen=True)
class MicSettings:
    """Which input device to open and what to hand out."""

    device: int | str | None = None
    """PortAudio device index or (part of) its name; None for the system default."""
    sample_rate: int = 16000
    """Rate of the chunks handed out, in Hz."""
    chunk_seconds: float = 0.02
    """Length of the chunks handed out."""
    stall_seconds: float | None = 2.0
    """A running stream that delivers nothing this long counts as lost (None: never)."""
    queue_seconds: float = 10.0
    """Audio kept while the reader is busy; beyond it the oldest blocks are dropped."""


class NoInputDevice(RuntimeError):
    """No microphone could be opened."""


class InputDeviceLost(RuntimeError):
    """The microphone stopped delivering audio during the session."""


class Microphone:
    """An input device as a stream of :class:`AudioChunk`; open it, read it, close it."""

    def __init__(self, settings: MicSettings | None = None, *, backend: Any = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``backend`` stands in for the sounddevice module (tests pass a fake)."""
        self._settings = settings or MicSettings()
        self._backend = backend
        self._clock = clock
        self._stream: Any = None
        self._queue: queue.Queue[Any] = queue.Queue()
        self._finished = threading.Event()
        self._closing = False
        self._dropped = 0
        self._device_rate = self._settings.sample_rate
        self._channels = 1
        self._device_name = ""
        self._converter: _Converter | None = None
        self._ready: deque[AudioChunk] = deque()
        self._last_audio = 0.0

    # --- the audio thread: copy and enqueue, nothing more --------------------------------------

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        """Runs on PortAudio's thread."""
        item = (self._clock(), bytes(indata), status)
        try:
            self._queue.put_nowait(item)
        except queue.Full:  # the reader is far behind: make room by dropping the oldest block
            self._dropped += 1
            try:
                self._queue.get_nowait()
                self._queue.put_nowait(item)
            except (queue.Empty, queue.Full):
                pass  # the reader took a block meanwhile, or the queue filled again: fine

    def _stream_finished(self) -> None:
        """Runs on PortAudio's thread when the stream stops, by close() or by an error."""
        self._finished.set()
        try:
            self._queue.put_nowait(_END)
        except queue.Full:
            pass  # the reader notices the finished flag once the queue has drained

    # --- the caller's side -------------------------------------------------------------------

    @property
    def device_name(self) -> str:
        """Name of the opened device ('' before opening)."""
        return self._device_name

    @property
    def device_rate(self) -> int:
        """The rate the device runs at; chunks are converted to the settings' rate."""
        return self._device_rate

    @property
    def dropped_blocks(self) -> int:
        """Blocks lost because the reader fell more than ``queue_seconds`` behind."""
        return self._dropped

    @property
    def closed(self) -> bool:
        """True when not open (never opened, closed, or lost)."""
        return self._stream is None and not self._ready

    def open(self) -> None:
        """Open and start the device; raise :class:`NoInputDevice` saying what to do."""
        if self._stream is not None:
            return
        s = self._settings
        try:
            sd = self._backend or load_sounddevice()
        except AudioUnavailable as exc:  # no audio system: the session goes on with keys
            raise NoInputDevice(str(exc)) from exc
        try:
            info = sd.query_devices(s.device, "input")
        except (ValueError, sd.PortAudioError) as exc:  # no such device, or no default input
            which = "no default microphone" if s.device is None else f"no input device {s.device!r}"
            raise NoInputDevice(
                f"{which} ({exc}); connect a microphone or choose one of the devices that "
                "`samenspraak check` lists; the session can go on with keys"
            ) from exc
        index = info["index"] if "index" in info else s.device
        rate, channels = self._choose_format(sd, index, info)
        block = max(1, round(rate * s.chunk_seconds))
        blocks_kept = max(1, round(s.queue_seconds / s.chunk_seconds))
        self._queue = queue.Queue(maxsize=blocks_kept)
        self._finished.clear()
        self._closing = False
        stream = None
        try:
            stream = sd.RawInputStream(
                device=index, samplerate=rate, channels=channels, dtype="int16",
                blocksize=block, callback=self._callback,
                finished_callback=self._stream_finished)
            stream.start()
        except sd.PortAudioError as exc:  # busy, unplugged between query and open, ...
            if stream is not None:  # opened but would not start: release it before a retry
                stream.close(ignore_errors=True)
            raise NoInputDevice(
                f"cannot open the microphone {info['name']!r}: {exc}; close other programs "
                "using it, or choose another device"
            ) from exc
        self._stream = stream
        self._device_name = info["name"]
        self._device_rate = rate
        self._channels = channels
        self._converter = _Converter(rate, channels, s.sample_rate,
                                     round(s.sample_rate * s.chunk_seconds))
        self._last_audio = self._clock()
        _LOGGER.info("microphone %r open at %d Hz, %d channel(s)", info["name"], rate, channels)

    def _choose_format(self, sd: Any, index: Any, info: Any) -> tuple[int, int]:
        """The wanted rate in mono if the device takes it, else its own rate (and channels)."""
        wanted = self._settings.sample_rate
        own = int(info["default_samplerate"])
        tries = [(wanted, 1), (own, 1), (own, min(2, int(info["max_input_channels"])))]
        for rate, channels in dict.fromkeys(tries):
            try:
                sd.check_input_settings(device=index, samplerate=rate, channels=channels,
                                        dtype="int16")
            except sd.PortAudioError:  # this combination is not supported; try the next
                continue
            if rate != wanted:
                _LOGGER.info("microphone refuses %d Hz; recording at %d Hz and converting",
                             wanted, rate)
            return rate, channels
        raise NoInputDevice(
            f"the microphone {info['name']!r} accepts neither {wanted} Hz nor its own {own} Hz "
            "as 16-bit audio; choose another device"
        )

    def read(self, timeout: float | None = None) -> AudioChunk | None:
        """The next chunk; None when none came within ``timeout`` or the microphone is closed.

        Raises :class:`InputDeviceLost` once when the device stopped delivering; after that the
        microphone is closed and may be opened again.
        """
        if self._ready:
            return self._ready.popleft()
        deadline = None if timeout is None else self._clock() + timeout
        while self._stream is not None:
            remaining = None if deadline is None else deadline - self._clock()
            wait = _POLL if remaining is None else max(0.0, min(_POLL, remaining))
            try:
                item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                if self._finished.is_set():
                    self._lost("the audio stream stopped")
                elif self._stalled():
                    self._lost(f"no audio for {self._settings.stall_seconds} s")
                elif remaining is not None and remaining <= _POLL:
                    return None
                continue
            if item is _END:
                self._lost("the audio stream stopped")
                continue
            captured_at, data, status = item
            self._last_audio = captured_at
            if status:
                _LOGGER.debug("microphone status: %s", status)
            assert self._converter is not None  # set by open() together with the stream
            self._ready.extend(self._converter.convert(data, captured_at))
            if self._ready:
                return self._ready.popleft()
        return None

    def _stalled(self) -> bool:
        """Whether the stream has delivered nothing for longer than allowed."""
        limit = self._settings.stall_seconds
        return limit is not None and self._clock() - self._last_audio > limit

    def _lost(self, why: str) -> None:
        """Release the stream and raise, unless the stream ended because we closed it."""
        closing = self._closing
        self._release()
        if not closing:
            _LOGGER.warning("microphone %r lost: %s", self._device_name, why)
            raise InputDeviceLost(
                f"the microphone {self._device_name!r} stopped delivering audio ({why}); "
                "check its cable or connection"
            )

    def chunks(self) -> Iterator[AudioChunk]:
        """Chunks until the microphone is closed (from another thread) or lost (raises)."""
        while not self.closed:
            chunk = self.read(timeout=0.1)
            if chunk is not None:
                yield chunk

    def close(self) -> None:
        """Stop and release the device; pending chunks are discarded."""
        self._closing = True
        self._ready.clear()
        self._release()

    def _release(self) -> None:
        """Stop the stream, ignoring a device that is already gone."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        sd = self._backend or load_sounddevice()
        try:
            stream.abort()
            stream.close()
        except sd.PortAudioError as exc:  # the device may have vanished already
            _LOGGER.debug("closing the microphone: %s", exc)

    def __enter__(self) -> Microphone:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PcmSource:
    """Hands out recorded PCM as microphone chunks with virtual capture times (tests, files)."""

    def __init__(self, pcm: bytes, rate: int = 16000, chunk_seconds: float = 0.02,
                 start: float = 0.0) -> None:
        size = round(rate * chunk_seconds) * SAMPLE_WIDTH
        self._chunks = deque(
            AudioChunk(pcm[i:i + size], rate, start + min(i + size, len(pcm)) / SAMPLE_WIDTH / rate)
            for i in range(0, len(pcm), size))

    @property
    def closed(self) -> bool:
        """True once every chunk has been read."""
        return not self._chunks

    def read(self, timeout: float | None = None) -> AudioChunk | None:
        """The next chunk, or None at the end."""
        return self._chunks.popleft() if self._chunks else None

    def close(self) -> None:
        """Drop what is left."""
        self._chunks.clear()


class SpeakingGate:
    """Drops microphone chunks captured while the assistant spoke, plus a short tail after.

    ``is_speaking`` is polled each time a chunk is judged: right for a speaker that plays on its
    own thread while the reader keeps reading. A caller that blocks while speaking instead tells
    the gate afterwards with :meth:`spoke_until` (or :meth:`mute_until`).
    """

    def __init__(self, is_speaking: Callable[[], bool] | None = None, tail: float = 0.3,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._is_speaking = is_speaking
        self._tail = tail
        self._clock = clock
        self._muted_until = float("-inf")

    @property
    def muted_until(self) -> float:
        """Chunks captured before this monotonic time are dropped."""
        return self._muted_until

    def mute_until(self, t: float) -> None:
        """Drop chunks captured before ``t`` (never shortens an earlier mute)."""
        self._muted_until = max(self._muted_until, t)

    def spoke_until(self, t: float | None = None) -> None:
        """The assistant stopped speaking at ``t`` (default: now); the tail follows."""
        self.mute_until((self._clock() if t is None else t) + self._tail)

    def admits(self, captured_at: float) -> bool:
        """Whether a chunk captured at ``captured_at`` is the couple's and not the assistant's."""
        if self._is_speaking is not None and self._is_speaking():
            self.spoke_until()
            return False
        return captured_at >= self._muted_until


class _Converter:
    """Turns device blocks (any rate, one or two channels) into fixed-size mono chunks."""

    def __init__(self, rate: int, channels: int, out_rate: int, out_samples: int) -> None:
        self._rate = rate
        self._channels = channels
        self._out_rate = out_rate
        self._size = out_samples * SAMPLE_WIDTH
        self._state: Any = None
        self._buffer = bytearray()

    def convert(self, data: bytes, captured_at: float) -> list[AudioChunk]:
        """Chunks completed by this block; they all carry the block's capture time."""
        data = to_mono(data, self._channels)
        data, self._state = resample(data, self._rate, self._out_rate, self._state)
        self._buffer += data
        out = []
        while len(self._buffer) >= self._size:
            out.append(AudioChunk(bytes(self._buffer[:self._size]), self._out_rate, captured_at))
            del self._buffer[:self._size]
        return out
