"""`samenspraak hear` and `samenspraak check` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import wave
from pathlib import Path

import pytest
from simkit import exercise
from test_audio_rig import require_pulse

from assistant.asr import PocketsphinxRecognizer
from assistant.engine.clock import VirtualClock
from assistant.engine.messages import Heard, Listen, SpeechStarted
from assistant.engine.session import Session
from assistant.engine.texts import load_texts
from assistant.engine.timing import Timing
from assistant.listen import Listener, moment_for
from assistant.rig.fakes import ScriptedMic
from assistant.rig.pulse import MicFeeder, point_at_rig, rig_dir
from assistant.rig.speech import espeak_pcm, silence, synth
from assistant.vad import VoiceActivity
from assistant.voice import MicLoop, open_recognizer

ROOT = Path(__file__).parent.parent


def samenspraak(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120, env=env or dict(os.environ))


def write_stereo_44k(path: Path, pcm16k: bytes) -> None:
    """Up-sample crudely (repeat samples) and duplicate to two channels: an unusual file."""
    samples = memoryview(pcm16k).cast("h")
    out = bytearray()
    acc = 0.0
    for s in samples:
        acc += 44100 / 16000
        while acc >= 1:
            out += int(s).to_bytes(2, "little", signed=True) * 2
            acc -= 1
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(bytes(out))


@pytest.mark.parametrize(("phrase", "expect", "intent"), [
    ("yes", "yesno", "yes"), ("that is not right", "yesno", "no"),
    ("let's stop", "commands", "stop"),
    ("repeat", "commands", "repeat"),
])
def test_hear_any_wav_gives_text_and_intent(tmp_path: Path, phrase: str, expect: str,
                                            intent: str) -> None:
    wav = tmp_path / "utterance.wav"
    write_stereo_44k(wav, silence(0.3) + synth(phrase, "en-us") + silence(0.3))
    result = samenspraak("hear", str(wav), "--lang", "en", "--expect", expect)
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout)
    assert (line["text"], line["intent"]) == (phrase, intent)
    assert line["utterances"] == [{"text": phrase, "intent": intent}]


def test_hear_free_speech_has_no_intent(tmp_path: Path) -> None:
    wav = tmp_path / "story.wav"
    write_stereo_44k(wav, synth("I would like you to stop nagging me about the dishes", "en-us"))
    line = json.loads(samenspraak("hear", str(wav), "--lang", "en", "--expect", "free").stdout)
    assert line["intent"] is None and line["text"]


STEP_OF_MOMENT = {
    "yesno": '[[step]]\nkind = "ask"\ntext = "Is that right?"\n',
    "commands": '[[step]]\nkind = "turn"\ntext = "{speaker}, tell me."\nseconds = 120\n',
}


def heard_in_a_session(moment: str, pcm: bytes) -> list[dict]:
    """What a session that stays in ``moment`` hears in ``pcm`` from its start: a real Session
    waits there, its Listen effect sets the listener, the session's microphone loop reads the
    audio, and each utterance is matched as the session matches it. Each utterance also says
    whether the recognizer was warm when it began."""
    session = Session(exercise(STEP_OF_MOMENT[moment], lang="en"), ("Anna", "Ben"),
                      load_texts("en"), VirtualClock(), Timing())
    listen = [e for e in session.start() if isinstance(e, Listen)][-1]
    recognizer, _ = open_recognizer("pocketsphinx", "en", None)
    assert isinstance(recognizer, PocketsphinxRecognizer)
    heard: list[tuple[str, bool]] = []
    warm_at_start = [False]

    def take(item: object) -> None:
        if isinstance(item, SpeechStarted):  # the recognizer has just started this utterance
            warm_at_start[0] = recognizer.warm
        elif isinstance(item, Heard):
            heard.append((item.text, warm_at_start[0]))

    listener = Listener(VoiceActivity(), recognizer, take)
    listener.set_moment(moment_for(listen, recognizer.free_speech))
    mic = ScriptedMic([pcm, silence(1.0)], real_time=False)
    loop = MicLoop(lambda: mic, listener, admits=lambda at: True, on_lost=lambda: None)
    loop.start()
    assert mic.finished.wait(60)
    loop.stop()
    listener.flush()
    allowed = session.allowed()
    return [{"text": text, "intent": (lambda i: i.value if i else None)(
        session.matcher.match(text, allowed)), "warm": warm} for text, warm in heard if text]


@pytest.mark.parametrize("moment", ["yesno", "commands"])
def test_hear_gives_what_a_session_hears_cold_and_warm(tmp_path: Path, moment: str) -> None:
    # The first utterances reach a cold recognizer (its channel mean still unknown); after
    # ten seconds of speech it is warm and decodes as the audio comes. Both stretches count.
    story = ["I had a long day at work and I would like to tell you about it",
             "because my manager changed the plans again this afternoon",
             "and after that the train home was late and very full"]
    said = ["yes", "repeat", *story, "that is not right", "done", "stop", "no"]
    pcm = b"".join(silence(0.6) + synth(text, "en-us") for text in said) + silence(0.8)
    wav = tmp_path / "table.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm)
    result = samenspraak("hear", str(wav), "--lang", "en", "--expect", moment,
                         "--recognizer", "pocketsphinx", "--names", "Anna", "Ben")
    assert result.returncode == 0, result.stderr
    by_hear = json.loads(result.stdout)["utterances"]
    by_session = heard_in_a_session(moment, pcm)
    assert by_hear == [{k: u[k] for k in ("text", "intent")} for u in by_session]
    assert not by_session[0]["warm"] and by_session[-1]["warm"]  # both stretches were heard
    intents = [u["intent"] for u in by_hear if u["intent"]]
    said_here = {"yesno": {"yes", "repeat", "no", "stop"}, "commands": {"repeat", "done", "stop"}}
    assert set(intents) <= said_here[moment]  # the story is no command, in either moment
    assert {"yes", "no"} <= set(intents) if moment == "yesno" else "done" in intents


def test_hear_in_a_pause_and_in_free_speech_acts_on_what_a_session_would(tmp_path: Path) -> None:
    wav = tmp_path / "pause.wav"
    write_stereo_44k(wav, silence(0.3) + synth("let's go on", "en-us") + silence(0.3))
    paused = json.loads(samenspraak("hear", str(wav), "--lang", "en", "--expect", "paused",
                                    "--recognizer", "pocketsphinx").stdout)
    assert paused["intent"] == "resume"  # "go on" resumes a pause (and ends a turn)
    wav = tmp_path / "agreement.wav"
    write_stereo_44k(wav, silence(0.3) + synth("stop", "en-us") + silence(0.3))
    free = json.loads(samenspraak("hear", str(wav), "--lang", "en", "--expect", "free",
                                  "--recognizer", "pocketsphinx").stdout)
    assert free["intent"] == "stop"  # during an agreement the commands still work
    assert free["utterances"] == [{"text": "stop", "intent": "stop"}]


@pytest.mark.parametrize("content", [b"", b"RIFF0000WAVEjunk", b"not audio at all"])
def test_hear_a_bad_file_is_one_line_and_exit_2(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(content)
    result = samenspraak("hear", str(bad), "--lang", "en")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_hear_a_wav_without_samples_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    with wave.open(str(empty), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
    result = samenspraak("hear", str(empty), "--lang", "en")
    assert result.returncode == 2
    assert result.stderr.strip() == (f"samenspraak: {empty} holds no audio (a WAV header and "
                                     "no samples)")


def test_hear_takes_the_names_a_session_would(tmp_path: Path) -> None:
    wav = tmp_path / "ja.wav"
    write_stereo_44k(wav, synth("yes", "en-us"))
    fine = samenspraak("hear", str(wav), "--lang", "en", "--names", "Anna", "Ben")
    assert fine.returncode == 0, fine.stderr
    result = samenspraak("hear", str(wav), "--lang", "en", "--names", "Anna", "anna")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "samenspraak: two different names are needed, not 'Anna' and 'anna': "
        "pass --names FIRST SECOND, e.g. --names Anna Ben")


def test_hear_without_a_dutch_recognizer_says_what_to_install(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wav = tmp_path / "ja.wav"
    write_stereo_44k(wav, synth("ja", "nl"))
    result = samenspraak("hear", str(wav), "--lang", "nl", "--recognizer", "vosk",
                         env={**os.environ, "SAMENSPRAAK_MODEL": str(tmp_path / "nothing")})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"samenspraak: no vosk model at {tmp_path / 'nothing'}: put one in models/nl/ "
        "(scripts/get-model nl) or pass --model DIR"], result.stderr
    # no Dutch model anywhere, whatever models/nl/ of this checkout holds
    from test_cli import samenspraak as in_process

    from assistant import asr

    monkeypatch.setattr(asr, "PROJECT_ROOT", tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SAMENSPRAAK_MODEL", raising=False)
    result = in_process("hear", str(wav), "--lang", "nl")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "samenspraak: no speech recognizer for 'nl': install a vosk model with "
        "scripts/get-model nl (see models/README.md)"], result.stderr


@pytest.mark.parametrize(("model", "message"), [
    ("{tmp}/nothing", "no vosk model at {tmp}/nothing: put one in models/en/ "
                      "(scripts/get-model en) or pass --model DIR"),
    ("{tmp}", "{tmp} is not a complete vosk model (am/final.mdl is missing; "),
])
def test_a_model_folder_given_is_used_or_the_run_stops(tmp_path: Path, model: str,
                                                       message: str, capsys) -> None:
    wav = tmp_path / "yes.wav"
    write_stereo_44k(wav, synth("yes", "en-us"))
    model, message = model.format(tmp=tmp_path), message.format(tmp=tmp_path)
    without = {k: v for k, v in os.environ.items() if k != "SAMENSPRAAK_MODEL"}
    for args, env in ((["--model", model], without), ([], {**without, "SAMENSPRAAK_MODEL": model})):
        result = samenspraak("hear", str(wav), "--lang", "en", *args, env=env)
        assert result.returncode == 2, (args, result.stdout)
        assert result.stderr.startswith("samenspraak: " + message), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    # check gives it a verdict of its own and goes on (no devices needed for this part)
    from assistant.cli.diagnostics import _check_recognizer
    from assistant.cli.settings import parse_settings

    settings = parse_settings(["check", "--lang", "en", "--model", model], without)
    assert _check_recognizer(settings) is False
    assert capsys.readouterr().out.startswith("[FAIL] " + message)
    # pocketsphinx chosen: the model folder is not for it, and is not looked at
    result = samenspraak("hear", str(wav), "--lang", "en", "--model", model,
                         "--recognizer", "pocketsphinx")
    assert result.returncode == 0, result.stderr


def test_hear_with_no_recognizer_chosen_says_it_hears_no_words(tmp_path: Path) -> None:
    wav = tmp_path / "yes.wav"
    write_stereo_44k(wav, synth("yes", "en-us"))
    result = samenspraak("hear", str(wav), "--lang", "en", "--recognizer", "none")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "samenspraak: hear needs a recognizer; --recognizer none hears no words")


@pytest.mark.audio
def test_check_on_the_audio_rig(tmp_path: Path) -> None:
    require_pulse()
    point_at_rig()
    env = {**os.environ, "XDG_RUNTIME_DIR": str(rig_dir())}
    with MicFeeder() as feeder:
        talk = espeak_pcm("one two three four five six seven eight nine ten", voice="en-us")
        feeder.say(talk * 3)
        started = time.monotonic()
        result = samenspraak("check", "--lang", "en", env=env)
    out = result.stdout
    assert "[ok  ] a loudspeaker is present" in out
    assert "[ok  ] played a chime" in out
    assert "[ok  ] a microphone is present" in out
    assert "[ok  ] speech level looks fine" in out
    assert "pocketsphinx" in out and "scripts/get-model en" in out
    # nothing fails on a working rig; the one advice is a better recognizer than the built-in
    lines = out.splitlines()
    assert not [line for line in lines if line.startswith("[FAIL]")], out
    notes = [line for line in lines if line.startswith("[note]")]
    assert len(notes) == 1 and "recognizer pocketsphinx" in notes[0], out
    assert lines[-1] == "all fine" and result.returncode == 0, out
    assert time.monotonic() - started < 60


def test_check_without_portaudio_gives_its_advice_and_exit_1(tmp_path: Path) -> None:
    # What sounddevice itself raises on a machine without the PortAudio library.
    (tmp_path / "sounddevice.py").write_text(
        'raise OSError("PortAudio library not found")\n', encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    result = samenspraak("check", "--recognizer", "none", env=env)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stderr == ""
    lines = result.stdout.splitlines()
    audio = next(i for i, line in enumerate(lines) if line.startswith("[FAIL] audio system:"))
    assert "libportaudio2" in lines[audio]
    assert lines[audio + 1].strip() == "→ run scripts/setup (it installs PortAudio)"
    assert "[FAIL] no loudspeaker" in lines and "[FAIL] no microphone" in lines
    assert lines[-1] == "see the advice above"
