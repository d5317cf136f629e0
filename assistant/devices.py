"""The audio devices PortAudio offers, and loading sounddevice with a clear message when it fails.

Importing this module imports neither sounddevice nor PortAudio; :func:`load_sounddevice` does,
and says what to install when either is missing (:class:`AudioUnavailable`). Callers that can go
on without sound (the microphone: keys instead; the output: printed text) turn that error into
their own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import ModuleType
from typing import Any

_LOGGER = logging.getLogger(__name__)


class AudioUnavailable(RuntimeError):
    """There is no audio system to use: PortAudio or sounddevice is missing or cannot list."""


@dataclass(frozen=True)
class Device:
    """One audio device as PortAudio lists it."""

    index: int
    """PortAudio device index."""
    name: str
    """Device name."""
    inputs: int
    """Most input channels it offers (0: it cannot record)."""
    outputs: int
    """Most output channels it offers (0: it cannot play)."""
    default_rate: float
    """Its preferred sample rate in Hz."""
    is_default_input: bool
    """Whether it is the system's default input."""
    is_default_output: bool
    """Whether it is the system's default output."""

    @property
    def kinds(self) -> str:
        """'in', 'out' or 'in/out': what the device can do, for a device table."""
        return "/".join(kind for kind, n in (("in", self.inputs), ("out", self.outputs)) if n)


def load_sounddevice() -> ModuleType:
    """Import sounddevice; raise :class:`AudioUnavailable` saying what to install if it fails."""
    try:
        import sounddevice
    except OSError as exc:  # sounddevice imports, but the PortAudio shared library is missing
        raise AudioUnavailable(
            f"the PortAudio library is missing ({exc}): install libportaudio2 "
            "(scripts/setup does)") from exc
    except ImportError as exc:  # the Python package itself is not installed
        raise AudioUnavailable(
            "sounddevice is not installed: pip install sounddevice, and install libportaudio2 "
            "(scripts/setup does both)") from exc
    return sounddevice


def list_devices(backend: Any = None) -> list[Device]:
    """Every device PortAudio lists, in its order; ``backend`` stands in for sounddevice.

    Raises :class:`AudioUnavailable` when sounddevice cannot be loaded or PortAudio cannot
    enumerate devices.
    """
    sd = backend or load_sounddevice()
    try:
        default_in, default_out = _defaults(sd)
        listed = list(sd.query_devices())
    except sd.PortAudioError as exc:  # PortAudio could not enumerate at all
        raise AudioUnavailable(f"cannot list audio devices: {exc}") from exc
    return [
        Device(index=i, name=str(d["name"]), inputs=int(d.get("max_input_channels", 0)),
               outputs=int(d.get("max_output_channels", 0)),
               default_rate=float(d["default_samplerate"]),
               is_default_input=(i == default_in), is_default_output=(i == default_out))
        for i, d in enumerate(listed)
    ]


def _defaults(sd: Any) -> tuple[int, int]:
    """The default input and output device indices (-1 where there is none)."""
    device = sd.default.device
    try:
        default_in, default_out = device
    except TypeError:  # one index set for both directions
        default_in = default_out = device
    return _index(default_in), _index(default_out)


def _index(value: Any) -> int:
    """A device index from sounddevice's default setting (which may be None or a name)."""
    try:
        return int(value)
    except (TypeError, ValueError):  # None or a device name: no index to compare with
        return -1
