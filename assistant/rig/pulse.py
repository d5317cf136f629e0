"""The virtual PulseAudio rig that ``scripts/pulse-up`` starts, seen from Python.

The rig has a null sink as the loudspeaker (recorded through its monitor) and a pipe source as
the microphone. A pipe source only produces samples while something writes into its FIFO, so
:class:`MicFeeder` writes in real time, 20 ms at a time, with silence between utterances.
:class:`SinkRecorder` records what the assistant played as a :class:`Recording`.

Importing this module sets ``PULSE_SERVER`` (unless it is set already) so that PulseAudio
clients imported later — sounddevice lists its devices once, at import — talk to the rig's
daemon; nothing is started. :func:`check_rig` raises :class:`RigUnavailable` with the reason
when the rig is not up; callers decide what that means (a test skips, or fails in CI).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from assistant.rig.signals import RATE, WIDTH, active_stretches, rms_windows

_LOGGER = logging.getLogger(__name__)

SPEAKER_SINK = "samenspraak_speaker"
"""The null sink that plays the loudspeaker's part."""
MIC_SOURCE = "samenspraak_mic"
"""The pipe source that plays the microphone's part."""
CHUNK_SECONDS = 0.02
"""How much the feeder writes per tick."""


class RigUnavailable(RuntimeError):
    """The PulseAudio rig is not up; the message says why and how to start it."""

    def __init__(self, reason: str, *, required: bool = False) -> None:
        """``required``: the rig must be there (in CI), so its absence is a failure."""
        super().__init__(reason)
        self.reason = reason
        """Why the rig cannot be used."""
        self.required = required
        """True in CI (``$CI`` set), where a missing rig is an error rather than a skip."""


# --- finding the rig ------------------------------------------------------------------------------


def rig_dir() -> Path:
    """Where scripts/pulse-up keeps the daemon's socket and the microphone FIFO."""
    return Path(os.environ.get("SAMENSPRAAK_PULSE_DIR", f"/tmp/samenspraak-pulse-{os.getuid()}"))


def mic_fifo() -> Path:
    """The FIFO the pipe source reads the microphone's samples from."""
    return rig_dir() / "mic.fifo"


def point_at_rig() -> None:
    """Make PulseAudio clients (parec, libasound's pulse plugin) use the rig's daemon.

    Call it before sounddevice is imported: PortAudio lists its devices once, at import. A
    PULSE_SERVER set already (scripts/test sets it) is kept. Naming a server also keeps libpulse
    from spawning a desktop daemon of its own when the rig is down.
    """
    os.environ.setdefault("PULSE_SERVER", f"unix:{rig_dir() / 'pulse' / 'native'}")


point_at_rig()


def pulse_available() -> bool:
    """True when the rig's daemon answers and has its sink, its source and the FIFO."""
    return not rig_problem()


def rig_problem() -> str:
    """Why the rig cannot be used, or '' when it can."""
    point_at_rig()
    for tool in ("pactl", "parec"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (pulseaudio-utils)"
    try:
        sinks = _pactl("list", "short", "sinks")
        sources = _pactl("list", "short", "sources")
    except (OSError, subprocess.SubprocessError):  # daemon not running or not reachable
        return f"no PulseAudio daemon answers at {os.environ['PULSE_SERVER']}"
    if SPEAKER_SINK not in _names(sinks):
        return f"the daemon has no sink {SPEAKER_SINK}"
    if MIC_SOURCE not in _names(sources):
        return f"the daemon has no source {MIC_SOURCE}"
    if not mic_fifo().exists():
        return f"the microphone FIFO {mic_fifo()} is missing"
    return ""


def check_rig() -> None:
    """Raise :class:`RigUnavailable` (``required`` in CI) unless the rig is up.

    The message says how to start it; a test turns it into a skip, or a failure when required.
    """
    why = rig_problem()
    if not why:
        return
    if os.environ.get("CI"):
        raise RigUnavailable(f"the PulseAudio rig is required in CI and unavailable: {why}; "
                             "scripts/test starts it with scripts/pulse-up", required=True)
    raise RigUnavailable(f"no PulseAudio rig ({why}); run the suite with scripts/test, or "
                         'eval "$(scripts/pulse-up)" first')


def _pactl(*args: str) -> str:
    """Run pactl and return its output."""
    done = subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=10,
                          check=True)
    return done.stdout


def _names(listing: str) -> set[str]:
    """Names from a `pactl list short` listing."""
    return {line.split("\t")[1] for line in listing.splitlines() if "\t" in line}


# --- recordings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recording:
    """What the loudspeaker played while the recorder ran."""

    pcm: bytes
    """16-bit mono PCM."""
    rate: int
    """Sample rate in Hz."""
    started_at: float
    """Monotonic time of the recording's first sample (approximate, within a few 10 ms)."""

    @property
    def seconds(self) -> float:
        """Length of the recording."""
        return len(self.pcm) / WIDTH / self.rate

    def between(self, start: float, end: float) -> bytes:
        """The PCM from ``start`` to ``end`` seconds into the recording."""
        return self.pcm[round(start * self.rate) * WIDTH:round(end * self.rate) * WIDTH]

    def stretches(self, threshold: float = 300.0,
                  min_gap: float = 0.15) -> list[tuple[float, float]]:
        """(start, end) seconds of sound, see :func:`active_stretches`."""
        return active_stretches(self.pcm, self.rate, threshold, min_gap=min_gap)


# --- the microphone side --------------------------------------------------------------------------


@dataclass
class Utterance:
    """PCM queued on a :class:`MicFeeder`, with the times it went into the FIFO."""

    pcm: bytes
    """16-bit mono PCM at the feeder's rate."""
    started_at: float | None = None
    """Monotonic time its first chunk was written."""
    ended_at: float | None = None
    """Monotonic time its last chunk was written."""
    done: threading.Event = field(default_factory=threading.Event)
    """Set when all of it has been written."""

    def wait(self, timeout: float = 60.0) -> Utterance:
        """Block until it has been written."""
        if not self.done.wait(timeout):
            raise TimeoutError("the microphone feeder did not finish the utterance")
        return self


class MicFeeder:
    """Writes PCM into the rig's microphone FIFO in real time, and silence in between."""

    def __init__(self, fifo: Path | None = None, rate: int = RATE) -> None:
        self._fifo = fifo or mic_fifo()
        self._rate = rate
        self._chunk = round(rate * CHUNK_SECONDS) * WIDTH
        self._pending: deque[Utterance] = deque()
        self._current: Utterance | None = None
        self._offset = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.chunks_written = 0
        """How many chunks went into the FIFO (speech and silence)."""
        self.late_chunks = 0
        """Chunks written more than 40 ms after their time (the thread was starved)."""

    def start(self) -> MicFeeder:
        """Open the FIFO and start writing silence."""
        # Non-blocking open fails at once (ENXIO) when no daemon has the FIFO open for reading.
        fd = os.open(self._fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.set_blocking(fd, True)
        self._thread = threading.Thread(target=self._run, args=(fd,), name="mic-feeder",
                                        daemon=True)
        self._thread.start()
        return self

    def say(self, pcm: bytes) -> Utterance:
        """Queue ``pcm`` after what is queued already; returns at once."""
        utterance = Utterance(pcm)
        with self._lock:
            self._pending.append(utterance)
        return utterance

    def play(self, pcm: bytes, timeout: float = 60.0) -> Utterance:
        """Queue ``pcm`` and wait until it has been written."""
        return self.say(pcm).wait(timeout)

    @property
    def failed(self) -> bool:
        """Whether writing failed (the daemon went away)."""
        return self._error is not None

    def stop(self, check: bool = True) -> None:
        """Stop writing and close the FIFO; with ``check``, raise if writing had failed."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if check and self._error is not None:
            raise RuntimeError("the microphone feeder failed") from self._error

    def __enter__(self) -> MicFeeder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next_chunk(self) -> tuple[bytes, Utterance | None, bool]:
        """The next 20 ms to write, the utterance it belongs to, and whether it is its last."""
        with self._lock:
            if self._current is None and self._pending:
                self._current, self._offset = self._pending.popleft(), 0
            current = self._current
            if current is None:
                return bytes(self._chunk), None, False
            data = current.pcm[self._offset:self._offset + self._chunk]
            self._offset += self._chunk
            last = self._offset >= len(current.pcm)
            if last:
                self._current = None
        return data.ljust(self._chunk, b"\0"), current, last

    def _run(self, fd: int) -> None:
        """Write one chunk per tick on an absolute schedule, so no drift builds up."""
        tick = self._chunk / WIDTH / self._rate
        begin = time.monotonic()
        n = 0
        try:
            while not self._stop.is_set():
                data, utterance, last = self._next_chunk()
                now = time.monotonic()
                if now - (begin + n * tick) > 0.04:
                    self.late_chunks += 1
                if utterance is not None and utterance.started_at is None:
                    utterance.started_at = now
                os.write(fd, data)
                self.chunks_written += 1
                if utterance is not None and last:
                    utterance.ended_at = time.monotonic()
                    utterance.done.set()
                n += 1
                delay = begin + n * tick - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        except OSError as exc:  # the daemon went away and took the FIFO's reader with it
            self._error = exc
        finally:
            os.close(fd)


# --- the loudspeaker side -------------------------------------------------------------------------


class SinkRecorder:
    """Records the rig's loudspeaker (the null sink's monitor) with parec, into memory."""

    def __init__(self, sink: str = SPEAKER_SINK, rate: int = RATE) -> None:
        self._source = f"{sink}.monitor"
        self._rate = rate
        self._process: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._data = bytearray()
        self._first = threading.Event()
        self._started_at = 0.0

    def start(self, timeout: float = 5.0) -> SinkRecorder:
        """Start recording; returns once the first samples have arrived."""
        point_at_rig()
        self._process = subprocess.Popen(
            ["parec", f"--device={self._source}", "--format=s16le", f"--rate={self._rate}",
             "--channels=1", "--latency-msec=20", "--raw"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._thread = threading.Thread(target=self._pump, name="sink-recorder", daemon=True)
        self._thread.start()
        if not self._first.wait(timeout):
            self.stop()
            raise RuntimeError(f"parec delivered nothing from {self._source} in {timeout} s")
        return self

    def stop(self) -> Recording:
        """Stop recording and return what was played."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        pcm = bytes(self._data[:len(self._data) - len(self._data) % WIDTH])
        return Recording(pcm, self._rate, self._started_at)

    def so_far(self) -> Recording:
        """What was played until now; recording goes on."""
        data = bytes(self._data)
        return Recording(data[:len(data) - len(data) % WIDTH], self._rate, self._started_at)

    def quiet_for(self, seconds: float, threshold: float = 300.0) -> bool:
        """Whether the last ``seconds`` of what was recorded so far are silent."""
        want = round(seconds * self._rate) * WIDTH
        tail = bytes(self._data[-want:])
        if len(tail) < want:
            return False
        tail = tail[:len(tail) - len(tail) % WIDTH]
        return max(rms_windows(tail, self._rate), default=0.0) < threshold

    def wait_quiet(self, seconds: float = 0.8, timeout: float = 30.0) -> None:
        """Block until the loudspeaker has been silent for ``seconds``."""
        deadline = time.monotonic() + timeout
        while not self.quiet_for(seconds):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the loudspeaker did not fall silent within {timeout} s")
            time.sleep(0.05)

    def __enter__(self) -> SinkRecorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _pump(self) -> None:
        """Read parec's output until it ends."""
        assert self._process is not None and self._process.stdout is not None
        stream = self._process.stdout
        while chunk := stream.read1(4096):
            if not self._first.is_set():
                self._started_at = time.monotonic() - len(chunk) / WIDTH / self._rate
                self._first.set()
            self._data += chunk


@contextmanager
def recording(sink: str = SPEAKER_SINK, rate: int = RATE) -> Iterator[list[Recording]]:
    """``with recording() as out:`` … afterwards ``out[0]`` holds the :class:`Recording`."""
    recorder = SinkRecorder(sink, rate).start()
    out: list[Recording] = []
    try:
        yield out
    finally:
        out.append(recorder.stop())
