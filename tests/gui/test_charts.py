"""The live charts: which events become points, and the smoothed line is core's one moving average."""
from core.events import EpochDone, Message, RunStarted, StageStarted, StepDone
from core.series import smooth
from gui.charts import Curves

LOSSES = [2.0, 1.5, 1.7, 0.9, 1.1, 0.6]


def _curves() -> Curves:
    curves = Curves()
    curves.add(RunStarted(run_id="r", run_dir="r", classes=["a", "b"], train_size=8, valid_size=2, epochs=2,
                          steps_per_epoch=3, device="cpu", mode="two_stage"))
    for step, loss in enumerate(LOSSES, start=1):
        curves.add(StepDone(epoch=1 + (step > 3), step=step, total_steps=6, loss=loss, acc=step / 6, lr=0.1,
                            images_per_s=0.0, eta_s=1.0, stage=1 + (step > 3)))
        curves.add(Message(text="ignored"))
        if step == 3:
            curves.add(EpochDone(epoch=1, step=3, train_loss=1.7, train_acc=0.5, valid_loss=1.2, valid_acc=0.5,
                                 is_best=True, elapsed_s=1.0))
            curves.add(StageStarted(stage=2, name="every layer", epoch=2, step=3, lr=1e-3, text="Stage 2"))
    return curves


def test_steps_epochs_and_stages_become_points_and_other_events_nothing():
    curves = _curves()
    assert curves.steps == [1, 2, 3, 4, 5, 6] and curves.loss == LOSSES and curves.points == 7
    assert (curves.epoch_steps, curves.valid_acc) == ([3], [0.5]) and [s.stage for s in curves.stages] == [2]


def test_the_smoothed_line_is_cores_moving_average_and_the_stage_switch_is_marked():
    figure = _curves().figure("loss")
    by_name = {trace.name: trace for trace in figure.data}
    assert list(by_name["train (smoothed)"].y) == smooth(LOSSES)
    assert list(by_name["train (each step)"].y) == LOSSES
    (mark,) = figure.layout.shapes
    assert mark.x0 == 3.5 and figure.layout.annotations[0].text == "stage 2: every layer"
