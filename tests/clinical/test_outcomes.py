"""Outcome scoring: NRS, ODI, RMDQ, MIC (Ostelo 2008), responders and recovery (Kamper 2010)."""

import json

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from laserdose.clinical.outcomes import (
    MIC,
    Measure,
    is_recovered,
    is_responder,
    questionnaire_texts,
    responder_threshold,
    score_nrs,
    score_odi,
    score_rmdq,
)
from laserdose.errors import InputError

section = st.integers(min_value=0, max_value=5)


# --- ODI: Fairbank & Pynsent (2000), scoring instructions -------------------------------------------------


def test_odi_worked_example_all_sections():
    # Fairbank & Pynsent (2000) scoring example: 16 points, all 10 sections answered -> 16/50 x 100 = 32 %.
    score = score_odi([2, 2, 2, 2, 2, 2, 1, 1, 1, 1])
    assert score.total == 16
    assert score.index_percent == pytest.approx(32.0)


def test_odi_worked_example_one_section_missed():
    # Fairbank & Pynsent (2000): one section missed -> 16 / (5 x 9) x 100 = 35.5 %.
    score = score_odi([2, 2, 2, 2, 2, 2, 1, None, 2, 1])
    assert score.sections_answered == 9
    assert score.index_percent == pytest.approx(16 / 45 * 100)


def test_odi_extremes():
    # Definition: all sections 0 -> 0 %, all sections 5 -> 100 %.
    assert score_odi([0] * 10).index_percent == 0.0
    assert score_odi([5] * 10).index_percent == 100.0


def test_odi_too_many_missed_sections_is_refused_unless_allowed():
    answers = [3, 3, None, 3, 3, 3, None, 3, 3, 3]
    with pytest.raises(InputError, match="2 missed sections"):
        score_odi(answers)
    # 24 / (5 x 8) x 100 = 60 % (formula).
    assert score_odi(answers, max_missing=2).index_percent == pytest.approx(60.0)


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ([0] * 9, "needs 10 sections"),
        ([6] + [0] * 9, "ODI section 1 must be between 0 and 5"),
        ([0] * 9 + [-1], "ODI section 10"),
        ([True] + [0] * 9, "whole number"),
        ([2.5] + [0] * 9, "whole number"),
    ],
)
def test_odi_rejects_bad_answers(answers, message):
    with pytest.raises(InputError, match=message):
        score_odi(answers)


@given(st.lists(section, min_size=10, max_size=10))
def test_odi_index_is_a_percentage(answers):
    assert 0.0 <= score_odi(answers).index_percent <= 100.0


@given(st.lists(section, min_size=10, max_size=10), st.integers(0, 9))
def test_odi_more_disability_never_lowers_the_index(answers, which):
    # Monotonicity: raising one section's answer cannot lower the index.
    worse = list(answers)
    worse[which] = min(5, worse[which] + 1)
    assert score_odi(worse).index_percent >= score_odi(answers).index_percent


@given(section, st.integers(0, 9))
def test_odi_missing_section_does_not_bias_a_uniform_answer(value, missed):
    # Formula: if every answered section is v, the index is 20 v %, whether or not a section is missed.
    answers: list[int | None] = [value] * 10
    answers[missed] = None
    assert score_odi(answers).index_percent == pytest.approx(20.0 * value)


# --- RMDQ: Roland & Morris (1983), score = number of ticked statements ------------------------------------


def test_rmdq_counts_ticked_statements():
    assert score_rmdq([False] * 24) == 0
    assert score_rmdq([True] * 24) == 24
    assert score_rmdq([True] * 7 + [False] * 17) == 7


@pytest.mark.parametrize(("answers", "message"), [([True] * 23, "needs 24"), ([1] + [False] * 23, "item 1")])
def test_rmdq_rejects_bad_answers(answers, message):
    with pytest.raises(InputError, match=message):
        score_rmdq(answers)


@given(st.lists(st.booleans(), min_size=24, max_size=24))
def test_rmdq_score_is_count_of_true(answers):
    assert score_rmdq(answers) == answers.count(True)


# --- NRS, MIC and responders: Ostelo et al. (2008) ---------------------------------------------------------


def test_nrs_accepts_0_to_10_only():
    assert score_nrs(0) == 0 and score_nrs(10) == 10
    for bad in (-1, 11, 5.5, True):
        with pytest.raises(InputError, match="pain NRS"):
            score_nrs(bad)


def test_mic_values_are_ostelo_2008():
    # Ostelo et al. (2008) Spine 33(1):90-94: NRS 2 points or 30 %, ODI 10, RMDQ 5.
    assert (MIC[Measure.NRS].points, MIC[Measure.NRS].fraction) == (2, 0.30)
    assert MIC[Measure.ODI].points == 10
    assert MIC[Measure.RMDQ].points == 5


@pytest.mark.parametrize(
    ("measure", "baseline", "follow_up", "responder"),
    [
        (Measure.NRS, 6, 4, True),  # 2 points
        (Measure.NRS, 8, 7, False),  # 1 point, 12.5 %
        (Measure.NRS, 3, 2, True),  # 1 point but 33 % >= 30 %
        (Measure.NRS, 0, 0, False),
        (Measure.ODI, 40, 30, True),  # 10 points
        (Measure.ODI, 40, 31, False),  # 9 points
        (Measure.RMDQ, 12, 7, True),  # 5 points
        (Measure.RMDQ, 12, 8, False),  # 4 points
        (Measure.RMDQ, 8, 12, False),  # worse
    ],
)
def test_responder_against_mic(measure, baseline, follow_up, responder):
    assert is_responder(measure, baseline, follow_up) is responder


def test_responder_rejects_scores_off_the_scale():
    with pytest.raises(InputError, match="odi follow-up must be between 0 and 100"):
        is_responder(Measure.ODI, 40, 120)
    with pytest.raises(InputError, match="finite"):
        is_responder(Measure.NRS, float("nan"), 2)


@given(st.sampled_from(list(Measure)), st.data())
def test_a_better_follow_up_never_loses_responder_status(measure, data):
    top = MIC[measure].scale_max
    baseline = data.draw(st.floats(0, top))
    follow_up = data.draw(st.floats(0, top))
    better = data.draw(st.floats(0, follow_up))
    if is_responder(measure, baseline, follow_up):
        assert is_responder(measure, baseline, better)


# --- Recovered: Kamper et al. (2010): NRS 0 and RMDQ <= 2 ---------------------------------------------------


@pytest.mark.parametrize(
    ("nrs", "rmdq", "recovered"), [(0, 0, True), (0, 2, True), (0, 3, False), (1, 0, False)]
)
def test_recovered_kamper_2010(nrs, rmdq, recovered):
    assert is_recovered(nrs, rmdq) is recovered


def test_recovered_rejects_bad_scores():
    with pytest.raises(InputError, match="RMDQ score"):
        is_recovered(0, 25)


# --- Item texts: replaceable data file ---------------------------------------------------------------------


def test_shipped_texts_are_marked_placeholders():
    texts = questionnaire_texts()
    assert texts.placeholder
    assert len(texts.odi_sections) == 10 and all(len(s[1]) == 6 for s in texts.odi_sections)
    assert len(texts.rmdq_items) == 24
    assert all("placeholder" in item for item in texts.rmdq_items)


def test_clinic_supplied_texts_replace_the_placeholders(tmp_path):
    licensed = {
        "placeholder": False,
        "odi_sections": [
            {"title": f"S{i}", "statements": [f"s{i}.{k}" for k in range(6)]} for i in range(10)
        ],
        "rmdq_items": [f"item {i}" for i in range(24)],
    }
    path = tmp_path / "texts.json"
    path.write_text(json.dumps(licensed))
    texts = questionnaire_texts(path)
    assert not texts.placeholder
    assert texts.odi_sections[3] == ("S3", tuple(f"s3.{k}" for k in range(6)))
    path.write_text(json.dumps({**licensed, "rmdq_items": ["x"]}))
    with pytest.raises(InputError, match="24 RMDQ items"):
        questionnaire_texts(path)


@given(st.sampled_from(list(Measure)), st.data())
def test_threshold_and_responder_agree(measure, data):
    # Consistency of the two forms of the Ostelo (2008) rule: responder <=> follow-up <= threshold.
    top = MIC[measure].scale_max
    baseline = data.draw(st.floats(0, top))
    follow_up = data.draw(st.floats(0, top))
    threshold = responder_threshold(measure, baseline)
    if threshold is None:
        assert not is_responder(measure, baseline, follow_up)
    else:
        assume(abs(follow_up - threshold) > 1e-9 * max(1.0, baseline))  # the two forms round differently
        assert is_responder(measure, baseline, follow_up) == (follow_up <= threshold)


def test_thresholds_from_ostelo_2008():
    # NRS 7: max(7 - 2, 0.7 x 7) = 5; NRS 3: max(1, 2.1) = 2.1; ODI 40: 30; RMDQ 4: unreachable (4 - 5 < 0).
    assert responder_threshold(Measure.NRS, 7) == 5
    assert responder_threshold(Measure.NRS, 3) == pytest.approx(2.1)
    assert responder_threshold(Measure.ODI, 40) == 30
    assert responder_threshold(Measure.RMDQ, 4) is None
