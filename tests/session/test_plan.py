"""The step plan alone, over the built-in hip routine: what comes next, an exercise's sides, the
exercise an optional one deepens, and the sides left out where its base exercise hurt."""

from __future__ import annotations

from tests.session.coach import LIB
from voicecoach.session.plan import StepPlan


def hip_plan() -> StepPlan:
    return StepPlan(routine="hip", steps=LIB.steps("hip"))


def test_the_next_exercise_is_named_only_on_the_last_side() -> None:
    plan = hip_plan()
    first = plan.current
    assert first.exercise.sides == ("left", "right")
    assert plan.next_exercise_name() is None  # the right side comes next, not another exercise
    plan.index = plan.last_side_index()
    assert plan.current.exercise is first.exercise
    following = plan.following
    assert following is not None
    assert plan.next_exercise_name() == following.exercise.name


def test_an_optional_exercise_deepens_the_one_before_it_and_is_left_out_where_that_hurt() -> None:
    plan = hip_plan()
    optional = next(s for s in plan.steps if s.exercise.optional is not None)
    base = plan.base_exercise(optional)
    assert base == plan.steps[optional.index - 1].exercise.id
    plan.index = optional.index
    assert plan.hurt_sides_ahead() == optional.index  # nothing hurt: nothing left out
    plan.pain_sides[base] = {optional.side}
    assert plan.hurt_sides_ahead() == optional.index + 1
    assert plan.exercise_name(base) == plan.steps[optional.index - 1].exercise.name
    assert plan.exercise_name("not_in_this_routine") == "not in this routine"
