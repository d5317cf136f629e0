"""Speech out: text → WAV (pyttsx3, else espeak-ng) → cached, normalised PCM → loudspeaker.

The flow of one prompt::

    VoiceSpeaker.say(text)
      → RenderCache (hit: done)            key = sha256(renderer, voice, rate, format, text)
      → Renderer.render(text, rate, wav)   Pyttsx3Renderer, else EspeakRenderer
      → check_wav + normalise (pydub)      16-bit mono at SAMPLE_RATE, loudness at TARGET_DBFS
      → AudioOutput.play(pcm)              blocks until heard
      → else print_fn(text)

pyttsx3 lives on one worker thread of its own; a render that hangs, fails, or writes no audio
twice in a row marks it broken and the speaker falls back to espeak-ng, then to printed text,
reporting each step once through ``on_notice(key)`` (the session turns keys into sentences from
its language files). Nothing here touches an engine or a device at import time.

Pace (:meth:`VoiceSpeaker.set_pace`; the session decides the steps) is the synthesizer's own
rate, so it is part of the cache key:
the voice slows down or speeds up syllables and pauses alike without artefacts, whereas
stretching audio afterwards (pydub's ``speedup`` cuts and crossfades chunks) warbles and cannot
slow down at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import subprocess
import sys
import threading
import uuid
import wave
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from assistant.audio import import_pydub, read_wav, write_wav_private
from assistant.chimes import chime_pcm
from assistant.engine.messages import Chime
from assistant.history import private_dir
from assistant.playback import (
    SAMPLE_RATE,
    AudioOutput,
    AudioOutputError,
    NoOutputDevice,
)
from assistant.ports import AudioOutput as PcmOutput
from assistant.ports import Renderer
from assistant.voicebank import VoiceBank
from assistant.worker import JobTimeout, OwnerThread, WorkerClosed

_LOGGER = logging.getLogger(__name__)

DEFAULT_RATE = 150
"""Speaking rate in words per minute at pace 1.0: calm, a little slower than espeak's 175."""
PACE_LIMITS: tuple[float, float] = (0.5, 2.0)
"""The slowest and fastest pace factor :meth:`VoiceSpeaker.set_pace` accepts."""
TARGET_DBFS = -20.0
"""Average loudness speech is normalised to, in dBFS."""
PEAK_CEILING_DBFS = -1.0
"""Normalisation never lifts a peak above this, in dBFS."""
FORMAT_TAG = f"pcm16-mono-{SAMPLE_RATE}"
"""Part of every cache key, so a change of output format never reuses old files."""

NOTICE_TEXT_ONLY = "tts_fallback_text"
"""Notice key: no renderer works any more; prompts are printed."""
NOTICE_OUTPUT_MISSING = "audio_output_missing"
"""Notice key: there is no output device; prompts are printed."""
NOTICE_OUTPUT_LOST = "audio_output_lost"
"""Notice key: the output device failed mid-session; prompts are printed from now on."""

_LANGUAGE_NAMES = {"nl": ("dutch", "nederlands"), "en": ("english",)}
"""Words that identify a language in voice names, for drivers that list no language codes."""


class RenderError(RuntimeError):
    """A renderer could not turn text into a valid WAV file."""


class RenderTimeout(RenderError):
    """A renderer did not finish in time; it is considered broken from then on."""


# --- checks and audio processing ----------------------------------------------------------


def check_wav(path: Path) -> None:
    """Raise :class:`RenderError` unless ``path`` exists, is non-empty and holds WAV frames."""
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise RenderError(f"the renderer wrote no file at {path}") from exc
    if size == 0:
        raise RenderError(f"the renderer wrote an empty file at {path}")
    try:
        with wave.open(str(path), "rb") as wav:
            frames = wav.getnframes()
    except (wave.Error, EOFError) as exc:  # truncated or not a WAV at all
        raise RenderError(f"the renderer wrote no valid WAV at {path}: {exc}") from exc
    if frames <= 0:
        raise RenderError(f"the renderer wrote a WAV without audio at {path}")


def normalise_wav(path: Path, target_dbfs: float = TARGET_DBFS,
                  peak_ceiling_dbfs: float = PEAK_CEILING_DBFS) -> bytes:
    """Read a WAV file and return it as 16-bit mono PCM at :data:`SAMPLE_RATE`, loudness-matched.

    The average loudness is brought to ``target_dbfs`` unless that would lift a peak above
    ``peak_ceiling_dbfs``; silence stays silence.
    """
    audio_segment, _effects, _generators = import_pydub()
    from pydub.exceptions import CouldntDecodeError

    try:
        seg = audio_segment.AudioSegment.from_wav(str(path))
    except (CouldntDecodeError, OSError, EOFError) as exc:  # a WAV variant pydub cannot read
        raise RenderError(f"cannot read the rendered WAV {path}: {exc}") from exc
    seg = seg.set_channels(1).set_sample_width(2).set_frame_rate(SAMPLE_RATE)
    if seg.rms > 0:
        gain = min(target_dbfs - seg.dBFS, peak_ceiling_dbfs - seg.max_dBFS)
        seg = seg.apply_gain(gain)
    return seg.raw_data


# --- the cache ------------------------------------------------------------------------------


class RenderCache:
    """Rendered, normalised prompts on disk, one WAV per (renderer, voice, rate, text).

    Files are owner-only and written atomically (temporary file, then rename), so a crash never
    leaves half a prompt behind and concurrent writers never see each other's partial files.
    """

    def __init__(self, directory: Path) -> None:
        """Keep the files in ``directory`` (the caller decides where), created on first use."""
        self.directory = Path(directory)
        """Where the WAV files live."""
        self.hits = 0
        """How many lookups found a file."""
        self.misses = 0
        """How many lookups found none."""
        self._ready = False

    @staticmethod
    def key(renderer: str, voice: str, rate: int, text: str) -> str:
        """The cache key: a sha256 over renderer name, voice, rate, output format and text."""
        blob = json.dumps([renderer, voice, rate, FORMAT_TAG, text], ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def ensure_dir(self) -> Path:
        """Create the cache directory (owner-only) if needed and return it."""
        if not self._ready:
            private_dir(self.directory)
            self._ready = True
        return self.directory

    def path(self, key: str) -> Path:
        """Where the file for ``key`` lives."""
        return self.directory / f"{key}.wav"

    def get(self, key: str) -> bytes | None:
        """The PCM stored under ``key``, or None (a damaged file counts as missing and goes)."""
        path = self.path(key)
        try:
            wav = read_wav(path)
        except FileNotFoundError:
            self.misses += 1
            return None
        except (wave.Error, EOFError) as exc:  # damaged by a full disk or an outside edit
            _LOGGER.warning("dropping damaged cache file %s: %s", path, exc)
            path.unlink(missing_ok=True)
            self.misses += 1
            return None
        if not wav.is_pcm16_mono or wav.rate != SAMPLE_RATE or not wav.pcm:
            fmt = (wav.channels, wav.width, wav.rate)
            _LOGGER.warning("dropping cache file %s with unexpected format %s", path, fmt)
            path.unlink(missing_ok=True)
            self.misses += 1
            return None
        self.hits += 1
        return wav.pcm

    def put(self, key: str, pcm: bytes) -> None:
        """Store ``pcm`` under ``key`` atomically, as an owner-only WAV file."""
        self.ensure_dir()
        write_wav_private(self.path(key), pcm, SAMPLE_RATE)

    def scratch_path(self) -> Path:
        """A fresh, not yet existing path inside the cache directory for a renderer to write."""
        return self.ensure_dir() / f".render-{uuid.uuid4().hex}.wav"


# --- renderers ------------------------------------------------------------------------------


def _normalised_languages(voice: Any) -> list[str]:
    """A voice's language codes, lower case with '-' (drivers give str or bytes)."""
    out = []
    for lang in getattr(voice, "languages", None) or []:
        if isinstance(lang, bytes):
            lang = lang.decode("utf-8", errors="ignore")
        out.append(str(lang).strip().lower().replace("_", "-"))
    return out


def choose_voice(voices: Sequence[Any], lang: str, requested: str | None = None) -> str | None:
    """Pick a pyttsx3 voice id: the ``requested`` one if it exists, else one speaking ``lang``.

    ``requested`` matches a voice id, the last part of an id ('nl' for 'gmw/nl'), or a name
    (case-insensitive). For a language, an exact language code beats a regional one ('nl' before
    'nl-be'), which beats a match on the id or the name. None when nothing fits.
    """
    if requested:
        want = requested.strip().lower()
        for match in (
            lambda v: str(v.id).lower() == want,
            lambda v: str(v.id).lower().rsplit("/", 1)[-1] == want,
            lambda v: str(getattr(v, "name", "")).lower() == want,
            lambda v: want in _normalised_languages(v),
        ):
            found = [v for v in voices if match(v)]
            if found:
                return str(found[0].id)
        _LOGGER.warning("voice %r not found; using a voice for %r", requested, lang)
    lang = lang.lower()
    for match in (
        lambda v: lang in _normalised_languages(v),
        lambda v: any(code.startswith(lang + "-") for code in _normalised_languages(v)),
        lambda v: str(v.id).lower().rsplit("/", 1)[-1] in (lang, *(
            f"{lang}-{code}" for code in ("nl", "be", "us", "gb"))),
        lambda v: any(word in str(getattr(v, "name", "")).lower()
                      for word in _LANGUAGE_NAMES.get(lang, ())),
    ):
        found = [v for v in voices if match(v)]
        if found:
            return str(found[0].id)
    return None


def _driver_print(*args: Any, **_kwargs: Any) -> None:
    """Stands in for ``print`` inside pyttsx3's espeak driver: log, never write to stdout."""
    _LOGGER.debug("pyttsx3: %s", " ".join(str(a) for a in args))


def _silence_driver_prints() -> None:
    """Keep pyttsx3's espeak driver from printing "Audio saved to ..." for every file.

    The driver prints from espeak's own synthesis thread, straight to stdout, where a session's
    text and JSON lines go; a module-level ``print`` in that one module takes precedence over the
    builtin, and affects nothing else.
    """
    driver = sys.modules.get("pyttsx3.drivers.espeak")
    if driver is not None:
        driver.print = _driver_print  # type: ignore[attr-defined]


class Pyttsx3Renderer:
    """pyttsx3 on a thread of its own; a hang or a bad file marks it broken for good.

    An :class:`~assistant.worker.OwnerThread` runs every engine call; the engine is created
    lazily on it. The caller waits at most ``timeout`` seconds per engine call: ``runAndWait()``
    is known to hang on some drivers, and a hung thread cannot be freed, only abandoned (it is
    a daemon).
    """

    name = "pyttsx3"

    def __init__(self, lang: str = "nl", voice: str | None = None, *, timeout: float = 10.0,
                 retries: int = 1, engine_factory: Callable[[], Any] | None = None) -> None:
        """Speak ``lang`` (or the ``voice`` named); ``engine_factory`` defaults to pyttsx3.init."""
        self.lang = lang
        """The language whose voice is used when no voice is named."""
        self.requested_voice = voice
        """The voice asked for, if any."""
        self.timeout = timeout
        """Seconds a caller waits for one engine call before giving the engine up."""
        self.retries = retries
        """How often a file that fails the check is rendered again before giving up."""
        self._factory = engine_factory
        self._worker = OwnerThread("samenspraak-pyttsx3", on_exit=self._stop_engine_on_worker)
        self._voice_id: str | None = None
        self._broken: str | None = None
        self._engine: Any = None  # touched on the worker thread only

    @property
    def broken(self) -> str | None:
        """Why the engine was given up, or None while it works."""
        return self._broken

    @property
    def voice_id(self) -> str:
        """The pyttsx3 voice id in use (resolving it starts the engine)."""
        if self._voice_id is None:
            self._voice_id = self._call(self._resolve_voice_on_worker)
        return self._voice_id

    def render(self, text: str, rate: int, path: Path) -> None:
        """Render ``text`` at ``rate`` words per minute into ``path`` and check the file.

        The espeak driver now and then writes a WAV without frames (a race inside the driver,
        roughly once in a hundred renders); that file is rendered once more before the engine
        is given up.
        """
        voice = self.voice_id
        for attempt in range(1 + self.retries):
            self._call(lambda: self._render_on_worker(text, rate, path, voice))
            try:
                check_wav(path)
            except RenderError as exc:
                if attempt < self.retries:
                    _LOGGER.info("pyttsx3 wrote a bad file (%s); rendering it again", exc)
                    continue
                self._broken = f"bad output: {exc}"
                raise
            return

    def close(self) -> None:
        """Stop the worker (a hung one is left behind; it is a daemon thread)."""
        self._worker.close(timeout=self.timeout if self._broken is None else 0.0)

    # --- worker side ----------------------------------------------------------------------

    def _call(self, job: Callable[[], Any]) -> Any:
        """Run ``job`` on the worker and return its result, or raise :class:`RenderError`."""
        if self._broken is not None:
            raise RenderError(f"pyttsx3 is out of order ({self._broken})")
        try:
            return self._worker.call(job, timeout=self.timeout)
        except JobTimeout as exc:
            self._broken = f"no answer within {self.timeout:g} s"
            _LOGGER.warning("pyttsx3 hangs; giving it up")
            raise RenderTimeout(f"pyttsx3 did not finish within {self.timeout:g} s") from exc
        except WorkerClosed as exc:  # rendering after close(): nothing left to render with
            raise RenderError("pyttsx3 is closed") from exc
        except RenderError as exc:
            self._broken = str(exc)
            raise
        except Exception as exc:
            # The engine and its drivers raise anything (RuntimeError, OSError, ctypes and
            # COM errors); each of them means the same thing here: fall back.
            self._broken = f"{type(exc).__name__}: {exc}"
            raise RenderError(f"pyttsx3 failed: {exc!r}") from exc

    def _stop_engine_on_worker(self) -> None:
        """Release the engine when the worker stops (worker thread only)."""
        if self._engine is not None:
            with contextlib.suppress(Exception):  # the engine is being dropped anyway
                self._engine.stop()

    def _engine_on_worker(self) -> Any:
        """The engine, created on first use (worker thread only)."""
        if self._engine is None:
            if self._factory is not None:
                self._engine = self._factory()
            else:
                try:
                    import pyttsx3
                except ImportError as exc:
                    raise RenderError("pyttsx3 is not installed: pip install pyttsx3") from exc
                self._engine = pyttsx3.init()
                _silence_driver_prints()
        return self._engine

    def _resolve_voice_on_worker(self) -> str:
        """Choose and set the voice (worker thread only)."""
        engine = self._engine_on_worker()
        voice = choose_voice(engine.getProperty("voices") or [], self.lang, self.requested_voice)
        if voice is None:
            raise RenderError(f"pyttsx3 has no voice for language {self.lang!r}")
        engine.setProperty("voice", voice)
        _LOGGER.info("pyttsx3 voice for %s: %s", self.lang, voice)
        return voice

    def _render_on_worker(self, text: str, rate: int, path: Path, voice: str) -> None:
        """Render one file (worker thread only)."""
        engine = self._engine_on_worker()
        engine.setProperty("voice", voice)
        engine.setProperty("rate", rate)
        engine.save_to_file(text, str(path))
        engine.runAndWait()


class EspeakRenderer:
    """The ``espeak-ng`` program, called directly: the fallback when pyttsx3 fails."""

    name = "espeak"

    def __init__(self, lang: str = "nl", voice: str | None = None, *,
                 binary: str = "espeak-ng", timeout: float = 10.0) -> None:
        """Speak ``lang`` or the espeak-ng ``voice`` named (e.g. 'nl', 'en-us', 'gmw/nl')."""
        self.lang = lang
        """The language spoken when no voice is named."""
        self.binary = binary
        """The espeak-ng executable."""
        self.timeout = timeout
        """Seconds one render may take."""
        self._voice = voice or lang

    @property
    def voice_id(self) -> str:
        """The espeak-ng voice passed to ``-v``."""
        return self._voice

    def render(self, text: str, rate: int, path: Path) -> None:
        """Render ``text`` into ``path`` (text on stdin, so no word is taken for an option)."""
        cmd = [self.binary, "-v", self._voice, "-s", str(rate), "-b", "1", "-w", str(path),
               "--stdin"]
        try:
            proc = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True,
                                  timeout=self.timeout, check=False)
        except FileNotFoundError as exc:
            raise RenderError(f"{self.binary} not found; install the espeak-ng package") from exc
        except subprocess.TimeoutExpired as exc:
            raise RenderTimeout(f"{self.binary} took longer than {self.timeout:g} s") from exc
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", errors="replace").strip()
            raise RenderError(f"{self.binary} failed ({proc.returncode}): {err}")
        check_wav(path)

    def close(self) -> None:
        """Nothing to release: every render is its own process."""


# --- the speaker ----------------------------------------------------------------------------


class VoiceSpeaker:
    """The live :class:`~assistant.ports.Speaker`: renders (cached), normalises and plays.

    ``renderers`` are tried in order; one that fails is given up for the session and the next
    takes over, announced once, when it first speaks, through ``on_notice`` (key
    ``tts_fallback_<name>``, or ``tts_fallback_text`` when none is left). Without a working
    output the text goes to
    ``print_fn`` (notice ``audio_output_missing`` / ``audio_output_lost``). Notices are delivered
    on the thread that called :meth:`say` or :meth:`chime`, before the prompt itself, and never
    while a lock is held, so the callback may itself call :meth:`say`.
    """

    def __init__(self, renderers: Sequence[Renderer], output: PcmOutput | None,
                 cache: RenderCache, *, rate: int = DEFAULT_RATE,
                 on_notice: Callable[[str], None] | None = None,
                 print_fn: Callable[[str], None] = print,
                 target_dbfs: float = TARGET_DBFS,
                 voicebank: VoiceBank | None = None) -> None:
        """Speak with ``renderers`` (best first) through ``output`` (None: print only);
        a sentence recorded in ``voicebank`` (a coach's own voice) is played instead."""
        self.voicebank = voicebank
        """Recorded prompts that replace synthesized ones (None: all synthesized)."""
        self._recorded: dict[str, bytes | None] = {}
        self.renderers = list(renderers)
        """The renderers, best first."""
        self.output = output
        """Where audio goes; None or a failed output means printed text."""
        self.cache = cache
        """The disk cache of rendered prompts."""
        self.base_rate = rate
        """Words per minute at pace 1.0."""
        self.target_dbfs = target_dbfs
        """Loudness speech is normalised to."""
        self.renders = 0
        """How many times a renderer actually ran (cache misses that rendered)."""
        self._on_notice = on_notice or (lambda key: _LOGGER.warning("speech notice: %s", key))
        self._print = print_fn
        self._pace = 1.0
        self._lock = threading.Lock()
        self._failed: set[int] = set()
        self._inflight: dict[str, Future] = {}
        self._notices_sent: set[str] = set()
        self._notices_due: list[str] = []
        self._output_failed = output is None
        self._prepared: list[str] = []
        self._preparer = OwnerThread("samenspraak-tts-prepare")
        self._prep_pending = 0
        self._prep_idle = threading.Event()
        self._prep_idle.set()
        self._closed = False
        self._cuts = 0  # how often interrupt() was called: a cut during rendering is seen

    # --- Speaker protocol ---------------------------------------------------------------

    def say(self, text: str, keep: bool = True) -> None:
        """Speak ``text``, return once heard (or printed); ``keep`` False: cache none of it."""
        text = text.strip()
        if not text:
            return
        cuts = self._cuts
        pcm = None if self._output_failed else (self._recording(text, keep)
                                                 or self.pcm_for(text, keep))
        self._deliver_notices()
        if self._cuts != cuts or (pcm is not None and self._play(pcm)):  # cut meanwhile, or heard
            return
        self._print(text)

    def chime(self, chime: Chime) -> None:
        """Play a chime (nothing when there is no working output)."""
        if not self._output_failed:
            self._play(chime_pcm(chime))
        self._deliver_notices()

    def _recording(self, text: str, keep: bool = True) -> bytes | None:
        """The coach's recording of ``text`` at speech loudness, if any (none if not ``keep``)."""
        if self.voicebank is None or not keep:
            return None
        if text not in self._recorded:
            path = self.voicebank.path(text)
            try:
                self._recorded[text] = normalise_wav(path, self.target_dbfs) \
                    if path.is_file() else None
            except RenderError as exc:  # damaged: the synthesized sentence takes over
                _LOGGER.warning("cannot use the recording %s: %s", path, exc)
                self._recorded[text] = None
        return self._recorded[text]

    def play_file(self, path: str, text: str) -> None:
        """Play a recording (the couple's own voice) at the speech loudness; print ``text``
        where it cannot be played."""
        try:
            pcm = normalise_wav(Path(path), self.target_dbfs)
        except RenderError as exc:  # gone or damaged: the words still come across as text
            _LOGGER.warning("cannot play the recording %s: %s", path, exc)
            pcm = None
        if pcm is not None and not self._output_failed and self._play(pcm):
            return
        self._print(text)

    def set_pace(self, factor: float) -> None:
        """Speak at ``factor`` times the base rate from now on (clamped to :data:`PACE_LIMITS`).

        Prompts handed to :meth:`prepare` are rendered again at the new rate in the background.
        """
        low, high = PACE_LIMITS
        factor = min(high, max(low, float(factor)))
        old_rate = self.rate
        self._pace = factor
        _LOGGER.info("pace %.2f (%d words per minute)", self.pace, self.rate)
        if self.rate != old_rate and self._prepared:
            self._enqueue_prepare(self._prepared)

    def interrupt(self) -> None:
        """Cut the prompt or chime that plays now, or the one being rendered, short."""
        self._cuts += 1
        if self.output is not None:
            self.output.interrupt()

    def is_audible(self) -> bool:
        """True while the output is playing a prompt or a chime; False without an output."""
        return self.output is not None and self.output.is_playing()

    def prepare(self, texts: Iterable[str]) -> None:
        """Render ``texts`` in the background so they are ready before they are needed."""
        wanted = [t.strip() for t in texts if t.strip()]
        if not self._prepared and isinstance(self.output, AudioOutput):
            self.output.open_soon()  # the session starts: let the device wake up meanwhile
        self._prepared = list(dict.fromkeys([*self._prepared, *wanted]))
        self._enqueue_prepare(wanted)

    def close(self) -> None:
        """Stop preparing, release the renderers and the output; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        dropped = self._preparer.cancel_pending()  # what was not rendered yet is not needed
        self._prepared_done(dropped)
        self._preparer.close(timeout=30.0)
        for renderer in self.renderers:
            renderer.close()
        if self.output is not None:
            self.output.close()

    # --- extras -----------------------------------------------------------------------------

    @property
    def pace(self) -> float:
        """The current pace factor (1.0 at the start)."""
        return self._pace

    @property
    def rate(self) -> int:
        """The current speaking rate in words per minute."""
        return round(self.base_rate * self.pace)

    def wait_prepared(self, timeout: float | None = None) -> bool:
        """Wait until every prompt handed to :meth:`prepare` is rendered; False on timeout."""
        return self._prep_idle.wait(timeout)

    def pcm_for(self, text: str, keep: bool = True) -> bytes | None:
        """The prompt as normalised PCM at :data:`SAMPLE_RATE`, from the cache or rendered now.

        None when no renderer works. Safe to call from several threads: a prompt being rendered
        elsewhere is waited for, never rendered twice.
        """
        rate = self.rate
        for index, renderer in enumerate(self.renderers):
            if index in self._failed:
                continue
            try:
                key = self.cache.key(renderer.name, renderer.voice_id, rate, text)
            except RenderError as exc:
                self._give_up(index, exc)
                continue
            with self._lock:
                pending = self._inflight.get(key)
                mine = pending is None
                if mine:
                    pending = self._inflight[key] = Future()
            if not mine:
                try:
                    pcm = pending.result()
                except RenderError:
                    continue  # the other caller already gave that renderer up
                if index > 0:
                    self._note(f"tts_fallback_{renderer.name}")
                return pcm
            try:
                pcm = self.cache.get(key) if keep else None
                if pcm is None:
                    pcm = self._render(renderer, text, rate, key, keep)
            except RenderError as exc:
                self._give_up(index, exc)
                pending.set_exception(exc)
                continue
            except BaseException as exc:  # unexpected: waiters must not hang, the caller sees it
                pending.set_exception(exc)
                raise
            else:
                pending.set_result(pcm)
                if index > 0:
                    self._note(f"tts_fallback_{renderer.name}")
                return pcm
            finally:
                with self._lock:
                    self._inflight.pop(key, None)
        self._note(NOTICE_TEXT_ONLY)
        return None

    # --- internals --------------------------------------------------------------------------

    def _render(self, renderer: Renderer, text: str, rate: int, key: str, keep: bool) -> bytes:
        """Render, check, normalise and (with ``keep``) cache one prompt."""
        scratch = self.cache.scratch_path()
        try:
            renderer.render(text, rate, scratch)
            with self._lock:
                self.renders += 1
            pcm = normalise_wav(scratch, self.target_dbfs)
        finally:
            scratch.unlink(missing_ok=True)
        try:
            if keep:
                self.cache.put(key, pcm)
        except OSError as exc:  # a full or read-only disk costs speed, not speech
            _LOGGER.warning("cannot write the speech cache: %s", exc)
        return pcm

    def _give_up(self, index: int, exc: Exception) -> None:
        """Stop using renderer ``index`` for the rest of the session."""
        with self._lock:
            if index in self._failed:
                return
            self._failed.add(index)
        _LOGGER.warning("speech renderer %s failed: %s", self.renderers[index].name, exc)

    def _play(self, pcm: bytes) -> bool:
        """Play ``pcm``; False (and text mode from now on) when the output fails."""
        if self.output is None or self._output_failed:
            return False
        try:
            self.output.play(pcm, SAMPLE_RATE)
        except AudioOutputError as exc:
            _LOGGER.warning("%s", exc)
            self._output_failed = True
            missing = isinstance(exc, NoOutputDevice)
            self._note(NOTICE_OUTPUT_MISSING if missing else NOTICE_OUTPUT_LOST)
            self._deliver_notices()
            return False
        return True

    def _note(self, key: str) -> None:
        """Queue notice ``key`` unless it was given before."""
        with self._lock:
            if key in self._notices_sent:
                return
            self._notices_sent.add(key)
            self._notices_due.append(key)

    def _deliver_notices(self) -> None:
        """Hand queued notices to ``on_notice`` (on the calling thread, outside the lock)."""
        with self._lock:
            due, self._notices_due = self._notices_due, []
        for key in due:
            self._on_notice(key)

    def _enqueue_prepare(self, texts: Iterable[str]) -> None:
        """Queue ``texts`` for the background preparer (renderers keep their own threads)."""
        if self._closed:
            return
        for text in texts:
            with self._lock:
                self._prep_pending += 1
                self._prep_idle.clear()
            try:
                self._preparer.submit(lambda text=text: self._prepare_one(text))
            except WorkerClosed:  # close() came in between: nothing to prepare for
                self._prepared_done(1)
                return

    def _prepare_one(self, text: str) -> None:
        """On the preparer: render one prompt into the cache (or load the coach's recording of
        it, which is what will be played)."""
        try:
            if self._recording(text) is None:
                self.pcm_for(text)
        except Exception:  # a preparation failure must never end the preparer
            _LOGGER.exception("preparing a prompt failed")
        finally:
            self._prepared_done(1)

    def _prepared_done(self, count: int) -> None:
        """``count`` queued preparations are over (done or dropped)."""
        if not count:
            return
        with self._lock:
            self._prep_pending -= count
            if self._prep_pending <= 0:
                self._prep_pending = 0
                self._prep_idle.set()


def build_voice_speaker(lang: str, *, voice: str | None = None, rate: int | None = None,
                        device: str | int | None = None, cache_dir: Path,
                        on_notice: Callable[[str], None] | None = None,
                        print_fn: Callable[[str], None] = print,
                        voicebank: VoiceBank | None = None) -> VoiceSpeaker:
    """The usual live speaker: pyttsx3, then espeak-ng, then text; one warm output stream.

    ``cache_dir`` is where rendered prompts are kept; the caller (the CLI) decides it.
    """
    return VoiceSpeaker(
        [Pyttsx3Renderer(lang, voice), EspeakRenderer(lang, voice)],
        AudioOutput(device), RenderCache(cache_dir), rate=rate or DEFAULT_RATE,
        on_notice=on_notice, print_fn=print_fn, voicebank=voicebank)
