"""What the sessions really say, measured: short stretches, short sentences, everyday words.

Every built-in exercise runs in both languages through :func:`assistant.simulate.simulate` with a
couple that does every step as asked (``scenarios.happy_scenario``). From the ``say`` events of
the log this measures:

- the longest *stretch*: everything the assistant says between two moments where the couple can
  act (an utterance of theirs is heard), at :data:`WORDS_PER_MINUTE`;
- the average sentence length in words;
- the share of words of three or more syllables (a rough count of vowel groups).

The last two leave out the agreements read back: those are the couple's own words.

Run it as a script to print the figures: ``.venv/bin/python tests/test_content.py``.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from scenarios import WORDS, happy_scenario  # noqa: E402

from assistant.engine.exercises import builtin_ids, find_exercise  # noqa: E402
from assistant.engine.messages import Intent  # noqa: E402
from assistant.engine.texts import LANGUAGES, load_texts  # noqa: E402
from assistant.engine.timing import Timing  # noqa: E402
from assistant.simulate import parse_scenario, simulate  # noqa: E402

WORDS_PER_MINUTE = 150
"""A calm speaking pace for the assistant's voice."""
MAX_STRETCH_SECONDS = 25.0
"""No stretch of speech before the couple can act is longer than this."""
MAX_SENTENCE_WORDS = {"nl": 5.6, "en": 5.8}
"""Average words per sentence, per exercise: the longest on 2026-11-30 (5.7 nl, 6.0 en),
slightly tightened."""
MAX_LONG_WORD_SHARE = {"nl": 0.094, "en": 0.060}
"""Share of words of three or more syllables, per exercise: the highest on 2026-11-30
(9.6 % nl, 6.1 % en), slightly tightened."""

NAMES = ("Anna", "Ben")
_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")
_VOWELS = {"nl": re.compile(r"ij|[aeiouyáàâéèêóôúû]+|[ëïöü]"),
           "en": re.compile(r"[aeiouy]+")}


def syllables(word: str, lang: str) -> int:
    """A rough syllable count: groups of vowels ('ij' one vowel in Dutch; a silent English e)."""
    w = word.lower().replace("'", "").replace("’", "")
    count = len(_VOWELS[lang].findall(w))
    if lang == "en" and count > 1 and (
            (w.endswith("e") and not w.endswith(("le", "ee", "ye")))
            or w.endswith(("es", "ed")) and not w.endswith(("ted", "ded", "ses", "ces", "ges"))):
        count -= 1
    return max(1, count)


@dataclass(frozen=True)
class Figures:
    """What one simulated session said, measured."""

    exercise: str
    lang: str
    stretch_seconds: float
    """The longest stretch of speech before the couple can act."""
    stretch: tuple[str, ...]
    """That stretch's sentences."""
    sentence_words: float
    """Average words per sentence."""
    long_word_share: float
    """Share of words of three or more syllables."""


def happy_events(exercise_id: str, lang: str) -> list[dict]:
    """The event log of ``exercise_id`` with a couple that does everything as asked."""
    ex = find_exercise(exercise_id, lang)
    events: list[dict] = []
    scenario = parse_scenario(happy_scenario(ex, NAMES), "happy.toml")
    simulate(ex, scenario, NAMES, load_texts(lang), Timing(), events.append)
    return events


def measure(exercise_id: str, lang: str) -> Figures:
    """Simulate ``exercise_id`` with a couple that does everything as asked, and measure it."""
    events = happy_events(exercise_id, lang)
    stretches: list[list[str]] = [[]]
    for event in events:
        if event["type"] == "heard":
            stretches.append([])
        elif event["type"] == "say":
            stretches[-1].append(event["text"])
    # The last stretch is the goodbye: nobody needs to act after it.
    longest = max(stretches[:-1], key=_words_in)
    # The agreements read back are the couple's own words, not the assistant's.
    own = [e["text"].replace(WORDS[lang]["agreement"], "") for e in events if e["type"] == "say"]
    sentences = [s for text in own for s in _SENTENCE_END.split(text) if _WORD.search(s)]
    words = [w for s in sentences for w in _WORD.findall(s)]
    long_words = [w for w in words if syllables(w, lang) >= 3]
    return Figures(exercise_id, lang, _words_in(longest) * 60 / WORDS_PER_MINUTE,
                   tuple(longest), len(words) / len(sentences), len(long_words) / len(words))


def _words_in(lines: list[str]) -> int:
    return sum(len(_WORD.findall(line)) for line in lines)


ALL = [(i, lang) for lang in LANGUAGES for i in builtin_ids(lang)]


@pytest.mark.parametrize(("exercise_id", "lang"), ALL)
def test_no_stretch_of_speech_is_too_long(exercise_id: str, lang: str) -> None:
    f = measure(exercise_id, lang)
    assert f.stretch_seconds <= MAX_STRETCH_SECONDS, (
        f"{exercise_id} ({lang}): {f.stretch_seconds:.1f} s before the couple can act: "
        f"{' / '.join(f.stretch)}")


@pytest.mark.parametrize(("exercise_id", "lang"), ALL)
def test_sentences_are_short_and_words_everyday(exercise_id: str, lang: str) -> None:
    f = measure(exercise_id, lang)
    assert f.sentence_words <= MAX_SENTENCE_WORDS[lang], (exercise_id, f.sentence_words)
    assert f.long_word_share <= MAX_LONG_WORD_SHARE[lang], (exercise_id, f.long_word_share)


@pytest.mark.parametrize(("exercise_id", "lang"), ALL)
def test_time_out_is_named_before_the_first_turn(exercise_id: str, lang: str) -> None:
    events = happy_events(exercise_id, lang)
    first_turn = next(i for i, e in enumerate(events) if e["type"] == "phase"
                      and e["phase"] in ("speaking", "discussing", "reflecting"))
    word = load_texts(lang).words[Intent.TIMEOUT]
    assert any(f"'{word}'" in e["text"] for e in events[:first_turn] if e["type"] == "say")


@pytest.mark.parametrize(("exercise_id", "lang", "go_on", "yes", "no"), [
    ("verzoening", "nl", "verder", "ja", "nee"), ("reconciliation", "en", "next", "yes", "no")])
def test_reconciliation_gives_nobody_a_role_they_did_not_confirm(
        exercise_id: str, lang: str, go_on: str, yes: str, no: str) -> None:
    ex = find_exercise(exercise_id, lang)
    replies = [go_on, go_on, yes, yes, yes, no, yes, no]  # Ben does not confirm the roles
    scenario = parse_scenario("".join(f'[[reply]]\nsay = "{r}"\n' for r in replies), "s.toml")
    events: list[dict] = []
    simulate(ex, scenario, NAMES, load_texts(lang), Timing(), events.append)
    said = " ".join(e["text"] for e in events if e["type"] == "say")
    assert not any(e["type"] == "phase" and e["phase"] == "speaking" for e in events)
    assert "coach" in said and "therap" in said
    assert load_texts(lang).lines("closing")[-1] not in said  # no praise


def test_syllables_are_counted_roughly_right() -> None:
    assert [syllables(w, "nl") for w in ("ja", "luisteren", "verantwoordelijkheid",
                                         "bereikbaarheid", "ruzie")] == [1, 3, 6, 4, 2]
    assert [syllables(w, "en") for w in ("yes", "take", "listen", "together",
                                         "responsibility", "used")] == [1, 1, 2, 3, 6, 1]


if __name__ == "__main__":
    print(f"{'exercise':22} lang  stretch  words/sentence  3+ syllables")
    for exercise_id, lang in ALL:
        f = measure(exercise_id, lang)
        print(f"{exercise_id:22} {lang:4} {f.stretch_seconds:6.1f} s {f.sentence_words:10.1f}"
              f" {f.long_word_share:12.1%}")
