"""A coach's own voice: recorded prompts replace the synthesized ones."""

from __future__ import annotations

import stat
from pathlib import Path

from simkit import exercise
from test_cli import samenspraak
from test_tts import Failing, FakeOutput

from assistant.audio import read_wav
from assistant.cli.voicerecord import record_prompts
from assistant.rig.signals import noise, silence, tone
from assistant.tts import RenderCache, VoiceSpeaker, normalise_wav
from assistant.voicebank import VoiceBank, prompts_of, trim

STEPS = """
[[step]]
kind = "say"
text = ["Welkom bij deze oefening.", "Je hebt 2 minuten."]

[[step]]
kind = "turn"
text = "{speaker}, vertel."
seconds = 60
"""


def test_the_sentences_a_coach_can_record() -> None:
    ex = exercise(STEPS)
    assert prompts_of(ex) == ["Welkom bij deze oefening."]  # names and numbers stay synthesized
    assert prompts_of(ex, ("Anna", "Ben")) == ["Welkom bij deze oefening.", "Anna, vertel.",
                                                "Ben, vertel."]


def test_every_answer_of_a_question_can_be_recorded() -> None:
    ex = exercise('[[step]]\nkind = "ask"\nto = "each"\nassign_speaker = true\n'
                  'text = "Wie begint?"\nyes = { say = "Fijn." }\nno = { say = "Jammer." }\n'
                  'both = { say = "Jullie willen allebei." }\n')
    assert prompts_of(ex) == ["Wie begint?", "Fijn.", "Jammer.", "Jullie willen allebei."]


def test_a_take_is_trimmed_and_kept_owner_only(tmp_path: Path) -> None:
    bank = VoiceBank(tmp_path, "nl")
    take = silence(1.0) + noise(1.2, amplitude=0.3) + silence(2.0)
    path = bank.save("Welkom bij deze oefening.", take)
    assert path is not None and bank.has("Welkom bij deze oefening.")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(bank.folder.stat().st_mode) == 0o700
    assert 1.2 <= len(read_wav(path).pcm) / 32000 <= 1.2 + 0.15 + 0.25 + 0.04
    assert bank.save("Stil.", silence(2.0)) is None and trim(silence(1.0)) is None
    bank.remove("Welkom bij deze oefening.")
    assert not bank.has("Welkom bij deze oefening.")


def test_walking_through_keep_redo_skip_and_stop(tmp_path: Path) -> None:
    bank = VoiceBank(tmp_path, "nl")
    answers = iter(["", "k", "", "r", "", "k", "s", "q"])
    played: list[bytes] = []
    takes = iter([noise(1.0, 0.3, seed=1), noise(1.0, 0.3, seed=2), noise(0.8, 0.3, seed=3)])
    out = Path(tmp_path / "out.txt").open("w", encoding="utf-8")
    kept = record_prompts(["Een.", "Twee.", "Drie.", "Vier."], bank, lambda: next(takes),
                          played.append, lambda prompt: next(answers), out)
    assert kept == 2 and len(played) == 3  # every take is played back before keep/redo
    assert bank.recorded(["Een.", "Twee.", "Drie.", "Vier."]) == (["Een.", "Twee."],
                                                                   ["Drie.", "Vier."])


def test_a_recorded_sentence_replaces_the_synthesized_one(tmp_path: Path) -> None:
    bank = VoiceBank(tmp_path / "home", "nl")
    path = bank.save("Welkom bij deze oefening.", tone(440, 1.0, amplitude=0.3))
    output = FakeOutput()
    spk = VoiceSpeaker([Failing()], output, RenderCache(tmp_path / "cache"), voicebank=bank,
                       print_fn=lambda text: None)
    spk.say("Welkom bij deze oefening.")
    assert output.played == [normalise_wav(path)]
    spk.say("Iets anders.")  # not recorded: synthesized (here: nothing works, so printed)
    assert len(output.played) == 1


def test_record_list_shows_what_is_recorded_and_missing(tmp_path: Path) -> None:
    VoiceBank(tmp_path, "nl").save("Spiegelen kun je elke dag oefenen.",
                                   noise(1.0, amplitude=0.3))
    result = samenspraak("record", "spiegelen", "--list", "--home", str(tmp_path))
    assert result.returncode == 0
    rows = result.stdout.splitlines()
    assert "recorded  Spiegelen kun je elke dag oefenen." in rows
    assert any(r.startswith("missing ") for r in rows)
    assert rows[-1].startswith("1 of ")
