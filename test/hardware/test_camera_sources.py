"""Camera sources and the capture loop without ROS: OpenCV on video files the tests write,
RealSense on a pyrealsense2 software device, pacing and reconnecting on both."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest

from lerobot_ros.emulators.software_realsense import SoftwareRealSense
from lerobot_ros.hardware.cameras import (
    Backoff,
    CameraError,
    CameraSettings,
    CameraSource,
    CameraStream,
    EndOfStream,
    Frame,
    FramePacer,
    Intrinsics,
    make_source,
    output_size,
    resize_frame,
)
from lerobot_ros.hardware.cameras.opencv_source import OpenCVSource, parse_target
from lerobot_ros.hardware.cameras.realsense_source import (
    RealSenseSource,
    capture_time,
    millimetres,
)
from lerobot_ros.resources import node_defaults

VIDEO_SIZE = (96, 64)  # width, height
VIDEO_FRAMES = 12


def frame_colour(index: int) -> tuple[int, int, int]:
    """RGB of frame ``index`` of the test videos: red counts frames, green/blue are fixed."""
    return 10 + 20 * index, 0, 200


def frame_index(rgb: np.ndarray) -> int:
    """Which test-video frame an RGB image is (MJPG is lossy: a few levels of error)."""
    red, green, blue = rgb[rgb.shape[0] // 2, rgb.shape[1] // 2].astype(int)
    assert green < 20 and blue > 180, f"not RGB order of a test frame: {(red, green, blue)}"
    return round((red - 10) / 20)


def write_video(path, frames: int = VIDEO_FRAMES, size=VIDEO_SIZE) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, size)
    assert writer.isOpened()
    for index in range(frames):
        red, green, blue = frame_colour(index)
        writer.write(np.full((size[1], size[0], 3), (blue, green, red), np.uint8))  # BGR
    writer.release()


@pytest.fixture
def video(tmp_path):
    path = tmp_path / "counter.avi"
    write_video(path)
    return path


class RecordingLogger:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def info(self, message: str) -> None:
        self.lines.append(("info", message))

    def warning(self, message: str) -> None:
        self.lines.append(("warning", message))

    def error(self, message: str) -> None:
        self.lines.append(("error", message))

    def text(self, level: str) -> str:
        return "\n".join(m for lvl, m in self.lines if lvl == level)


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


# --- frames and intrinsics -------------------------------------------------------------------
def test_pinhole_from_field_of_view_and_resizing():
    intrinsics = Intrinsics.from_horizontal_fov(96, 64, 90.0)
    assert intrinsics.pinhole == pytest.approx((48.0, 48.0, 47.5, 31.5))
    half = intrinsics.resized(48, 32)
    # Same as the pinhole of a 48x32 camera with the same field of view.
    assert half.pinhole == pytest.approx(Intrinsics.from_horizontal_fov(48, 32, 90.0).pinhole)
    assert (half.width, half.height) == (48, 32)
    for fov in (0.0, 180.0, -10.0):
        with pytest.raises(ValueError, match="field of view"):
            Intrinsics.from_horizontal_fov(96, 64, fov)


def test_output_size_keeps_native_or_aspect_ratio():
    assert output_size(640, 480, 0, 0) == (640, 480)
    assert output_size(640, 480, 320, 0) == (320, 240)
    assert output_size(640, 480, 0, 120) == (160, 120)
    assert output_size(640, 480, 100, 100) == (100, 100)
    with pytest.raises(ValueError, match="negative"):
        output_size(640, 480, -1, 0)


def test_resize_scales_color_depth_and_intrinsics_together():
    depth = np.zeros((60, 80), np.uint16)
    depth[:, 40:] = 1500  # a step: nearest neighbour must not invent values in between
    frame = Frame(
        color=np.full((60, 80, 3), 50, np.uint8),
        capture_time=1.0,
        intrinsics=Intrinsics.from_horizontal_fov(80, 60, 70.0),
        depth_mm=depth,
    )
    small = resize_frame(frame, 40, 30)
    assert small.color.shape == (30, 40, 3) and small.depth_mm.shape == (30, 40)
    assert set(np.unique(small.depth_mm)) == {0, 1500}
    assert small.intrinsics == frame.intrinsics.resized(40, 30)
    assert small.capture_time == 1.0
    assert resize_frame(frame, 0, 0) is frame


# --- pacing and backoff ----------------------------------------------------------------------
def test_backoff_doubles_up_to_the_cap_and_resets():
    backoff = Backoff(0.5, 3.0)
    assert [backoff.next_delay() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5
    with pytest.raises(ValueError, match="reconnect"):
        Backoff(2.0, 1.0)


@pytest.mark.parametrize("requested, expected", [(20.0, 60), (10.0, 30), (15.0, 45), (60.0, 90)])
def test_pacer_keeps_the_requested_rate_of_a_30hz_camera(requested, expected):
    pacer = FramePacer(requested)
    kept = [t for t in (i / 30.0 for i in range(90)) if pacer.accept(t)]
    assert abs(len(kept) - expected) <= 1
    gaps = np.diff(kept)
    assert gaps.min() >= 1 / 30 - 1e-9  # never two of the same frame interval


def test_pacer_restarts_after_a_gap_instead_of_bursting():
    pacer = FramePacer(10.0)
    assert pacer.accept(0.0)
    # The camera was silent for 5 s: the next frames are paced from now, not all accepted.
    kept = [t for t in (5.0 + i / 30.0 for i in range(30)) if pacer.accept(t)]
    assert abs(len(kept) - 10) <= 1
    with pytest.raises(ValueError, match="fps"):
        FramePacer(0.0)


# --- OpenCV ----------------------------------------------------------------------------------
def test_parse_target():
    assert parse_target(0) == 0 and parse_target("2") == 2
    assert parse_target("/dev/video4") == "/dev/video4"
    assert parse_target(" clip.avi ") == "clip.avi"
    for bad in ("", -1, True):
        with pytest.raises(ValueError):
            parse_target(bad)


def test_opencv_video_file_frames_in_order_as_rgb_and_looping(video):
    with OpenCVSource(str(video), loop=True, horizontal_fov_deg=90.0) as source:
        assert not source.live
        frames = [source.read() for _ in range(VIDEO_FRAMES + 5)]
    assert [frame_index(f.color) for f in frames] == list(range(VIDEO_FRAMES)) + list(range(5))
    first = frames[0]
    assert first.color.shape == (VIDEO_SIZE[1], VIDEO_SIZE[0], 3) and first.color.dtype == np.uint8
    assert first.intrinsics.pinhole == pytest.approx((48.0, 48.0, 47.5, 31.5))
    times = [f.capture_time for f in frames]
    assert times == sorted(times) and abs(time.monotonic() - times[-1]) < 1.0


def test_opencv_video_file_played_once_ends(video):
    with OpenCVSource(video.as_posix(), loop=False) as source:
        for _ in range(VIDEO_FRAMES):
            source.read()
        with pytest.raises(EndOfStream, match=f"after {VIDEO_FRAMES} frames"):
            source.grab()


def test_opencv_camera_matrix_for_the_native_size(video):
    with OpenCVSource(str(video), camera_matrix=(100.0, 110.0, 0.0, 30.0)) as source:
        intrinsics = source.read().intrinsics
    assert intrinsics.pinhole == (100.0, 110.0, 47.5, 30.0)  # cx 0 = the image center


def test_opencv_missing_or_unreadable_sources_name_what_is_wrong(tmp_path):
    missing = tmp_path / "nope.avi"
    with pytest.raises(CameraError, match=f"video file {missing} not found"):
        OpenCVSource(str(missing)).connect()
    garbage = tmp_path / "garbage.avi"
    garbage.write_text("not a video")
    with pytest.raises(CameraError, match="garbage.avi"):
        source = OpenCVSource(str(garbage))
        source.connect()
        source.grab()
    with pytest.raises(CameraError, match="camera device 63"):
        OpenCVSource(63).connect()


# --- RealSense on a software device ----------------------------------------------------------
@pytest.fixture
def software_camera():
    camera = SoftwareRealSense(color_size=(80, 60), depth_size=(64, 48), fps=30).start()
    yield camera
    camera.stop()


def test_realsense_color_and_aligned_depth(software_camera):
    source = RealSenseSource(depth=True, find_device=lambda: software_camera.device)
    with source:
        frames = [source.read() for _ in range(10)]
        ages = time.monotonic() - frames[-1].capture_time
    assert "Software RealSense" in source.describe()
    for frame in frames:
        assert frame.color.shape == (60, 80, 3) and frame.color.dtype == np.uint8
        assert tuple(frame.color[30, 40])[1:] == (7, 200)  # RGB, not BGR
        assert frame.depth_mm.shape == (60, 80)  # aligned: the color image's size
        assert frame.depth_mm.dtype == np.uint16 and frame.depth_mm[30, 40] == 1000
    reds = [int(f.color[0, 0, 0]) for f in frames]
    assert reds == sorted(reds) and len(set(reds)) == len(reds)  # new frames, in order
    assert frames[0].intrinsics.width == 80 and frames[0].intrinsics.cx == pytest.approx(39.5)
    # system_time stamps taken 50 ms before injection: the capture time is that old.
    assert 0.03 < ages < 0.2


def test_realsense_depth_in_other_units_is_published_in_mm():
    camera = SoftwareRealSense(depth_units=0.0001, depth_m=1.25).start()  # a D405's units
    try:
        with RealSenseSource(depth=True, find_device=lambda: camera.device) as source:
            depth = source.read().depth_mm
        assert depth[30, 40] == 1250
    finally:
        camera.stop()


def test_realsense_unavailable_mode_lists_what_the_camera_has(software_camera):
    source = RealSenseSource(
        capture_width=1920, capture_height=1080, find_device=lambda: software_camera.device
    )
    with pytest.raises(CameraError, match=r"1920x1080.*80x60@30"):
        source.connect()


def test_realsense_silent_camera_times_out_then_reconnects(software_camera):
    source = RealSenseSource(timeout_s=0.5, find_device=lambda: software_camera.device)
    with source:
        source.read()
        software_camera.pause()
        time.sleep(0.1)
        with pytest.raises(CameraError, match="no frames from .* for 0.5 s"):
            source.read()
        source.disconnect()
        software_camera.resume()
        source.connect()
        assert source.read().color.shape == (60, 80, 3)


def test_realsense_capture_time_mapping():
    wall, mono = 1_700_000_000.0, 500.0
    # Host-clock stamps (global_time, system_time): the age is kept.
    assert capture_time((wall - 0.04) * 1000, True, wall, mono) == pytest.approx(mono - 0.04)
    # A device clock with an unknown epoch, or an implausible age: the arrival time.
    assert capture_time(123456.0, False, wall, mono) == mono
    assert capture_time((wall - 30.0) * 1000, True, wall, mono) == mono
    assert capture_time((wall + 5.0) * 1000, True, wall, mono) == mono


def test_depth_millimetres_saturate():
    raw = np.array([[0, 1, 65535]], np.uint16)
    assert millimetres(raw, 0.001).tolist() == [[0, 1, 65535]]
    assert millimetres(raw, 0.0001).tolist() == [[0, 0, 6554]]
    assert millimetres(raw, 0.01).tolist() == [[0, 10, 65535]]


# --- settings --------------------------------------------------------------------------------
def settings(**overrides) -> CameraSettings:
    return CameraSettings.from_parameters({**node_defaults("camera_node"), **overrides})


def test_settings_defaults_and_sources(video):
    defaults = settings()
    assert defaults.source == "opencv" and defaults.device == 0 and defaults.fps > 0
    assert isinstance(make_source(settings(device=str(video))), OpenCVSource)
    realsense = make_source(settings(source="realsense", serial_number=1234, depth=True))
    assert isinstance(realsense, RealSenseSource) and realsense.serial_number == "1234"
    assert settings(fx=500.0).camera_matrix == (500.0, 500.0, 0.0, 0.0)
    assert settings(fps=15).fps == 15.0  # an int from the command line is fine


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"fps": 0.0}, "fps must be positive"),
        ({"fps": -5.0}, "fps must be positive"),
        ({"source": "kinect"}, "unknown source 'kinect'"),
        ({"width": -1}, "width must not be negative"),
        ({"capture_height": -2}, "capture_height must not be negative"),
        ({"horizontal_fov_deg": 200.0}, "horizontal_fov_deg"),
        ({"reconnect_min_s": 0.0}, "reconnect_min_s"),
        ({"depth": True}, "depth is only available from a realsense"),
        ({"device": ""}, "device"),
        ({"camera_name": "a/b"}, "camera_name"),
        ({"fps": "fast"}, "fps must be a number"),
        ({"fy": 300.0}, "fy is set but fx is not"),
    ],
)
def test_settings_reject_bad_parameters_naming_them(overrides, message):
    with pytest.raises(ValueError, match=message):
        settings(**overrides)


# --- the capture loop ------------------------------------------------------------------------
class FlakySource(CameraSource):
    """A live camera at ~100 Hz that fails to open ``open_failures`` times, then delivers
    ``frames_per_connection`` frames per connection before it is 'unplugged'."""

    live = True
    opened = 0
    open_attempts = 0

    def __init__(self, open_failures: int, frames_per_connection: int) -> None:
        self.open_failures, self.frames_per_connection = open_failures, frames_per_connection
        self.delivered = 0

    def describe(self) -> str:
        return "flaky camera"

    def connect(self) -> None:
        FlakySource.open_attempts += 1
        if FlakySource.open_attempts <= self.open_failures:
            raise CameraError("flaky camera is unplugged")
        FlakySource.opened += 1

    def grab(self) -> float:
        if self.delivered == self.frames_per_connection:
            raise CameraError("flaky camera stopped delivering frames")
        time.sleep(0.01)
        self.delivered += 1
        return time.monotonic()

    def retrieve(self) -> Frame:
        return Frame(
            np.zeros((4, 6, 3), np.uint8),
            time.monotonic(),
            Intrinsics.from_horizontal_fov(6, 4, 60),
        )

    def disconnect(self) -> None:
        pass


def test_stream_retries_with_backoff_and_resumes_after_losing_the_camera():
    FlakySource.opened = FlakySource.open_attempts = 0
    frames: list[Frame] = []
    logger = RecordingLogger()
    stream = CameraStream(
        lambda: FlakySource(open_failures=2, frames_per_connection=5),
        fps=50.0,
        on_frame=frames.append,
        logger=logger,
        width=12,
        backoff=Backoff(0.05, 0.2),
        name="front",
    ).start()
    try:
        assert wait_for(lambda: FlakySource.opened >= 3 and len(frames) >= 12, 10.0)
        assert stream.alive
    finally:
        stream.stop()
    assert not stream.alive
    errors = logger.text("error")
    assert "front: flaky camera is unplugged; retrying in 0.1 s" in errors  # second failure
    assert "camera lost: flaky camera stopped delivering frames" in errors
    assert "front: streaming from flaky camera" in logger.text("info")
    assert frames[0].color.shape == (8, 12, 3)  # resized, aspect ratio kept


def test_stream_plays_a_file_at_the_requested_rate_then_ends(video):
    frames: list[Frame] = []
    logger = RecordingLogger()
    stream = CameraStream(
        lambda: OpenCVSource(str(video), loop=False), 20.0, frames.append, logger
    ).start()
    started = time.monotonic()
    assert wait_for(lambda: stream.ended, 10.0)
    elapsed = time.monotonic() - started
    stream.stop()
    assert [frame_index(f.color) for f in frames] == list(range(VIDEO_FRAMES))
    # 12 frames at 20 Hz take 0.55 s: a file is paced, not decoded as fast as possible.
    assert 0.45 < elapsed < 3.0
    assert "stopped publishing (loop is off)" in logger.text("info")
    assert not logger.text("error")


def test_stream_paces_a_30hz_realsense_to_10hz(software_camera):
    frames: list[Frame] = []
    stream = CameraStream(
        lambda: RealSenseSource(depth=True, find_device=lambda: software_camera.device),
        10.0,
        frames.append,
        RecordingLogger(),
    ).start()
    try:
        assert wait_for(lambda: len(frames) >= 1, 10.0)
        count = len(frames)
        time.sleep(2.0)
        rate = (len(frames) - count) / 2.0
    finally:
        stream.stop()
    assert 6.0 < rate < 12.0, rate
    assert all(f.depth_mm.shape == f.color.shape[:2] for f in frames)


def test_stream_stops_promptly_while_waiting_to_retry(tmp_path):
    logger = RecordingLogger()
    stream = CameraStream(
        lambda: OpenCVSource(str(tmp_path / "never.avi")),
        30.0,
        lambda frame: None,
        logger,
        backoff=Backoff(5.0, 5.0),
    ).start()
    assert wait_for(lambda: "never.avi not found" in logger.text("error"), 5.0)
    stopping = threading.Thread(target=stream.stop)
    started = time.monotonic()
    stopping.start()
    stopping.join(3.0)
    assert time.monotonic() - started < 1.0 and not stream.alive
