"""Consumers map event types to handlers; `dispatch` finds the handler of the type or its nearest base."""
from core.events import CheckProgress, Event, FeaturesProgress, Message, Progress, StepDone, dispatch
from core.series import DebiasedEMA, smooth


def test_dispatch_picks_the_most_specific_handler_and_passes_extra_arguments():
    handlers = {Progress: lambda e, tag: f"{tag}:progress {e.done}", FeaturesProgress: lambda e, tag: f"{tag}:features",
                Event: lambda e, tag: f"{tag}:other"}
    assert dispatch(handlers, FeaturesProgress(1, 2, 3.0, 4.0), "x") == "x:features"
    assert dispatch(handlers, CheckProgress(5, 6, 1.0, 1.0), "x") == "x:progress 5"
    assert dispatch(handlers, Message("hi"), "x") == "x:other"
    assert dispatch({StepDone: print}, Message("hi"), default="none") == "none"


def test_the_debiased_average_starts_at_the_first_value_and_follows_a_step():
    assert smooth([5.0]) == [5.0]  # a plain EMA from 0 would say 1.0
    ema = DebiasedEMA(0.5)
    assert [ema.update(v) for v in (2.0, 2.0, 4.0)] == [2.0, 2.0, 2.0 + 2.0 * 0.5 / (1 - 0.5**3)]
