"""Speech recognizers behind the :class:`assistant.ports.Recognizer` protocol.

Two engines, both offline:

* :class:`VoskRecognizer` — the main recognizer; a vosk model is loaded by path only.
* :class:`PocketsphinxRecognizer` — the zero-download fallback; the pocketsphinx wheel carries
  a US English acoustic model. Dutch commands can be recognised with a small dictionary that
  spells them in English phones (``assistant/data/nl-pocketsphinx.dict``).

Wherever phrases are given, recognition is restricted to them plus an "unknown" path, and the
result is either one of the phrases, a text containing ``[unk]`` (something else was said) or
'' (nothing was understood). :func:`load_recognizer` picks the best engine available and
returns notice keys for the session to speak; :func:`recognize_pcm` feeds a whole recording
through the same streaming path a live session uses.

Recognizers are not thread-safe: one owner thread calls ``start``/``accept``/``finish``.
"""

from __future__ import annotations

import json
import logging
import math
import mmap
import re
import struct
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from assistant.audio import chunks
from assistant.ports import Recognizer

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE = 16000
"""The rate both engines are fed at, in Hz."""
UNKNOWN = "[unk]"
"""The token standing for speech outside the expected phrases."""
MODEL_ENV = "SAMENSPRAAK_MODEL"
"""The environment variable naming a vosk model folder."""
PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The folder holding ``assistant/`` and ``models/``."""
DUTCH_DICTIONARY = Path(__file__).resolve().parent / "data" / "nl-pocketsphinx.dict"
"""Dutch command words spelled in the phones of the pocketsphinx en-us model."""
DUTCH_POCKETSPHINX_DEFAULT = False
"""Whether :func:`load_recognizer` falls back to pocketsphinx for Dutch by default."""

NOTICE_NO_MODEL = "asr_no_model_{lang}"
"""Notice key: no vosk model for the language; says how to install one."""
NOTICE_MODEL_CORRUPT = "asr_model_corrupt"
"""Notice key: a vosk model was found but could not be loaded."""
NOTICE_POCKETSPHINX = "asr_pocketsphinx_fallback"
"""Notice key: listening with the small built-in recognizer (commands only)."""
NOTICE_NO_RECOGNIZER = "asr_keys_only"
"""Notice key: no recognizer at all; voice activity, timers and keys only."""

_CACHE_SIZE = 16
"""How many grammar-restricted recognizers/searches each engine keeps ready."""
_CHUNK_MS = 20
"""The chunk length :func:`recognize_pcm` feeds, like a live audio stream."""

# The 39 phones of the CMU en-us acoustic model; single-phone "words" built from them form the
# garbage loop that absorbs speech outside the expected phrases.
_EN_US_PHONES = (
    "AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH "
    "UH UW V W Y Z ZH"
).split()
_GARBAGE_PREFIX = "gb_"
# Per language: the weight of entering the garbage loop against a command, and the cost of each
# further garbage phone. Tuned on synthesized speech for the fewest false commands at a small
# loss of accuracy (tests/test_asr.py measures both).
_GARBAGE_WEIGHTS = {"en": (1e-8, 1e-3), "nl": (1e-4, 1e-3)}

_WARM_SECONDS = 10.0
"""How much audio pocketsphinx hears before it trusts its running cepstral mean."""
_COLD_BUFFER_SECONDS = 4.0
"""The most audio of one utterance buffered for the cold-start pass."""
_COMMAND_MAX_SECONDS = 6.0
"""The longest utterance pocketsphinx decodes under a grammar: a longer one is no command.

pocketsphinx's search memory grows by about 2 MB per second of one utterance and the
allocator keeps the high-water mark: a minute of talk in a speaking turn took 150 MB that
never came back (117 → 255 MB in the benchmark's 2-hour run). Past this length decoding stops
and the utterance is heard as something else, which also spares the CPU."""
_FREE_SEGMENT_SECONDS = 15.0
"""Free speech is decoded in pieces of at most this long, for the same reason."""
POCKETSPHINX_MIN_SCORE = {"en": -0.0050, "nl": -0.0045}
"""Per language: the least mean acoustic score per frame of a command's words (natural log,
relative to the best-scoring sound of each frame, so 0 at best); below it, unknown.

Chosen on espeak-ng speech (4 voices, 2 speeds, clean/20/10 dB; 1,184 English and 1,272 Dutch
command trials) against prose pieces the grammar forced onto a command. English at -0.0050
keeps 95.0 % of the commands heard right and rejects 18 of 35 such prose pieces (-0.0045: 87.5 %
kept, 26 rejected). Dutch (the English phones of pocketsphinx-nl score lower) at -0.0045 keeps
90.8 % and rejects 6 of 48, among them the benchmark's one false command ('volgende', -0.0047).
"""

_PHRASE_JUNK = re.compile(r"[^\w'\- ]+")

VOSK_MIN_CONFIDENCE = 0.35
"""A command word vosk is less sure of than this (its ``conf``, 0..1) counts as unknown.

Measured on the small Korean model (espeak-ng voices): commands heard right scored 0.37 and
up, prose forced onto a command 0.54 and up (mostly 1.0): confidence hardly separates them
there, so this is only a floor under the fillers below, which do the separating."""
_FILLER_COUNT = 100
"""How many of a model's short words stand in for ``[unk]`` when the model lacks it.

On the Korean model: 50 fillers kept 23/48 commands and let 8 of 144 prose pieces through as
commands, 100 kept 18/48 with none through, 200 kept 17/48 with 2 through."""
_FILLER_MAX_CHARS = 3


class ModelMissing(Exception):
    """No vosk model where one was expected."""


class ModelCorrupt(Exception):
    """A vosk model folder exists but cannot be loaded."""


# --- phrases and results ----------------------------------------------------------------------


def normalize_phrase(phrase: str) -> str:
    """Lower-case ``phrase``, drop punctuation other than ' and -, and collapse spaces."""
    cleaned = _PHRASE_JUNK.sub(" ", phrase.lower().replace("’", "'"))
    return " ".join(cleaned.split())


def _unique_phrases(phrases: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for phrase in phrases:
        norm = normalize_phrase(phrase)
        if norm and norm != UNKNOWN:
            seen.setdefault(norm, None)
    return tuple(seen)


def clean_result(words: Iterable[str]) -> str:
    """Join recognised words; runs of unknown collapse to one ``[unk]``, unknown only gives ''."""
    out: list[str] = []
    for word in words:
        if word == UNKNOWN and out and out[-1] == UNKNOWN:
            continue
        out.append(word)
    if all(word == UNKNOWN for word in out):
        return ""
    return " ".join(out)


# --- vosk ------------------------------------------------------------------------------------


def _missing_message(path: Path | None, lang: str | None = None) -> str:
    where = f"models/{lang}/" if lang else "models/<lang>/"
    found = f"No vosk model at {path}. " if path is not None else "No vosk model found. "
    return (
        f"{found}Unpack a vosk model into {where} (or pass --model PATH, or set {MODEL_ENV}); "
        "models/README.md says which model to get and how to verify it."
    )


def resolve_vosk_model(path: Path, lang: str | None = None) -> Path:
    """Return the folder that really holds the model files at or just below ``path``.

    A model unpacked as ``models/nl/vosk-model-small-nl-0.22/`` is found from ``models/nl``.
    Raises :class:`ModelMissing` when there is nothing, :class:`ModelCorrupt` when the folder
    holds something that is not a complete vosk model.
    """
    path = Path(path)
    if not path.exists():
        raise ModelMissing(_missing_message(path, lang))
    if not path.is_dir():
        raise ModelCorrupt(f"{path} is a file, not a vosk model folder (unpack the archive)")
    entries = [p for p in path.iterdir() if not p.name.startswith(".")]
    if not entries:
        raise ModelMissing(_missing_message(path, lang))
    if not _looks_like_model(path):
        nested = [p for p in entries if p.is_dir() and _looks_like_model(p)]
        if len(nested) == 1:
            path = nested[0]
    problems = _vosk_layout_problems(path)
    if problems:
        raise ModelCorrupt(
            f"{path} is not a complete vosk model ({'; '.join(problems)}); "
            "unpack it again as described in models/README.md"
        )
    return path


def _looks_like_model(path: Path) -> bool:
    return (path / "am").is_dir() or (path / "final.mdl").exists()


def _vosk_layout_problems(path: Path) -> list[str]:
    """What is missing from ``path`` in either vosk layout (``am/ conf/ graph/`` or flat)."""

    def present(*names: str) -> bool:
        return any((path / name).is_file() for name in names)

    problems = []
    if not present("am/final.mdl", "final.mdl"):
        problems.append("am/final.mdl is missing")
    if not present("conf/mfcc.conf", "mfcc.conf"):
        problems.append("conf/mfcc.conf is missing")
    if not present("graph/HCLG.fst", "graph/HCLr.fst", "HCLG.fst", "HCLr.fst"):
        problems.append("graph/HCLG.fst or graph/HCLr.fst is missing")
    return problems


class VoskRecognizer:
    """Recognises with a vosk model loaded from a folder, grammar-restricted where asked."""

    name = "vosk"
    free_speech = True
    """Whether ``start(None)`` recognises free speech."""

    def __init__(
        self, model_path: str | Path, sample_rate: int = SAMPLE_RATE, lang: str | None = None
    ) -> None:
        """Load the model at ``model_path``; raises :class:`ModelMissing`/:class:`ModelCorrupt`.

        ``lang`` only serves messages (where a missing model should go).
        """
        path = resolve_vosk_model(Path(model_path), lang)
        import vosk

        vosk.SetLogLevel(-1)
        self._vosk = vosk
        self.sample_rate = sample_rate
        self.model_path = path
        started = time.perf_counter()
        try:
            self._model = vosk.Model(str(path))
        except Exception as exc:  # vosk raises a bare Exception when the model does not load
            raise ModelCorrupt(
                f"vosk could not load the model at {path} ({exc}); "
                "unpack it again as described in models/README.md"
            ) from exc
        self.supports_grammar = any(
            (path / name).is_file() for name in ("graph/HCLr.fst", "HCLr.fst")
        )
        """Whether the model can be restricted to phrases (small models can, big ones cannot)."""
        self._free: Any = None
        self._grammars: OrderedDict[tuple[str, ...], Any] = OrderedDict()
        self._known: dict[str, bool] = {}
        self._warned: set[str] = set()
        self._current: Any = None
        self._command_words: frozenset[str] | None = None
        self._parts: list[str] = []
        self.has_unknown = self._knows(UNKNOWN)
        """Whether the model has the ``[unk]`` word; without it, fillers stand in for it."""
        # Read here, with the model, not when the first grammar is needed: on the small Korean
        # model that takes 0.7 s, which would hold up the microphone thread mid-session.
        needs_fillers = self.supports_grammar and not self.has_unknown
        self._fillers: tuple[str, ...] = filler_words(path) if needs_fillers else ()
        if needs_fillers and not self._fillers:
            _LOGGER.warning("vosk model %s has no [unk] word and no readable word list; every "
                            "sound is heard as one of the phrases", path)
        self.load_seconds = time.perf_counter() - started
        """How long loading the model (and its stand-in fillers) took, in seconds."""
        self.min_confidence = VOSK_MIN_CONFIDENCE
        """Command words heard with less confidence than this count as unknown."""
        _LOGGER.info("vosk model %s loaded in %.2f s", path, self.load_seconds)

    def start(self, phrases: Sequence[str] | None) -> None:
        """Begin an utterance, restricted to ``phrases`` plus unknown (None: free speech)."""
        self._parts = []
        if phrases is not None and not self.supports_grammar:
            if "grammar" not in self._warned:
                self._warned.add("grammar")
                _LOGGER.warning(
                    "vosk model %s has no runtime graph; it hears free speech", self.model_path
                )
            phrases = None
        if phrases is None:
            if self._free is None:
                self._free = self._vosk.KaldiRecognizer(self._model, self.sample_rate)
            self._current = self._free
            self._command_words = None
        else:
            key = self._usable(_unique_phrases(phrases))
            recognizer = self._grammars.get(key)
            if recognizer is None:
                grammar = json.dumps([*key, *self._garbage(key)], ensure_ascii=False)
                recognizer = self._vosk.KaldiRecognizer(self._model, self.sample_rate, grammar)
                recognizer.SetWords(True)
                self._grammars[key] = recognizer
                if len(self._grammars) > _CACHE_SIZE:
                    self._grammars.popitem(last=False)
            else:
                self._grammars.move_to_end(key)
            self._current = recognizer
            self._command_words = frozenset(word for phrase in key for word in phrase.split())
        self._current.Reset()

    def accept(self, pcm: bytes) -> None:
        """Feed audio; a segment vosk closes on its own is kept for :meth:`finish`."""
        if self._current is None:
            raise RuntimeError("accept() before start()")
        if self._current.AcceptWaveform(pcm):
            self._parts.extend(self._words(self._current.Result()))

    def partial(self) -> str:
        """The utterance so far (vosk's partial result, before any confidence check); ''
        before start. A word outside the phrases stays in it, so it then matches no phrase."""
        if self._current is None:
            return ""
        words = json.loads(self._current.PartialResult()).get("partial", "").split()
        return clean_result([*self._parts, *words])

    def finish(self) -> str:
        """End the utterance and return the text ('' when nothing was understood).

        Under a grammar, a word outside the phrases (a filler standing in for ``[unk]``) or a
        phrase word heard with less than :attr:`min_confidence` becomes ``[unk]``: the result
        is then no command, and a session treats it as something else said.
        """
        if self._current is None:
            raise RuntimeError("finish() before start()")
        self._parts.extend(self._words(self._current.FinalResult()))
        self._current = None
        return clean_result(self._parts)

    def _words(self, result_json: str) -> list[str]:
        """The words of a vosk result; under a grammar, doubtful ones become ``[unk]``."""
        result = json.loads(result_json)
        if self._command_words is None:
            return result.get("text", "").split()
        return [
            word["word"]
            if word["word"] in self._command_words and word.get("conf", 1.0) >= self.min_confidence
            else UNKNOWN
            for word in result.get("result", [])
        ]

    def _garbage(self, phrases: tuple[str, ...]) -> tuple[str, ...]:
        """What a grammar accepts besides ``phrases``: ``[unk]``, or fillers where it is missing.

        A model without ``[unk]`` (the small Korean one, for instance) would force every sound
        onto a phrase. Its shortest words, spread over its vocabulary, then absorb speech that
        is no phrase; :meth:`_words` turns them into ``[unk]``.
        """
        if self.has_unknown:
            return (UNKNOWN,)
        used = {word for phrase in phrases for word in phrase.split()}
        return tuple(word for word in self._fillers if word not in used)

    def _usable(self, phrases: tuple[str, ...]) -> tuple[str, ...]:
        """Drop phrases with words the model does not know (vosk would ignore those words)."""
        usable = []
        for phrase in phrases:
            missing = [word for word in phrase.split() if not self._knows(word)]
            if missing:
                if phrase not in self._warned:
                    self._warned.add(phrase)
                    _LOGGER.warning(
                        "vosk model lacks %s; phrase %r is not recognised", missing, phrase
                    )
                continue
            usable.append(phrase)
        return tuple(usable)

    def _knows(self, word: str) -> bool:
        known = self._known.get(word)
        if known is None:
            known = self._model.vosk_model_find_word(word) >= 0
            self._known[word] = known
        return known


def filler_words(model_path: Path, count: int = _FILLER_COUNT) -> tuple[str, ...]:
    """Up to ``count`` short words of a vosk model, spread evenly over its vocabulary.

    The vocabulary comes from ``graph/words.txt`` or else from the symbol table inside
    ``graph/Gr.fst`` (or ``HCLG.fst``); () when neither can be read.
    """
    words: list[str] = []
    for name in ("graph/words.txt", "words.txt"):
        if (model_path / name).is_file():
            with (model_path / name).open(encoding="utf-8", errors="replace") as lines:
                words = [line.split(maxsplit=1)[0] for line in lines if line.strip()]
            break
    else:
        for name in ("graph/Gr.fst", "Gr.fst", "graph/HCLG.fst", "HCLG.fst"):
            if (model_path / name).is_file():
                words = _fst_output_symbols(model_path / name)
                break
    usable = [word for word in words if word.isalpha() and word == word.lower()]
    # The shortest words that make up ``count``: one syllable of Korean, two or three letters
    # of Dutch. Longer fillers would swallow short commands whole.
    short: list[str] = []
    for length in range(1, _FILLER_MAX_CHARS + 1):
        short = [word for word in usable if len(word) <= length]
        if len(short) >= count:
            break
    if len(short) <= count:
        return tuple(short)
    step = len(short) / count
    return tuple(short[int(i * step)] for i in range(count))


_FST_MAGIC = 2125659606
_SYMBOLS_MAGIC = 2125658996


def _fst_output_symbols(path: Path) -> list[str]:
    """The output symbols (words) stored in an OpenFst binary file, [] when it holds none."""
    try:
        # Mapped, not read: the symbol tables come first, so only their pages are touched
        # (a model's Gr.fst is tens of MB, nearly all of it arcs).
        with path.open("rb") as stream, mmap.mmap(stream.fileno(), 0,
                                                  access=mmap.ACCESS_READ) as data:
            return _symbol_tables(data)
    except (OSError, ValueError, struct.error) as exc:  # unreadable, empty or cut short
        _LOGGER.warning("cannot read the words of %s: %s", path, exc)
        return []


def _string(data: mmap.mmap, at: int) -> tuple[str, int]:
    """The length-prefixed string at ``at`` of an OpenFst file, and where the next thing starts."""
    (size,) = struct.unpack_from("<i", data, at)
    return data[at + 4:at + 4 + size].decode("utf-8", errors="replace"), at + 4 + size


def _symbol_tables(data: mmap.mmap) -> list[str]:
    """The output (else input) symbols of the OpenFst file mapped at ``data``; [] if none."""
    (magic,) = struct.unpack_from("<i", data, 0)
    if magic != _FST_MAGIC:
        return []
    _kind, at = _string(data, 4)
    _arc, at = _string(data, at)
    _version, flags = struct.unpack_from("<ii", data, at)
    at += 8 + 8 + 3 * 8  # properties, start, number of states, number of arcs
    tables = []
    for bit in (1, 2):  # the input symbols, then the output symbols
        if not flags & bit:
            tables.append([])
            continue
        (magic,) = struct.unpack_from("<i", data, at)
        if magic != _SYMBOLS_MAGIC:
            return []
        _name, at = _string(data, at + 4)
        _available, size = struct.unpack_from("<qq", data, at)
        at += 16
        symbols = []
        for _ in range(size):
            symbol, at = _string(data, at)
            symbols.append(symbol)
            at += 8
        tables.append(symbols)
    return tables[1] or tables[0]


# --- pocketsphinx ----------------------------------------------------------------------------


class PocketsphinxRecognizer:
    """Recognises with the pocketsphinx en-us model that ships inside its wheel.

    ``lang='en'`` uses the CMU dictionary and, for free speech, the bundled language model.
    ``lang='nl'`` uses the Dutch command dictionary and recognises only given phrases; free
    speech then yields ''. ``dictionary`` replaces the dictionary of either language.
    """

    def __init__(
        self,
        lang: str = "en",
        dictionary: str | Path | None = None,
        sample_rate: int = SAMPLE_RATE,
        garbage: tuple[float, float] | None = None,
    ) -> None:
        """Load the acoustic model and dictionary (about a third of a second).

        ``garbage`` (entry weight, weight per further phone) replaces the language's garbage
        path weights (:data:`_GARBAGE_WEIGHTS`), for measuring others."""
        if lang not in ("en", "nl"):
            raise ValueError(f"pocketsphinx supports 'en' and 'nl' (commands only), not {lang!r}")
        from pocketsphinx import Decoder

        self.lang = lang
        self.sample_rate = sample_rate
        self.name = "pocketsphinx" if lang == "en" else "pocketsphinx-nl"
        self.free_speech = lang == "en"
        """Whether ``start(None)`` recognises free speech (Dutch: commands only)."""
        options: dict[str, Any] = {
            "loglevel": "FATAL",
            "samprate": sample_rate,
            # The lattice best-path pass loses most words of short grammar utterances;
            # the first-pass result is far more accurate here.
            "bestpath": False,
            "topn": 8,
        }
        # The language model is only needed for free speech; it is loaded when first asked
        # for (it is about a fifth of the recognizer's memory).
        options["lm"] = None
        if lang == "nl":
            options["dict"] = str(dictionary or DUTCH_DICTIONARY)
        elif dictionary is not None:
            options["dict"] = str(dictionary)
        started = time.perf_counter()
        try:
            self._decoder = Decoder(**options)
        except (RuntimeError, ValueError) as exc:  # a bad dictionary or model path
            raise RuntimeError(f"pocketsphinx could not start: {exc}") from exc
        # Asking a decoder without any search for its current search crashes pocketsphinx,
        # so the active search is tracked here.
        self._free_search: str | None = None
        self._active_search: str | None = None
        for phone in _EN_US_PHONES:
            # Only grammars built later use these words: updating the language model search
            # for each one would cost a tenth of a second apiece.
            self._decoder.add_word(_GARBAGE_PREFIX + phone.lower(), phone, False)
        self.load_seconds = time.perf_counter() - started
        """How long loading the model and dictionary took, in seconds."""
        self._searches: OrderedDict[tuple[str, ...], str] = OrderedDict()
        self._serial = 0
        self._warned: set[str] = set()
        self._listening = False
        self._started = False
        # Until enough audio has been heard, the channel's cepstral mean is unknown and the
        # model's default is far off; each command utterance is then buffered and decoded
        # twice (see _start_cold()). Afterwards audio is decoded as it arrives.
        self._heard_bytes = 0
        self._warm_bytes = int(_WARM_SECONDS * sample_rate) * 2
        self._cold_limit_bytes = int(_COLD_BUFFER_SECONDS * sample_rate) * 2
        self._pending: bytearray | None = None
        self._command_limit = int(_COMMAND_MAX_SECONDS * sample_rate) * 2
        self._segment_limit = int(_FREE_SEGMENT_SECONDS * sample_rate) * 2
        self._utterance_bytes = 0
        self._free_words: list[str] = []
        self._overlong = False
        self._grammar_on = False
        self.garbage = garbage or _GARBAGE_WEIGHTS[lang]
        """The garbage path's weights: entering it instead of a command, and each further phone."""
        self.min_score = POCKETSPHINX_MIN_SCORE[lang]
        """A command scoring less than this (see :meth:`_verify`) counts as unknown."""
        self.last_score: float | None = None
        """The score of the last command heard (None: no command or not checked)."""
        _LOGGER.info("pocketsphinx (%s) loaded in %.2f s", lang, self.load_seconds)

    @property
    def warm(self) -> bool:
        """Whether enough audio has been heard to trust the running cepstral mean: from then
        on a command utterance is decoded as it arrives instead of buffered and decoded twice."""
        return self._heard_bytes >= self._warm_bytes

    def start(self, phrases: Sequence[str] | None) -> None:
        """Begin an utterance, restricted to ``phrases`` plus unknown (None: free speech)."""
        if self._started:  # the previous utterance was abandoned: close it unheard
            self._started = False
            if self._listening and self._pending is None:
                self._decoder.end_utt()
            self._listening = False
        self._pending = None
        self._grammar_on = phrases is not None
        self._utterance_bytes = 0
        self._free_words = []
        self._overlong = False
        if phrases is None:
            search = self._free_language_model()
            if search is None and "free" not in self._warned:
                self._warned.add("free")
                _LOGGER.warning("pocketsphinx recognises Dutch commands only, not free speech")
        else:
            search = self._grammar_search(_unique_phrases(phrases))
        self._started = True
        self._listening = search is not None
        if search is not None:
            if self._active_search != search:
                self._decoder.activate_search(search)
                self._active_search = search
            if phrases is not None and not self.warm:
                self._pending = bytearray()
            else:
                self._decoder.start_utt()

    def accept(self, pcm: bytes) -> None:
        """Feed audio of the current utterance."""
        if not self._started:
            raise RuntimeError("accept() before start()")
        if not self._listening or not pcm:
            return
        self._heard_bytes += len(pcm)
        self._utterance_bytes += len(pcm)
        if self._grammar_on:
            if self._overlong:
                return
            if self._utterance_bytes > self._command_limit:
                self._stop_overlong()
                return
        elif self._utterance_bytes > self._segment_limit:
            self._next_free_segment()
        if self._pending is not None:
            self._pending += pcm
            if len(self._pending) >= self._cold_limit_bytes:
                # Too long for a command: settle the mean now and go on as audio arrives.
                self._start_cold(bytes(self._pending))
                self._pending = None
        else:
            self._decoder.process_raw(pcm, False, False)

    def partial(self) -> str:
        """The first-pass hypothesis so far; '' while a cold utterance is still buffered."""
        if not self._started or not self._listening or self._pending is not None:
            return ""
        if self._overlong:  # too long for a command: nothing decoded any more
            return ""
        hyp = self._decoder.hyp()
        if hyp is None:
            return ""
        return clean_result(
            UNKNOWN if word.startswith(_GARBAGE_PREFIX) else word for word in hyp.hypstr.split())

    def finish(self) -> str:
        """End the utterance and return the text ('' when nothing was understood)."""
        if not self._started:
            raise RuntimeError("finish() before start()")
        self._started = False
        if not self._listening:
            return ""
        self._listening = False
        self.last_score = None
        if self._overlong:
            return UNKNOWN
        if self._pending is not None:
            self._start_cold(bytes(self._pending))
            self._pending = None
        self._decoder.end_utt()
        hyp = self._decoder.hyp()
        words = self._free_words + [
            UNKNOWN if word.startswith(_GARBAGE_PREFIX) else word
            for word in (hyp.hypstr.split() if hyp is not None else ())
        ]
        text = clean_result(words)
        if self._grammar_on and text and UNKNOWN not in words:
            self.last_score = self._verify()
            if self.last_score < self.min_score:
                _LOGGER.debug("%r scores %.0f, below %.0f: unknown", text, self.last_score,
                              self.min_score)
                return UNKNOWN
        return text

    def _stop_overlong(self) -> None:
        """Stop decoding an utterance under a grammar that has grown too long for a command."""
        self._overlong = True
        if self._pending is not None:
            self._pending = None
        else:
            self._decoder.end_utt()

    def _next_free_segment(self) -> None:
        """Close the free-speech piece decoded so far, keep its words, and go on with a new one.

        A word said just across the cut may be lost or split; pieces are long, so that is rare.
        """
        self._decoder.end_utt()
        hyp = self._decoder.hyp()
        if hyp is not None:
            self._free_words.extend(hyp.hypstr.split())
        self._utterance_bytes = 0
        self._decoder.start_utt()

    def _verify(self) -> float:
        """How well the command just heard fits its audio: 0 at best, lower is worse.

        pocketsphinx scores each frame against the best-scoring sound of that frame, so a
        word's acoustic score says how far its path fell behind the best any sounds could do
        there. Speech that is no command, forced onto one, falls far behind. The score is the
        mean per frame of the command's words (natural log).
        """
        total, frames = 0.0, 0
        for seg in self._decoder.seg():
            if seg.word.startswith(("<", "(", "[", "+")) or seg.start_frame < 0:
                continue
            total += math.log(max(seg.ascore, 1e-300))
            frames += seg.end_frame - seg.start_frame + 1
        return total / frames if frames else 0.0

    def _start_cold(self, pcm: bytes) -> None:
        """Start decoding an utterance buffered while the channel is still unknown.

        A first pass over the buffered audio measures its cepstral mean; that becomes the
        starting estimate of the live mean, and the utterance is decoded again with it (and
        continues as audio arrives). On synthesized speech this lifts the accuracy of the first
        utterances of a fresh recognizer by about a quarter. Only grammar searches take this
        path, and at most a few seconds of audio, so the extra pass stays cheap.
        """
        if pcm:
            self._decoder.start_utt()
            self._decoder.process_raw(pcm, False, True)
            self._decoder.end_utt()
            self._decoder.set_cmn(self._decoder.get_cmn())
        self._decoder.start_utt()
        if pcm:
            self._decoder.process_raw(pcm, False, False)

    def _free_language_model(self) -> str | None:
        """The free-speech search (English only), loading its language model the first time."""
        if self._free_search is None and self.free_speech:
            from pocketsphinx import get_model_path

            self._decoder.add_lm_file("free", str(Path(get_model_path()) / "en-us" /
                                                  "en-us.lm.bin"))
            self._free_search = "free"
        return self._free_search

    def _grammar_search(self, phrases: tuple[str, ...]) -> str:
        """Return the name of a search for ``phrases``, building and caching it when new."""
        key = self._usable(phrases)
        name = self._searches.get(key)
        if name is not None:
            self._searches.move_to_end(key)
            return name
        self._serial += 1
        name = f"grammar{self._serial}"
        self._decoder.add_jsgf_string(name, _jsgf(key, *self.garbage))
        self._searches[key] = name
        if len(self._searches) > _CACHE_SIZE:
            _old_key, old_name = self._searches.popitem(last=False)
            if old_name != self._active_search:
                self._decoder.remove_search(old_name)
        return name

    def _usable(self, phrases: tuple[str, ...]) -> tuple[str, ...]:
        """Drop phrases with words the dictionary lacks; say so once per phrase."""
        usable = []
        for phrase in phrases:
            missing = [word for word in phrase.split() if self._decoder.lookup_word(word) is None]
            if missing:
                if phrase not in self._warned:
                    self._warned.add(phrase)
                    _LOGGER.warning(
                        "pocketsphinx dictionary (%s) lacks %s; phrase %r is not recognised",
                        self.lang,
                        missing,
                        phrase,
                    )
                continue
            usable.append(phrase)
        return tuple(usable)


def _jsgf(phrases: Sequence[str], garbage: float, per_phone: float) -> str:
    """A JSGF grammar: one of ``phrases``, or a garbage loop of phones for anything else."""
    garbage_phones = " | ".join(_GARBAGE_PREFIX + phone.lower() for phone in _EN_US_PHONES)
    rules = [
        "#JSGF V1.0;",
        "grammar commands;",
        "<phone> = " + garbage_phones + ";",
        f"<garbage> = <phone> ( /{per_phone:g}/ <garbage> | /1/ <NULL> );",
    ]
    if phrases:
        alternatives = " | ".join(f"( {phrase} )" for phrase in phrases)
        rules.append(f"<command> = {alternatives};")
        rules.append(f"public <utterance> = /1/ <command> | /{garbage:g}/ <garbage>;")
    else:
        rules.append("public <utterance> = <garbage>;")
    return "\n".join(rules) + "\n"


# --- finding and loading ---------------------------------------------------------------------


def find_model(
    lang: str,
    explicit: Path | None,
    env: Mapping[str, str],
    *,
    cwd: Path | None = None,
    root: Path | None = None,
) -> Path | None:
    """Return where the vosk model for ``lang`` should be, or None when there is none.

    Order: ``explicit`` (``--model``), ``env[SAMENSPRAAK_MODEL]``, ``models/<lang>/`` under the
    project root, ``models/<lang>/`` under the working directory. An explicit path or the
    environment variable is returned even when it does not exist, so that loading can say what
    is wrong with it; the ``models/`` folders only count when they exist and are not empty.
    """
    if explicit is not None:
        return Path(explicit).expanduser()
    from_env = env.get(MODEL_ENV, "").strip()
    if from_env:
        return Path(from_env).expanduser()
    bases = [root if root is not None else PROJECT_ROOT, cwd if cwd is not None else Path.cwd()]
    for base in bases:
        candidate = Path(base) / "models" / lang
        if candidate.is_dir() and any(p for p in candidate.iterdir() if not p.name.startswith(".")):
            return candidate
    return None


def load_recognizer(
    lang: str,
    model_path: Path | None,
    allow_pocketsphinx: bool = True,
    *,
    dutch_pocketsphinx: bool | None = None,
) -> tuple[Recognizer | None, list[str]]:
    """Load the best recognizer available for ``lang``; never raises for a missing model.

    vosk from ``model_path`` first; else pocketsphinx (English, and Dutch only when
    ``dutch_pocketsphinx`` — default :data:`DUTCH_POCKETSPHINX_DEFAULT` — allows it); else None.
    Returns the recognizer and the notice keys the session should speak, in order.
    """
    notices: list[str] = []
    if model_path is None:
        _LOGGER.warning(_missing_message(None, lang))
        notices.append(NOTICE_NO_MODEL.format(lang=lang))
    else:
        try:
            return VoskRecognizer(model_path, lang=lang), notices
        except ModelMissing as exc:
            _LOGGER.warning("%s", exc)
            notices.append(NOTICE_NO_MODEL.format(lang=lang))
        except ModelCorrupt as exc:
            _LOGGER.error("%s", exc)
            notices.append(NOTICE_MODEL_CORRUPT)
        except ImportError as exc:  # vosk not installed: the fallbacks below still work
            _LOGGER.error("vosk is not installed (pip install vosk): %s", exc)
            notices.append(NOTICE_NO_MODEL.format(lang=lang))
    use_dutch = DUTCH_POCKETSPHINX_DEFAULT if dutch_pocketsphinx is None else dutch_pocketsphinx
    if allow_pocketsphinx and (lang == "en" or (lang == "nl" and use_dutch)):
        try:
            recognizer = PocketsphinxRecognizer(lang)
        except ImportError as exc:  # pocketsphinx not installed: go on without a recognizer
            _LOGGER.error("pocketsphinx is not installed (pip install pocketsphinx): %s", exc)
        except RuntimeError as exc:  # its model or dictionary failed to load
            _LOGGER.error("%s", exc)
        else:
            notices.append(NOTICE_POCKETSPHINX)
            return recognizer, notices
    notices.append(NOTICE_NO_RECOGNIZER)
    return None, notices


def recognize_pcm(
    recognizer: Recognizer,
    pcm: bytes,
    phrases: Sequence[str] | None,
    chunk_ms: int = _CHUNK_MS,
) -> str:
    """Recognise one utterance of 16-bit mono PCM, fed in ``chunk_ms`` chunks like a stream."""
    recognizer.start(phrases)
    for piece in chunks(pcm, max(1, recognizer.sample_rate * chunk_ms // 1000)):
        recognizer.accept(piece)
    return recognizer.finish()
