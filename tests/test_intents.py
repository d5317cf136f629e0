"""Utterances to intents, in both languages; commands only when the utterance is the command."""

from __future__ import annotations

import pytest

from assistant.engine.intents import IntentMatcher, normalize
from assistant.engine.messages import Intent
from assistant.engine.texts import LANGUAGES, load_texts

ALL = set(Intent)


@pytest.fixture(params=LANGUAGES)
def lang(request: pytest.FixtureRequest) -> str:
    return request.param


def matcher(lang: str) -> IntentMatcher:
    return IntentMatcher(load_texts(lang), ["Anna", "Ben"])


@pytest.mark.parametrize(("text", "intent"), [
    ("ja", Intent.YES), ("Jawel.", Intent.YES), ("klopt", Intent.YES), ("Dat klopt!", Intent.YES),
    ("nee", Intent.NO), ("neen", Intent.NO), ("klopt niet", Intent.NO),
    ("klaar", Intent.DONE), ("Ik ben klaar.", Intent.DONE),
    ("volgende", Intent.NEXT), ("ga door", Intent.NEXT),
    ("herhaal", Intent.REPEAT), ("nog een keer", Intent.REPEAT), ("Wat zei je?", Intent.REPEAT),
    ("pauze", Intent.PAUSE), ("wacht even", Intent.PAUSE),
    ("stop", Intent.STOP), ("stoppen", Intent.STOP), ("time-out", Intent.TIMEOUT),
    ("time out", Intent.TIMEOUT), ("hulp", Intent.HELP), ("langzamer", Intent.SLOWER),
    ("sneller", Intent.FASTER), ("eh, oké, klaar", Intent.DONE), ("Anna, stop", Intent.STOP),
    ("ja ja", Intent.YES),
])
def test_dutch_commands(text: str, intent: Intent) -> None:
    assert matcher("nl").match(text, ALL) == intent


@pytest.mark.parametrize(("text", "intent"), [
    ("yes", Intent.YES), ("Yeah.", Intent.YES), ("that's right", Intent.YES),
    ("no", Intent.NO), ("nope", Intent.NO), ("not really", Intent.NO),
    ("done", Intent.DONE), ("I'm done", Intent.DONE), ("next", Intent.NEXT),
    ("repeat", Intent.REPEAT), ("say that again", Intent.REPEAT),
    ("what did you say", Intent.REPEAT), ("pause", Intent.PAUSE), ("hold on", Intent.PAUSE),
    ("stop", Intent.STOP), ("quit", Intent.STOP), ("time out", Intent.TIMEOUT),
    ("help", Intent.HELP), ("slower", Intent.SLOWER), ("faster", Intent.FASTER),
    ("um, okay, done", Intent.DONE),
])
def test_english_commands(text: str, intent: Intent) -> None:
    assert matcher("en").match(text, ALL) == intent


@pytest.mark.parametrize(("lang_code", "text"), [
    ("nl", "ik wil dat je stopt met zeuren"), ("nl", "ik ben nog niet klaar"),
    ("nl", "ja maar dat vind ik niet"), ("nl", "nee, dat bedoelde ik niet zo"),
    ("nl", "wacht even tot ik uitgepraat ben"), ("en", "i want you to stop nagging"),
    ("en", "yes but that is not what i meant"), ("en", "i am not done yet"),
    ("nl", ""), ("en", "[unk] stop [unk]"),
])
def test_command_words_inside_speech_are_no_command(lang_code: str, text: str) -> None:
    assert matcher(lang_code).match(text, ALL) is None


def test_verder_resumes_when_paused_and_moves_on_otherwise() -> None:
    m = matcher("nl")
    assert m.match("verder", {Intent.RESUME, Intent.STOP}) == Intent.RESUME
    assert m.match("verder", {Intent.NEXT, Intent.DONE}) == Intent.NEXT


def test_a_command_not_valid_now_is_not_matched() -> None:
    assert matcher("nl").match("ja", {Intent.DONE, Intent.STOP}) is None


def test_every_intent_has_words_in_both_languages(lang: str) -> None:
    texts = load_texts(lang)
    assert set(texts.intents) == ALL
    assert all(texts.intents[i] for i in Intent)


def test_both_language_files_have_the_same_keys() -> None:
    nl, en = load_texts("nl"), load_texts("en")
    assert set(nl.phrases) == set(en.phrases)
    assert set(nl.notices) == set(en.notices)
    assert set(nl.help) == set(en.help) and set(nl.units) == set(en.units)


def test_grammar_phrases_cover_the_allowed_intents() -> None:
    m = matcher("nl")
    phrases = m.phrases_for({Intent.YES, Intent.NO})
    assert "ja" in phrases and "klopt niet" in phrases and "klaar" not in phrases
    assert all(p == normalize(p) for p in phrases)


def test_normalize_folds_case_accents_and_punctuation() -> None:
    assert normalize("Oké, Time-Out!") == "oke time out"
    assert normalize("I’m  done.") == "i'm done"
