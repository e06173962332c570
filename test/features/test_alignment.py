import pytest

from lerobot_ros.features.alignment import (
    Aligned,
    InputWatch,
    NotReady,
    ObservationAligner,
    StampedBuffer,
)


def test_as_of_never_returns_a_future_sample():
    buffer = StampedBuffer()
    for stamp in (1.0, 2.0, 3.0):
        buffer.add(stamp, f"v{stamp}")
    assert buffer.as_of(0.5) is None
    assert buffer.as_of(2.0) == (2.0, "v2.0")
    assert buffer.as_of(2.9) == (2.0, "v2.0")
    assert buffer.as_of(10.0) == (3.0, "v3.0")


def test_clock_jump_back_clears_old_timeline():
    buffer = StampedBuffer()
    buffer.add(5.0, "old")
    buffer.add(1.0, "new")
    assert buffer.as_of(6.0) == (1.0, "new")
    assert len(buffer) == 1


def test_capacity_bounds_memory():
    buffer = StampedBuffer(capacity=3)
    for stamp in range(10):
        buffer.add(float(stamp), stamp)
    assert len(buffer) == 3 and buffer.as_of(5.0) is None


def test_multi_rate_alignment_and_reasons():
    aligner = ObservationAligner(["state", "image"], max_age=0.05)
    for i in range(10):  # joints at 100 Hz
        aligner.add("state", i * 0.01, i)
    aligner.add("image", 0.0, "img0")
    aligner.add("image", 1 / 30, "img1")

    aligned = aligner.sample(0.05)
    assert isinstance(aligned, Aligned)
    assert aligned.values == {"state": 5, "image": "img1"}
    assert aligned.ages["image"] == pytest.approx(0.05 - 1 / 30)

    stale = aligner.sample(0.2)
    assert isinstance(stale, NotReady)
    assert "stale" in stale.reasons["image"] and "stale" in stale.reasons["state"]

    early = aligner.sample(-0.1)
    assert "only newer messages" in early.reasons["state"]


def test_missing_input_is_reported_by_name():
    aligner = ObservationAligner(["state", "image"], max_age=0.1)
    aligner.add("state", 1.0, 0)
    result = aligner.sample(1.0)
    assert isinstance(result, NotReady)
    assert result.reasons == {"image": "no message yet"}
    assert "image: no message yet" in str(result)
    assert aligner.newest_common_stamp() is None
    aligner.add("image", 0.9, 0)
    assert aligner.newest_common_stamp() == 0.9


def test_max_age_must_be_positive():
    with pytest.raises(ValueError):
        ObservationAligner(["a"], max_age=0)


def test_an_input_nothing_publishes_is_missing_after_the_timeout():
    watch = InputWatch(["state", "wrist"], timeout_s=3.0, now=100.0)
    publishers = {"state": 1, "wrist": 0}
    assert watch.missing(102.9, publishers) == {}
    assert watch.missing(103.0, publishers) == {"wrist": "nothing publishes it (3.0 s)"}
    watch.arrived("wrist", 103.5)  # it came after all
    watch.arrived("state", 103.8)
    assert watch.missing(104.0, {"state": 1, "wrist": 1}) == {}


def test_an_input_that_never_arrives_while_the_others_do_is_missing():
    watch = InputWatch(["state", "front"], timeout_s=1.0, now=0.0)
    publishers = {"state": 1, "front": 1}
    # Everything silent with publishers present: a lockstep sim between episodes.
    assert watch.missing(10.0, publishers) == {}
    watch.arrived("state", 9.8)
    (reason,) = watch.missing(10.0, publishers).values()
    assert reason.startswith("no message in 10.0 s while state arrive")
    # One that arrived before and pauses while another goes on is not missing.
    watch.arrived("front", 10.5)
    watch.arrived("state", 20.0)
    assert watch.missing(20.0, publishers) == {}


def test_a_restart_counts_silence_from_then():
    watch = InputWatch(["state"], timeout_s=1.0, now=0.0)
    watch.restart(50.0)
    assert watch.missing(50.5, {"state": 0}) == {}
    assert watch.missing(51.0, {"state": 0}) == {"state": "nothing publishes it (1.0 s)"}
