"""Raised voices in a session, on the virtual clock: a time-out offered once, gently."""

from __future__ import annotations

from simkit import exercise, run, say, silence, talk

from assistant.engine.texts import load_texts
from assistant.engine.timing import RAISED_VOICE_SECONDS, Timing
from assistant.simulate import Reply, parse_scenario

TURN = """
[[step]]
kind = "turn"
text = "{speaker}, vertel."
seconds = 300
silence_seconds = 100
nudge_seconds = 100
"""
NL = load_texts("nl")
OFFER = NL.lines("raised_offer")


def loud(seconds: float) -> Reply:
    return Reply("loud", seconds=seconds)


def test_loud_talk_brings_the_offer_after_it_lasted() -> None:
    r = run(exercise(TURN), [talk(20), loud(10), say("ja"), silence(5), say("verder")])
    start = r.first("phase", phase="speaking")["t"]
    offer = r.first("say", text=OFFER[0])
    assert offer["t"] == start + 20 + RAISED_VOICE_SECONDS
    assert r.first("say", text=OFFER[1])["t"] == offer["t"]
    assert "break" in r.phases()  # "ja" starts the time-out


def test_nee_goes_on_with_the_time_that_was_left() -> None:
    r = run(exercise(TURN), [talk(20), loud(10), say("nee", after=2), talk(400)])
    offer_t = r.first("say", text=OFFER[0])["t"]
    declined = r.first("say", text=NL.line("raised_declined"))
    assert declined["t"] == offer_t + 2
    assert "break" not in r.phases()
    start = r.first("phase", phase="speaking")["t"]
    expired = r.first("timer", event="expired")
    # 300 s of floor, plus the 2 s the question took: the offer did not eat the turn's time
    assert expired["t"] == start + 300 + 2


def test_time_out_itself_answers_the_offer() -> None:
    r = run(exercise(TURN), [talk(5), loud(6), say("time-out"), say("verder")])
    assert "break" in r.phases()


def test_the_offer_comes_once_in_a_while() -> None:
    r = run(exercise(TURN), [loud(6), say("nee"), loud(6), talk(5), loud(6), say("klaar")],
            Timing(offer_quiet=600))
    assert r.said().count(OFFER[0]) == 1


def test_after_the_quiet_time_it_may_come_again() -> None:
    r = run(exercise(TURN), [loud(6), say("nee"), talk(40), loud(6), say("nee")],
            Timing(offer_quiet=30))
    assert r.said().count(OFFER[0]) == 2


def test_no_offer_during_a_question_or_a_pause() -> None:
    ask = '[[step]]\nkind = "ask"\nto = "both"\ntext = "Is dit een rustig moment?"\nseconds = 60\n'
    r = run(exercise(ask + TURN), [loud(6), say("ja"), say("pauze"), loud(6), say("verder"),
                                   say("klaar")])
    assert OFFER[0] not in r.said()


def test_a_scenario_file_can_mark_loud_talk() -> None:
    scenario = parse_scenario('[[reply]]\nloud = 8\n[[reply]]\nsay = "nee"\n', "s.toml")
    assert scenario.replies[0] == Reply("loud", seconds=8)
