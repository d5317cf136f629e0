"""The conversation engine on a virtual clock: every step kind, pause, break, stop, silence."""

from __future__ import annotations

import pytest
from simkit import exercise, run, say, silence, talk

from assistant.engine.messages import Intent
from assistant.engine.phases import ANSWERS, FLOOR_ENDS, MOMENTS
from assistant.engine.texts import load_texts
from assistant.engine.timing import Timing
from assistant.engine.waits import Wait, WaitKind

TURN_MIRROR = """
[[step]]
kind = "say"
text = ["Dit is een test."]

[[step]]
kind = "turn"
text = "{speaker}, vertel."
seconds = 120

[[step]]
kind = "mirror"
text = "{listener}, zeg wat je hoorde."
seconds = 60
attempts = 3
"""


def test_say_step_speaks_each_sentence_in_intro() -> None:
    r = run(exercise('[[step]]\nkind = "say"\ntext = ["Eén.", "Twee."]\n'), [])
    assert r.phases() == ["intro", "closing", "done"]
    said = r.said()
    assert said.index("Eén.") + 1 == said.index("Twee.")
    assert r.end["reason"] == "finished"
    assert r.events[-1]["type"] == "summary"


def test_turn_ends_on_klaar_and_counts_speaking_time() -> None:
    r = run(exercise(TURN_MIRROR), [talk(40), say("klaar"), talk(20), say("klaar"), say("ja")])
    speaking = r.first("phase", phase="speaking")
    assert speaking["speaker"] == "Anna" and speaking["listener"] == "Ben"
    assert r.first("heard", text="klaar")["intent"] == "done"
    assert "Dank je, Anna." in r.said()
    assert r.summary["speaking_seconds"] == {"Anna": 40.0, "Ben": 20.0}
    assert r.summary["mirror_attempts"] == 1
    assert r.summary["mirrors_confirmed"] == 1


def test_turn_warns_then_expires_on_time() -> None:
    r = run(exercise(TURN_MIRROR), [talk(200)])
    start = r.first("phase", phase="speaking")["t"]
    warning = r.first("timer", event="warning")
    expired = r.first("timer", event="expired")
    assert warning == {"t": start + 90, "type": "timer", "event": "warning", "remaining": 30,
                       "speaker": "Anna"}
    assert expired["t"] == start + 120 and expired["remaining"] == 0
    assert "Nog een halve minuut." in r.said()
    assert r.summary["speaking_seconds"]["Anna"] == 120.0


def test_warning_points_and_durations_follow_overrides() -> None:
    timing = Timing(overrides=(("turn", 60.0), ("warn", 10.0)))
    r = run(exercise(TURN_MIRROR), [talk(100)], timing)
    start = r.first("phase", phase="speaking")["t"]
    assert r.first("timer", event="warning")["t"] == start + 50
    assert r.first("timer", event="expired")["t"] == start + 60


def test_silence_nudges_then_ends_the_turn() -> None:
    r = run(exercise(TURN_MIRROR), [silence(100)])
    start = r.first("phase", phase="speaking")["t"]
    assert r.first("say", text="Neem je tijd.")["t"] == start + 12
    mirror = r.first("phase", phase="mirroring")
    assert mirror["t"] == start + 30
    assert not [e for e in r.of("timer") if e["t"] < mirror["t"]]


def test_talking_postpones_the_silence_end() -> None:
    r = run(exercise(TURN_MIRROR), [talk(25), silence(20), talk(10)])
    start = r.first("phase", phase="speaking")["t"]
    # talk until 25, silence until 45, talk until 55, then 30 s of silence ends the turn
    assert r.first("phase", phase="mirroring")["t"] == start + 55 + 30


def test_nee_at_confirming_leads_to_clarify_and_another_mirror() -> None:
    r = run(exercise(TURN_MIRROR), [say("klaar"), say("klaar"), say("nee"), talk(10),
                                    say("klaar"), say("klaar"), say("ja")])
    phases = r.phases()
    i = phases.index("confirming")
    assert phases[i:i + 4] == ["confirming", "clarifying", "mirroring", "confirming"]
    assert r.first("heard", text="nee")["intent"] == "no"
    assert "Anna, zeg kort wat je echt bedoelde." in r.said()
    assert "Ben, probeer het nog een keer." in r.said()
    assert r.summary["mirror_attempts"] == 2
    assert r.summary["mirrors_confirmed"] == 1
    assert r.summary["speaking_seconds"]["Anna"] == 10.0


def test_mirror_gives_up_after_its_attempts() -> None:
    ex = exercise(TURN_MIRROR.replace("attempts = 3", "attempts = 2"))
    r = run(ex, [say("klaar"), say("klaar"), say("nee"), say("klaar"), say("klaar"), say("nee")])
    assert r.summary["mirror_attempts"] == 2 and r.summary["mirrors_confirmed"] == 0
    assert "Dank jullie. Jullie hebben het goed geprobeerd. We gaan verder." in r.said()
    assert r.end["reason"] == "finished"


def test_is_er_meer_gives_the_floor_again() -> None:
    ex = exercise(TURN_MIRROR.replace("attempts = 3", "attempts = 3\nmore = true"))
    r = run(ex, [say("klaar"), say("klaar"), say("ja"), say("ja"), talk(15), say("klaar"),
                 say("klaar"), say("ja"), say("nee")])
    assert "Anna, is er meer?" in r.said()
    assert r.phases().count("speaking") == 2
    assert r.summary["mirror_attempts"] == 2 and r.summary["mirrors_confirmed"] == 2


def test_unanswered_question_is_asked_twice_more_then_defaults() -> None:
    r = run(exercise(TURN_MIRROR), [say("klaar"), say("klaar")])
    confirm_at = r.first("phase", phase="confirming")["t"]
    asks = [e["t"] for e in r.of("say") if e["text"] == "Anna, klopt dat?"]
    assert asks == [confirm_at, confirm_at + 10, confirm_at + 20]
    assert r.first("say", text="Ik hoor geen antwoord. We gaan verder.")["t"] == confirm_at + 30
    assert r.summary["mirrors_confirmed"] == 0


def test_other_words_at_a_question_get_a_reprompt() -> None:
    r = run(exercise(TURN_MIRROR), [say("klaar"), say("klaar"), say("misschien"), say("ja")])
    assert r.first("heard", text="misschien")["intent"] is None
    assert "Zeg ja of nee." in r.said()
    assert r.summary["mirrors_confirmed"] == 1


def test_command_words_inside_free_speech_are_not_commands() -> None:
    r = run(exercise(TURN_MIRROR), [say("ik wil dat je stopt met zeuren"),
                                    say("ik ben nog niet klaar met praten"),
                                    say("eh, pauze"), say("verder"), say("klaar")])
    heard = {e["text"]: e["intent"] for e in r.of("heard")}
    assert heard["ik wil dat je stopt met zeuren"] is None
    assert heard["ik ben nog niet klaar met praten"] is None
    assert heard["eh, pauze"] == "pause"
    assert r.end["reason"] == "finished"
    assert r.phases().count("speaking") == 2  # paused once, back to speaking


def test_pause_freezes_the_turn_and_resume_keeps_the_time_left() -> None:
    r = run(exercise(TURN_MIRROR), [talk(50), say("pauze", after=0), silence(600),
                                    say("verder"), talk(500)])
    start = r.first("phase", phase="speaking", speaker="Anna")["t"]
    paused = r.first("phase", phase="paused")
    assert paused["t"] == start + 50
    resumed = [e for e in r.of("phase") if e["t"] > paused["t"]][0]
    assert resumed["phase"] == "speaking" and resumed["speaker"] == "Anna"
    assert resumed["t"] == paused["t"] + 601
    assert "Anna, je hebt nog één minuut en 10 seconden." in r.said()
    expired = r.first("timer", event="expired")
    assert expired["t"] == resumed["t"] + 70
    warning = r.first("timer", event="warning")
    assert warning["t"] == resumed["t"] + 40
    assert r.summary["speaking_seconds"]["Anna"] == 120.0


def test_pause_during_a_question_keeps_waiting_for_the_answer() -> None:
    r = run(exercise(TURN_MIRROR), [say("klaar"), say("klaar"), say("pauze"), say("verder"),
                                    say("ja")])
    phases = r.phases()
    assert phases[phases.index("paused") + 1] == "confirming"
    assert r.summary["mirrors_confirmed"] == 1


def test_long_pause_ends_the_session_kindly() -> None:
    r = run(exercise(TURN_MIRROR), [say("pauze")])
    paused_at = r.first("phase", phase="paused")["t"]
    assert r.first("say", text="We pauzeren nog. Zeg 'verder' als jullie door willen, "
                               "of 'stop'.")["t"] == paused_at + 900
    assert r.end == {"t": paused_at + 1800, "type": "end", "reason": "stopped"}


def test_time_out_takes_a_calming_break_and_comes_back() -> None:
    r = run(exercise(TURN_MIRROR), [talk(30), say("time-out", after=0), silence(1200),
                                    say("ja", after=2), say("ja", after=2), talk(200)])
    start = r.first("phase", phase="speaking")["t"]
    brk = r.first("phase", phase="break")
    assert brk["t"] == start + 30
    said = r.said()
    assert "We nemen een pauze van 20 minuten." in said
    assert "Adem rustig in door je neus." in said
    # the virtual evening starts at 20:00; the break starts at 20:00 + brk
    back = 20 * 60 + (brk["t"] + 1200) // 60
    assert f"Kom om {back // 60:02d}:{back % 60:02d} terug. Zeg 'verder' als jullie eerder " \
           "klaar zijn." in said
    assert r.first("say", text="Nog één minuut pauze.")["t"] == brk["t"] + 1140
    # after the break, each partner is asked whether they are calm enough
    asked = r.first("say", text="Anna, ben jij rustig genoeg om verder te gaan?")
    assert asked["t"] == brk["t"] + 1200
    assert "Ben, ben jij rustig genoeg om verder te gaan?" in said
    back_phase = [e for e in r.of("phase") if e["t"] > brk["t"]][0]
    assert back_phase == {"t": brk["t"] + 1204, "type": "phase", "phase": "speaking",
                          "speaker": "Anna", "listener": "Ben"}
    assert "We gaan verder waar we waren." in said
    assert "Anna, je hebt nog anderhalve minuut." in said
    assert r.first("timer", event="expired")["t"] == back_phase["t"] + 90


def test_break_ends_early_on_verder_and_length_can_be_overridden() -> None:
    timing = Timing(overrides=(("break", 300.0),))
    r = run(exercise(TURN_MIRROR), [say("time-out"), say("verder", after=60), say("ja"),
                                    say("ja")], timing)
    brk = r.first("phase", phase="break")
    assert "We nemen een pauze van 5 minuten." in r.said()
    assert [e for e in r.of("phase") if e["t"] > brk["t"]][0]["t"] == brk["t"] + 62


@pytest.mark.parametrize(("lang", "words"), [("nl", "even afkoelen"), ("en", "cool down")])
def test_an_everyday_phrase_starts_the_break_too(lang: str, words: str) -> None:
    r = run(exercise(TURN_MIRROR, lang=lang), [say(words)])
    assert "break" in r.phases()


def test_not_calm_after_a_break_offers_another_break() -> None:
    timing = Timing(overrides=(("break", 60.0),))
    r = run(exercise(TURN_MIRROR), [say("time-out"), silence(60), say("ja"), say("nee"),
                                    say("ja"), silence(60), say("ja"), say("ja"), say("klaar")],
            timing)
    said = r.said()
    assert "Willen jullie nog een pauze?" in said
    assert "We nemen nog een pauze van één minuut." in said
    assert "mirroring" in r.phases()


def test_not_calm_and_no_other_break_ends_kindly_with_a_time_to_try_again() -> None:
    timing = Timing(overrides=(("break", 60.0),))
    r = run(exercise(TURN_MIRROR), [say("time-out"), silence(60), say("nee"), say("nee")],
            timing)
    said = r.said()
    assert "Ben, ben jij rustig genoeg om verder te gaan?" not in said
    assert "Probeer het morgen opnieuw, op een rustig moment." in said
    assert r.end["reason"] == "stopped"
    assert "Goed gedaan." not in " ".join(said)


def test_nobody_answers_after_a_break_ends_kindly() -> None:
    timing = Timing(overrides=(("break", 60.0),))
    r = run(exercise(TURN_MIRROR), [say("time-out")], timing)
    assert "Probeer het morgen opnieuw, op een rustig moment." in r.said()
    assert r.phases()[-1] == "done"


def test_stop_in_the_middle_of_a_turn_ends_kindly_with_summary() -> None:
    r = run(exercise(TURN_MIRROR), [talk(20), say("stop"), talk(100)])
    stop_at = r.first("heard", text="stop")["t"]
    assert r.phases()[-2:] == ["closing", "done"]
    assert r.first("say", text="We stoppen nu.")["t"] == stop_at
    assert r.end == {"t": stop_at, "type": "end", "reason": "stopped"}
    assert r.events[-1]["type"] == "summary"
    assert r.summary["speaking_seconds"]["Anna"] == 20.0
    assert "mirroring" not in r.phases()


def test_repeat_and_help_answer_without_moving_on() -> None:
    r = run(exercise(TURN_MIRROR), [say("herhaal"), say("hulp"), say("klaar")])
    said = r.said()
    first = said.index("Anna, vertel.")
    assert said.index("Anna, vertel.", first + 1) > first
    assert "Je kunt nu zeggen:" in said
    help_line = said[said.index("Je kunt nu zeggen:") + 1]
    texts = load_texts("nl")
    for works in (Intent.DONE, Intent.REPEAT, Intent.PAUSE, Intent.TIMEOUT, Intent.STOP):
        assert texts.help[works] in help_line
    assert texts.line("help_yes") not in help_line  # nothing to answer during a turn
    assert r.phases().count("speaking") == 1


def test_help_at_a_question_names_ja_and_nee() -> None:
    r = run(exercise(TURN_MIRROR), [say("klaar"), say("klaar"), say("hulp"), say("ja")])
    said = r.said()
    texts = load_texts("nl")
    help_line = said[said.index("Je kunt nu zeggen:") + 1]
    assert help_line.startswith(texts.line("help_yes"))
    for works in (Intent.REPEAT, Intent.PAUSE, Intent.TIMEOUT, Intent.STOP):
        assert texts.help[works] in help_line
    assert texts.help[Intent.DONE] not in help_line  # a question is not ended with 'klaar'


def test_help_during_a_pause_names_what_works_in_a_pause() -> None:
    r = run(exercise(TURN_MIRROR), [say("pauze"), say("hulp"), say("verder"), say("klaar")])
    said = r.said()
    texts = load_texts("nl")
    help_line = said[said.index("Je kunt nu zeggen:") + 1]
    for works in (Intent.RESUME, Intent.REPEAT, Intent.TIMEOUT, Intent.STOP):
        assert texts.help[works] in help_line
    for not_now in (Intent.DONE, Intent.PAUSE):
        assert texts.help[not_now] not in help_line


def test_repeat_during_a_pause_says_how_to_go_on_and_after_it_the_turn_again() -> None:
    r = run(exercise(TURN_MIRROR), [say("pauze"), say("herhaal"), say("verder"),
                                    say("herhaal"), say("klaar")])
    paused = load_texts("nl").line("paused")
    said = r.said()
    repeat_in_pause, repeat_after = (e["t"] for e in r.of("heard") if e["text"] == "herhaal")
    assert [e["text"] for e in r.of("say") if e["t"] == repeat_in_pause] == [paused]
    after = [e["text"] for e in r.of("say") if e["t"] == repeat_after]
    assert after[0] == "Anna, vertel." and paused not in after
    assert said.count(paused) == 2


def test_repeat_during_a_break_says_when_to_come_back() -> None:
    r = run(exercise(TURN_MIRROR), [say("time-out"), say("herhaal"), say("verder"),
                                    say("ja"), say("ja"), say("herhaal"), say("klaar")])
    in_break, after = (e["t"] for e in r.of("heard") if e["text"] == "herhaal")
    repeated = [e["text"] for e in r.of("say") if e["t"] == in_break]
    back_at = load_texts("nl").lines("break_return", time="00:00")[0].split("00:00")[0]
    told = [e["text"] for e in r.of("say") if e["t"] < in_break and e["text"].startswith(back_at)]
    assert len(told) == 1 and repeated == told  # the very sentence said when the break began
    assert r.phases().count("speaking") == 2  # back in the turn after the calm questions
    # once back, after the calm questions, 'herhaal' says the turn's instruction again
    assert [e["text"] for e in r.of("say") if e["t"] == after][0] == "Anna, vertel."


def test_a_question_asked_again_says_each_sentence_once() -> None:
    ex = exercise(ASK.replace('text = "{name}, wil je dit?"',
                              'text = ["{name}, wil je dit?", "Zeg ja of nee."]'))
    r = run(ex, [say("misschien"), say("ja"), say("ja")])
    (unclear_at,) = (e["t"] for e in r.of("heard") if e["text"] == "misschien")
    again = [e["text"] for e in r.of("say") if e["t"] == unclear_at]
    assert again == ["Anna, wil je dit?", "Zeg ja of nee."]


def test_swap_changes_roles() -> None:
    ex = exercise(TURN_MIRROR + '\n[[step]]\nkind = "swap"\n' + TURN_MIRROR.split("\n", 4)[4])
    r = run(ex, [say("klaar"), say("klaar"), say("ja"), talk(5), say("klaar"), say("klaar"),
                 say("ja")])
    speakers = [e["speaker"] for e in r.of("phase") if e["phase"] == "speaking"]
    assert speakers == ["Anna", "Ben"]
    assert "Nu wisselen jullie. Ben, nu ben jij aan de beurt." in r.said()
    assert r.summary["speaking_seconds"] == {"Anna": 0.0, "Ben": 5.0}


ASK = """
[[step]]
kind = "ask"
to = "each"
text = "{name}, wil je dit?"
default = "no"
no = { say = "Dat is goed. Een andere keer.", then = "end" }
yes = { say = "Fijn.", then = "continue" }

[[step]]
kind = "reflect"
text = "Denk na."
seconds = 45
"""


def test_ask_each_continues_on_two_yeses() -> None:
    r = run(exercise(ASK), [say("ja"), say("jawel"), say("klaar")])
    assert [e["text"] for e in r.of("say") if e["text"].endswith("wil je dit?")] == \
        ["Anna, wil je dit?", "Ben, wil je dit?"]
    assert "Fijn." in r.said() and "reflecting" in r.phases()


def test_ask_each_ends_on_one_no() -> None:
    r = run(exercise(ASK), [say("ja"), say("nee")])
    assert "Dat is goed. Een andere keer." in r.said()
    assert "reflecting" not in r.phases()
    assert r.end["reason"] == "finished"


def test_ask_silence_takes_the_default() -> None:
    r = run(exercise(ASK), [])
    assert "Dat is goed. Een andere keer." in r.said()


def test_ask_each_one_silent_partner_counts_with_the_default() -> None:
    r = run(exercise(ASK), [say("ja"), silence(40)])
    assert "Dat is goed. Een andere keer." in r.said()
    assert "reflecting" not in r.phases()


def test_declining_ends_without_praise() -> None:
    r = run(exercise(ASK, closing=["Jullie hebben goed naar elkaar geluisterd."]),
            [say("nee"), say("nee")])
    said = " ".join(r.said())
    assert "Dat is goed. Een andere keer." in said
    assert "goed naar elkaar geluisterd" not in said and "Goed gedaan" not in said
    assert "Tot de volgende keer." in said


def test_a_finished_exercise_is_praised() -> None:
    r = run(exercise(ASK, closing=["Mooi werk."]), [say("ja"), say("ja"), say("klaar")])
    said = r.said()
    assert "Mooi werk." in said and "Dank jullie wel. Goed gedaan." in said


ROLES = """
[[step]]
kind = "ask"
to = "each"
assign_speaker = true
text = "{name}, heeft de ander jou pijn gedaan?"
yes = { then = "rollen" }
both = { say = "Allebei. Eerst {speaker}.", then = "rollen" }
no = { say = "Nog niet duidelijk.", then = "end" }

[[step]]
id = "rollen"
kind = "say"
text = "{listener} heeft {speaker} pijn gedaan."

[[step]]
kind = "turn"
text = "{speaker}, vertel."
seconds = 60
"""


@pytest.mark.parametrize(("answers", "said", "speaker"), [
    (["ja", "nee"], "Ben heeft Anna pijn gedaan.", "Anna"),
    (["nee", "ja"], "Anna heeft Ben pijn gedaan.", "Ben"),
    (["ja", "ja"], "Allebei. Eerst Anna.", "Anna"),
])
def test_ask_can_assign_the_speaker_from_the_answers(answers: list[str], said: str,
                                                     speaker: str) -> None:
    r = run(exercise(ROLES), [say(a) for a in answers] + [say("klaar")])
    assert said in r.said()
    assert r.first("phase", phase="speaking")["speaker"] == speaker


@pytest.mark.parametrize("answers", [["nee", "nee"], ["ja"], []])
def test_no_role_is_given_without_a_clear_answer_from_both(answers: list[str]) -> None:
    r = run(exercise(ROLES), [say(a) for a in answers])
    assert "Nog niet duidelijk." in r.said()
    assert "speaking" not in r.phases()


CONFIRMED_THEN = TURN_MIRROR + """confirmed_then = "verder"

[[step]]
kind = "turn"
text = "{speaker}, zeg nog één keer wat het belangrijkste is."
seconds = 60

[[step]]
id = "verder"
kind = "say"
text = "Nu het volgende deel."
"""


def test_a_confirmed_mirror_can_jump_ahead() -> None:
    r = run(exercise(CONFIRMED_THEN), [say("klaar"), say("klaar"), say("ja")])
    assert "Nu het volgende deel." in r.said()
    assert not any("belangrijkste" in line for line in r.said())


def test_an_unconfirmed_mirror_gives_the_speaker_the_floor_once_more() -> None:
    replies = [say("klaar")] + [say("klaar"), say("nee"), say("klaar")] * 2 + \
        [say("klaar"), say("nee"), say("klaar")]
    r = run(exercise(CONFIRMED_THEN), replies)
    said = r.said()
    assert "Anna, zeg nog één keer wat het belangrijkste is." in said
    assert said.index("Anna, zeg nog één keer wat het belangrijkste is.") < \
        said.index("Nu het volgende deel.")


def test_say_with_wait_waits_for_verder_or_its_time() -> None:
    toml = '[[step]]\nkind = "say"\nwait = true\ntext = "Lees dit."\n\n' \
        '[[step]]\nkind = "say"\nwait = true\nseconds = 40\ntext = "En dit."\n\n' \
        '[[step]]\nkind = "say"\ntext = "Klaar."\n'
    r = run(exercise(toml), [say("verder", after=5)])
    said = r.said()
    assert said[said.index("Lees dit.") + 1] == "Klaar? Zeg dan 'verder'."
    assert r.first("heard", text="verder")["intent"] == "next"
    assert r.first("say", text="En dit.")["t"] == 5
    assert r.first("say", text="Klaar.")["t"] == 45
    # "Klaar?" is a question: 'ja' is an answer to it, and goes on as 'verder' does
    r = run(exercise(toml), [say("ja", after=5), say("ja hoor", after=3)])
    assert [e["intent"] for e in r.of("heard")] == ["yes", "yes"]
    assert r.first("say", text="En dit.")["t"] == 5
    assert r.first("say", text="Klaar.")["t"] == 8


def test_ask_jump_to_a_later_step() -> None:
    toml = """
[[step]]
kind = "ask"
text = "Sla over?"
yes = { then = "laatste" }

[[step]]
kind = "say"
text = "Overgeslagen."

[[step]]
kind = "say"
id = "laatste"
text = "Laatste."
"""
    r = run(exercise(toml), [say("ja")])
    assert "Overgeslagen." not in r.said() and "Laatste." in r.said()


def test_reflect_is_quiet_time_that_ends_on_time_or_klaar() -> None:
    r = run(exercise(ASK), [say("ja"), say("ja"), talk(10)])
    start = r.first("phase", phase="reflecting")["t"]
    assert r.first("say", text="De denktijd is om.")["t"] == start + 45
    assert r.first("timer", event="expired")["speaker"] is None
    assert r.summary["speaking_seconds"] == {"Anna": 0.0, "Ben": 0.0}


def test_discuss_is_shared_time_with_warnings() -> None:
    toml = '[[step]]\nkind = "discuss"\ntext = "Praat samen."\nseconds = 120\n'
    r = run(exercise(toml), [talk(200)])
    start = r.first("phase", phase="discussing")["t"]
    assert "Jullie hebben 2 minuten." in r.said()
    assert r.first("timer", event="warning") == {"t": start + 90, "type": "timer",
                                                  "event": "warning", "remaining": 30,
                                                  "speaker": None}
    assert r.first("say", text="De tijd is om. Dank jullie wel.")["t"] == start + 120


def test_agree_records_the_agreement_for_the_summary() -> None:
    toml = '[[step]]\nkind = "agree"\ntext = "Zeg jullie afspraak."\ncount = 2\n'
    r = run(exercise(toml), [say("elke avond tien minuten praten"), say("klaar"), talk(8),
                             say("klaar")])
    assert r.summary["agreements"] == ["elke avond tien minuten praten",
                                       "afspraak 2 (niet verstaan)"]
    assert "Jullie afspraak: elke avond tien minuten praten." in r.said()
    said = r.said()
    assert said.index("Jullie hebben dit afgesproken:") < said.index("Tot de volgende keer.")


def test_chunked_turn_pauses_for_a_mirror_and_continues_with_time_left() -> None:
    toml = """
[[step]]
kind = "turn"
text = "{speaker}, vertel."
seconds = 240
chunk_seconds = 60
"""
    r = run(exercise(toml), [talk(100), say("klaar"), say("ja"), talk(30), say("klaar")])
    start = r.first("phase", phase="speaking")["t"]
    mirror = r.first("phase", phase="mirroring")
    assert mirror["t"] == start + 60
    assert "Anna, wil je hier even stoppen?" in r.said()
    assert "Anna, ga maar verder. Je hebt nog 3 minuten." in r.said()
    assert r.summary["speaking_seconds"]["Anna"] == 90.0
    assert r.summary["mirrors_confirmed"] == 1


def test_english_session_speaks_english() -> None:
    ex = exercise(TURN_MIRROR.replace("vertel", "tell").replace("zeg wat je hoorde",
                                                                  "say what you heard"),
                  lang="en")
    r = run(ex, [say("done"), say("i'm done"), say("yes")])
    assert "Thank you, Anna." in r.said() and "Anna, is that right?" in r.said()
    assert r.summary["mirrors_confirmed"] == 1


def test_slower_and_faster_are_acknowledged() -> None:
    r = run(exercise(TURN_MIRROR), [say("langzamer"), say("sneller"), say("klaar")])
    assert "Goed. Ik praat langzamer." in r.said() and "Goed. Ik praat sneller." in r.said()


@pytest.mark.parametrize(("lang", "pause", "timeout"), [("nl", "pauze", "time-out"),
                                                        ("en", "pause", "time out")])
def test_every_phase_name_is_public(lang: str, pause: str, timeout: str) -> None:
    r = run(exercise(TURN_MIRROR, lang=lang), [say(pause), say(timeout)])
    allowed = {"intro", "instructing", "speaking", "mirroring", "confirming", "clarifying",
               "asking", "discussing", "reflecting", "agreeing", "closing", "paused", "break",
               "done"}
    seen = r.phases()
    assert set(seen) <= allowed
    assert seen[:4] == ["intro", "speaking", "paused", "break"] and seen[-2:] == ["closing",
                                                                                  "done"]


def test_a_silence_override_reaches_discussions_too() -> None:
    toml = '[[step]]\nkind = "discuss"\ntext = "Praat samen."\nseconds = 300\n'
    default = run(exercise(toml), [])
    start = default.first("phase", phase="discussing")["t"]
    assert default.first("say", text="Het is stil. We gaan verder.")["t"] == start + 60
    short = run(exercise(toml), [], Timing(overrides=(("silence", 20.0),)))
    start = short.first("phase", phase="discussing")["t"]
    assert short.first("say", text="Het is stil. We gaan verder.")["t"] == start + 20


@pytest.mark.parametrize(("moment", "wait"), [
    ("commands", Wait(WaitKind.FLOOR, FLOOR_ENDS)),
    ("yesno", Wait(WaitKind.ANSWER, ANSWERS)),
    ("paused", Wait(WaitKind.PAUSED, frozenset())),
    ("free", Wait(WaitKind.FLOOR, FLOOR_ENDS, collect=True)),
])
def test_the_moments_hear_listens_in_are_what_the_waits_allow(moment: str, wait: Wait) -> None:
    allowed, short = MOMENTS[moment]
    assert allowed == wait.allowed()
    assert short == (wait.kind is WaitKind.ANSWER)


def test_a_title_that_is_a_question_is_not_followed_by_a_full_stop() -> None:
    r = run(exercise(TURN_MIRROR, title="Ben je er voor mij?"), [say("klaar")])
    assert "Vandaag doen we: Ben je er voor mij?" in r.said()
    assert not any(line.endswith("?.") for line in r.said())
