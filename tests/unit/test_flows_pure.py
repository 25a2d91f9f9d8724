"""The pure parts of the interactive flows: IVR tree validation, placeholder filling, the
type-specific campaign settings and what they compile to."""
from __future__ import annotations

import json

import pytest

from voxcast.campaigns import flows_config
from voxcast.ivr import tree as ivr


def tree(**nodes):
    return {"start": next(iter(nodes)), "nodes": nodes}


def errors_of(t) -> list[str]:
    with pytest.raises(ivr.IvrError) as info:
        ivr.validate(t)
    return info.value.errors


def test_a_tree_using_every_node_type_is_valid():
    t = tree(
        hello={"type": "say", "text": "Hi {first_name}", "next": "menu"},
        menu={"type": "menu", "sound": "campaign-1", "options": {"1": "code", "2": "rec",
                                                                  "3": "agent", "9": "menu"},
              "timeout": 4, "retries": 1, "no_input": "bye", "invalid": "bye", "store_as": "q1"},
        code={"type": "get_digits", "text": "Code?", "var": "code", "max_digits": 4, "next": "set"},
        set={"type": "set_field", "field": "custom1", "value": "{code}", "next": "branch"},
        branch={"type": "branch", "var": "code", "cases": {"42": "ok"}, "default": "bye"},
        ok={"type": "set_result", "result": "confirmed", "next": "out"},
        out={"type": "opt_out", "next": "play"},
        play={"type": "play", "sound": "goodbye", "next": "bye"},
        rec={"type": "record", "max_seconds": 30, "beep": False, "next": "bye"},
        agent={"type": "transfer", "target": {"kind": "agents", "value": ["101", "102"]},
               "ring": 15, "failed": "bye"},
        bye={"type": "hangup", "text": "Bye {code}."},
    )
    assert ivr.validate(json.dumps(t)) == t


def test_unknown_targets_and_missing_parameters_are_all_reported():
    errs = errors_of(tree(
        a={"type": "menu", "text": "x", "options": {"1": "nowhere", "x": "a"}},
        b={"type": "transfer", "target": {"kind": "extension", "value": "abc"}},
        c={"type": "say", "next": "ghost"},
        d={"type": "teleport"},
    ))
    text = "\n".join(errs)
    assert "node 'a': option 'x' is not a phone key" in text
    assert "node 'b': the extension must be 2 to 10 digits" in text
    assert "node 'c': needs 'text'" in text
    assert "node 'c': 'next' points to unknown node 'ghost'" in text
    assert "node 'd': unknown type 'teleport'" in text


def test_option_targets_must_exist():
    assert errors_of(tree(a={"type": "menu", "text": "x", "options": {"1": "nowhere"}})) == [
        "node 'a': options '1' points to unknown node 'nowhere'"]


def test_unreachable_nodes_are_refused():
    assert errors_of(tree(a={"type": "say", "text": "x"}, b={"type": "hangup"},
                          c={"type": "hangup"})) == ["unreachable from the start: b, c"]


def test_a_loop_without_an_input_node_is_refused_but_a_menu_may_loop():
    errs = errors_of(tree(a={"type": "say", "text": "x", "next": "b"},
                          b={"type": "set_result", "result": "x", "next": "a"}))
    assert errs == ["loop without a node that waits for the caller: a -> b -> a"]
    ivr.validate(tree(a={"type": "say", "text": "x", "next": "m"},
                      m={"type": "menu", "text": "again?", "options": {"1": "a"}}))


def test_bad_json_start_and_placeholders_are_explained():
    assert errors_of("{not json")[0].startswith("not valid JSON")
    assert errors_of({"start": "zz", "nodes": {"a": {"type": "hangup"}}}) == [
        "'start' must name one of the nodes (got 'zz')"]
    errs = errors_of(tree(a={"type": "say", "text": "Hello {nickname}"}))
    assert errs[0].startswith("node 'a': unknown placeholder {nickname} (known: ")
    assert errors_of(tree(a={"type": "say", "text": "Hello {first_name"}))[0] == (
        "node 'a': unbalanced or empty {} in the text")


def test_fill_replaces_known_fields_and_leaves_other_braces():
    values = {"first_name": "Ann", "custom1": "Monday"}
    assert ivr.fill("{first_name}, see you {custom1} at {custom2}.", values) == (
        "Ann, see you Monday at .")
    assert ivr.fill("Set {1,2} stays", values) == "Set {1,2} stays"
    assert ivr.fill("{first_name}", {"first_name": "{custom1}"}) == "{custom1}"  # no re-expansion


def test_reminder_refuses_unknown_placeholders_and_compiles_keys():
    with pytest.raises(flows_config.FlowError) as info:
        flows_config.validate("appointment_reminder", {"text": "{first_name} on {date}"})
    assert "unknown placeholder {date}" in str(info.value)
    cfg = flows_config.validate("appointment_reminder", {
        "text": "{first_name}, your appointment on {custom1} at {custom2}.",
        "transfer": {"kind": "extension", "value": "101"}})
    t = ivr.validate(flows_config.compile_tree("appointment_reminder", cfg))
    assert t["nodes"]["menu"]["options"] == {"1": "confirm", "2": "cancel", "3": "transfer"}
    assert t["nodes"]["confirm"]["result"] == "confirmed"
    assert t["nodes"]["cancel"]["result"] == "cancelled"


def test_survey_questions_allow_only_their_digits_and_reprompt():
    cfg = flows_config.validate("voice_survey", {
        "questions": [{"key": "q1", "text": "Rate 1 to 3", "digits": "123"},
                      {"key": "q2", "text": "Again?", "digits": "12"}], "retries": 3})
    t = ivr.validate(flows_config.compile_tree("voice_survey", cfg))
    q1 = t["nodes"]["q_q1"]
    assert sorted(q1["options"]) == ["1", "2", "3"] and set(q1["options"].values()) == {"q_q2"}
    assert q1["store_as"] == "q1" and q1["retries"] == 3
    assert q1["invalid"] == q1["no_input"] == "q_q2"  # after the retries: next question
    assert t["nodes"]["q_q2"]["options"] == {"1": "done", "2": "done"}
    assert t["nodes"]["done"]["result"] == "surveyed"


@pytest.mark.parametrize("cfg, message", [
    ({"questions": []}, "a survey needs at least one question"),
    ({"questions": [{"key": "q1", "text": "x", "digits": "11"}]}, "'digits' lists the allowed keys"),
    ({"questions": [{"key": "q1", "text": "x", "digits": "1"},
                    {"key": "q1", "text": "y", "digits": "1"}]}, "key 'q1' is used twice"),
    ({"questions": [{"key": "q1", "text": "x", "digits": "1a"}]}, "'digits' lists the allowed keys"),
    ({"questions": [{"key": "q1", "text": "x", "digits": "1"}], "timeout": 0},
     "'timeout' must be a whole number from 1 to 60"),
])
def test_bad_survey_settings_are_explained(cfg, message):
    with pytest.raises(flows_config.FlowError) as info:
        flows_config.validate("voice_survey", cfg)
    assert message in str(info.value)


def test_interactive_defaults_transfer_target_and_no_input():
    with pytest.raises(flows_config.FlowError) as info:
        flows_config.validate("voice_interactive", {})
    assert "a key transfers, so say where to" in str(info.value)
    cfg = flows_config.validate("voice_interactive", {
        "transfer": {"kind": "number", "value": "+12025550100"}, "no_input": "replay"})
    t = ivr.validate(flows_config.compile_tree("voice_interactive", cfg, "campaign-7"))
    menu = t["nodes"]["menu"]
    assert menu["sound"] == "campaign-7" and menu["retries"] == 1
    assert menu["options"] == {"1": "pressed", "2": "optout_result", "3": "menu"}
    with pytest.raises(flows_config.FlowError) as info:
        flows_config.validate("voice_interactive", {"keys": {"1": "dance"}, "no_input": "wait"})
    assert "key 1: unknown action 'dance'" in str(info.value)
    assert "'no_input' must be 'hangup' or 'replay'" in str(info.value)


def test_voice_message_repeat_is_bounded_and_compiles_to_plays():
    with pytest.raises(flows_config.FlowError):
        flows_config.validate("voice_message", "", repeat_count=11)
    t = ivr.validate(flows_config.compile_tree("voice_message", {}, "m", 3))
    assert [n["sound"] for n in t["nodes"].values()] == ["m", "m", "m"]
    with pytest.raises(flows_config.FlowError) as info:
        flows_config.validate("voice_ivr", {"anything": 1})
    assert "unknown settings: anything" in str(info.value)
