"""PickCubeSim: joint servoing, validation, seeding, images, task state, robot description."""

import os
import threading
import xml.etree.ElementTree as ET

import mujoco
import numpy as np
import pytest

from lerobot_ros.robots import panda
from lerobot_ros.sim import scene
from lerobot_ros.sim.pick_cube import PickCubeSim, SimConfig


def run(sim, steps):
    for _ in range(steps):
        sim.step()


def test_joint_targets_are_reached(sim):
    sim.reset(seed=0)
    target = panda.HOME_POSITION + np.array([0.3, 0.2, -0.2, 0.3, 0.4, -0.3, 0.5, -0.02])
    applied = sim.set_joint_targets(target)
    np.testing.assert_array_equal(applied, target)  # within limits: nothing clamped
    run(sim, 30)  # 1 s
    np.testing.assert_allclose(sim.joint_positions(), target, atol=3e-3)
    np.testing.assert_allclose(sim.joint_velocities(), 0.0, atol=2e-2)
    assert sim.time == pytest.approx(1.0)
    assert sim.episode_step == 30


def test_targets_outside_the_limits_are_clamped(sim):
    sim.reset(seed=0)
    lower, upper = panda.joint_limits()
    target = panda.HOME_POSITION.copy()
    target[0] = upper[0] + 1.0
    target[3] = lower[3] - 1.0
    target[7] = 0.5
    applied = sim.set_joint_targets(target)
    assert applied[0] == upper[0] and applied[3] == lower[3] and applied[7] == upper[7]
    np.testing.assert_array_equal(applied[[1, 2, 4, 5, 6]], target[[1, 2, 4, 5, 6]])
    np.testing.assert_array_equal(sim.joint_targets, applied)


@pytest.mark.parametrize(
    "bad",
    [
        np.full(8, np.nan),
        np.r_[panda.HOME_POSITION[:7], np.inf],
        np.zeros(7),
        np.zeros(9),
        np.zeros((2, 8)),
    ],
)
def test_invalid_targets_raise_and_change_nothing(sim, bad):
    sim.reset(seed=0)
    before = sim.joint_targets
    with pytest.raises(ValueError):
        sim.set_joint_targets(bad)
    np.testing.assert_array_equal(sim.joint_targets, before)


def test_same_seed_same_cube_pose_different_seed_different_pose(sim):
    poses = {}
    for seed in (1, 2, 1):
        sim.reset(seed=seed)
        position, quaternion = sim.cube_pose()
        if seed in poses:
            np.testing.assert_array_equal(position, poses[seed][0])
            np.testing.assert_array_equal(quaternion, poses[seed][1])
        poses[seed] = (position, quaternion)
    assert not np.allclose(poses[1][0], poses[2][0])
    np.testing.assert_array_equal(sim.joint_positions(), panda.HOME_POSITION)


def test_episodes_are_bit_identical_for_same_seed_and_actions():
    rng = np.random.default_rng(7)
    actions = panda.HOME_POSITION + rng.normal(0, 0.1, (15, 8)) * np.r_[np.ones(7), 0.1]
    records = []
    for _ in range(2):
        sim = PickCubeSim(SimConfig(image_width=64, image_height=48))
        sim.reset(seed=5)
        for action in actions:
            sim.set_joint_targets(action)
            sim.step()
        records.append((sim.data.qpos.copy(), sim.data.qvel.copy(), sim.render("wrist")))
        sim.close()
    for first, second in zip(*records, strict=True):
        np.testing.assert_array_equal(first, second)


def test_cube_spawns_inside_the_configured_area_and_rests_still(sim):
    config = sim.config
    for seed in range(5):
        sim.reset(seed=seed)
        start, start_quaternion = sim.cube_pose()
        assert config.cube_x_range[0] <= start[0] <= config.cube_x_range[1]
        assert config.cube_y_range[0] <= start[1] <= config.cube_y_range[1]
        yaw = 2 * np.arctan2(start_quaternion[3], start_quaternion[0])
        assert config.cube_yaw_range[0] <= yaw <= config.cube_yaw_range[1]
        run(sim, 30)
        position, quaternion = sim.cube_pose()
        np.testing.assert_allclose(position[:2], start[:2], atol=1e-3)
        assert position[2] == pytest.approx(scene.CUBE_REST_Z, abs=1e-3)
        assert abs(quaternion[0]) > 0 and np.linalg.norm(quaternion[1:3]) < 1e-3  # upright
        state = sim.task_state()
        assert not state.success and not state.grasped
        assert 0.0 <= state.reward < 0.3


def test_images_have_the_declared_size_and_show_something(sim):
    sim.reset(seed=3)
    for camera in sim.camera_names:
        image = sim.render(camera)
        assert image.shape == (sim.config.image_height, sim.config.image_width, 3)
        assert image.dtype == np.uint8
        assert image.std() > 10  # not a blank or single-color frame
    with pytest.raises(ValueError):
        sim.render("nope")
    with pytest.raises(ValueError):
        sim.camera_intrinsics("nope")


def _red_pixels_centroid(image):
    red = (image[..., 0] > 150) & (image[..., 1] < 80) & (image[..., 2] < 80)
    rows, columns = np.nonzero(red)
    assert rows.size > 10, "cube not visible"
    return columns.mean(), rows.mean()


@pytest.mark.parametrize("seed", [0, 11])
def test_intrinsics_project_the_cube_onto_its_pixels(sim, seed):
    """The pinhole model (fx, fy, cx, cy) and the optical frame pose from the URDF put the
    cube's center where the rendered cube is."""
    sim.reset(seed=seed)
    cube, _ = sim.cube_pose()
    optical = sim.model.body(panda.camera_frame_id("front")).id
    rotation = sim.data.xmat[optical].reshape(3, 3)
    in_camera = rotation.T @ (cube - sim.data.xpos[optical])
    assert in_camera[2] > 0  # in front of the camera
    top = rotation.T @ (cube + [0, 0, scene.CUBE_SIZE / 2] - sim.data.xpos[optical])
    fx, fy, cx, cy = sim.camera_intrinsics("front")
    assert fx == pytest.approx(fy)
    u = fx * in_camera[0] / in_camera[2] + cx
    v = fy * in_camera[1] / in_camera[2] + cy
    v_top = fy * top[1] / top[2] + cy
    centroid_u, centroid_v = _red_pixels_centroid(sim.render("front"))
    assert u == pytest.approx(centroid_u, abs=2.0)
    # The red pixels are the top face plus whichever side faces show (and are lit) for this
    # cube pose, so their centroid lies between the projections of the top face's center and
    # the cube's center.
    assert min(v, v_top) - 1.0 <= centroid_v <= max(v, v_top) + 1.0


def test_the_whole_spawn_area_is_in_the_front_view(sim):
    fx, fy, cx, cy = sim.camera_intrinsics("front")
    optical = sim.model.body(panda.camera_frame_id("front")).id
    rotation = sim.data.xmat[optical].reshape(3, 3)
    margin = scene.CUBE_SIZE
    for x in sim.config.cube_x_range:
        for y in sim.config.cube_y_range:
            corner = np.array([x, y, scene.CUBE_REST_Z])
            p = rotation.T @ (corner - sim.data.xpos[optical])
            u, v = fx * p[0] / p[2] + cx, fy * p[1] / p[2] + cy
            pixels_margin = fx * margin / p[2]
            assert pixels_margin <= u <= sim.config.image_width - pixels_margin
            assert pixels_margin <= v <= sim.config.image_height - pixels_margin


def test_task_state_reports_a_lifted_grasped_cube_as_success(sim):
    """Put the open hand around the cube, close it, then lift it with the arm servos."""
    sim.reset(seed=0)
    assert not sim.task_state().success
    cube, _ = sim.cube_pose()
    from lerobot_ros.sim.expert import top_down_rotation
    from lerobot_ros.sim.panda_kinematics import PandaKinematics

    kinematics = PandaKinematics()
    arm = sim.joint_positions()[:7]
    grasp = kinematics.solve_ik(cube, top_down_rotation(0.0), arm, iterations=200)
    # Reset with the arm already at the grasp pose, so nothing sweeps the cube away.
    sim.reset(seed=0)
    sim.place_arm(np.r_[grasp, panda.GRIPPER_OPEN])
    run(sim, 5)
    _, quaternion = sim.cube_pose()
    yaw = 2 * np.arctan2(quaternion[3], quaternion[0])
    grasp = kinematics.solve_ik(cube, top_down_rotation(yaw), grasp, iterations=200)
    sim.place_arm(np.r_[grasp, panda.GRIPPER_OPEN])
    run(sim, 5)
    sim.set_joint_targets(np.r_[grasp, panda.GRIPPER_CLOSED])
    run(sim, 15)
    assert sim.task_state().grasped
    lifted = kinematics.solve_ik(cube + [0, 0, 0.2], top_down_rotation(yaw), grasp, iterations=200)
    for fraction in np.linspace(0, 1, 30):
        sim.set_joint_targets(np.r_[grasp + fraction * (lifted - grasp), panda.GRIPPER_CLOSED])
        sim.step()
    run(sim, 10)
    state = sim.task_state()
    assert state.grasped and state.success and state.reward == 1.0
    assert state.lift > sim.config.lift_height
    # Letting go ends the success.
    sim.set_joint_targets(np.r_[lifted, panda.GRIPPER_OPEN])
    run(sim, 20)
    state = sim.task_state()
    assert not state.success and state.lift < 0.01


def test_joint_efforts_hold_the_arm_against_gravity(sim):
    sim.reset(seed=0)
    run(sim, 10)
    efforts = sim.joint_efforts()
    assert efforts.shape == (8,)
    assert np.all(np.abs(efforts) <= panda.effort_limits() + 1e-9)
    assert abs(efforts[1]) > 1.0 or abs(efforts[3]) > 1.0  # shoulder/elbow carry the arm


def test_scene_objects_describe_table_and_cube(sim):
    sim.reset(seed=4)
    objects = {obj.name: obj for obj in sim.scene_objects()}
    assert set(objects) == {"table", "cube"}
    cube = objects["cube"]
    np.testing.assert_array_equal(cube.position, sim.cube_pose()[0])
    np.testing.assert_allclose(cube.size, [scene.CUBE_SIZE] * 3)
    table = objects["table"]
    assert table.shape == "box"
    assert table.position[2] + table.size[2] / 2 == pytest.approx(scene.TABLE_TOP_Z)


def test_robot_description_parses_and_compiles():
    urdf = panda.robot_description()
    robot = ET.fromstring(urdf)
    links = {link.get("name") for link in robot.iter("link")}
    for name in ("world", "panda_link0", "panda_hand", "panda_hand_tcp"):
        assert name in links
    for camera in panda.CAMERA_NAMES:
        assert panda.camera_frame_id(camera) in links
    meshes = [mesh.get("filename") for mesh in robot.iter("mesh")]
    assert meshes and all(m.startswith("file:///") for m in meshes)
    model = mujoco.MjSpec.from_string(scene.mujoco_urdf(urdf)).compile()
    assert {model.joint(i).name for i in range(model.njnt)} >= set(panda.JOINT_NAMES)
    assert panda.robot_description() is urdf  # cached


def test_joint_limits_come_from_the_urdf():
    lower, upper = panda.joint_limits()
    robot = ET.parse(panda.description_dir() / "urdf" / "panda.urdf").getroot()
    for i, name in enumerate(panda.JOINT_NAMES):
        limit = next(j for j in robot.iter("joint") if j.get("name") == name).find("limit")
        assert lower[i] == float(limit.get("lower")) and upper[i] == float(limit.get("upper"))
    assert np.all(lower <= panda.HOME_POSITION) and np.all(panda.HOME_POSITION <= upper)
    assert len(panda.velocity_limits()) == len(panda.effort_limits()) == 8


def test_optical_frames_follow_rep_103():
    """Optical z forward is the camera body's x, optical x right is the body's -y."""
    model = scene.build_model()
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    for camera in panda.CAMERA_NAMES:
        body = data.xmat[model.body(f"{camera}_camera_link").id].reshape(3, 3)
        optical = data.xmat[model.body(panda.camera_frame_id(camera)).id].reshape(3, 3)
        np.testing.assert_allclose(optical[:, 2], body[:, 0], atol=1e-7)
        np.testing.assert_allclose(optical[:, 0], -body[:, 1], atol=1e-7)
        np.testing.assert_allclose(optical[:, 1], -body[:, 2], atol=1e-7)


@pytest.mark.skipif(os.environ.get("MUJOCO_GL") != "egl", reason="EGL-specific context handling")
def test_render_works_from_another_thread(sim):
    """ROS executors may run the render callback on a different thread each time."""
    sim.reset(seed=2)
    expected = sim.render("front")
    results = []
    for _ in range(2):
        worker = threading.Thread(target=lambda: results.append(sim.render("front")))
        worker.start()
        worker.join()
    assert len(results) == 2
    for image in results:
        np.testing.assert_array_equal(image, expected)
    np.testing.assert_array_equal(sim.render("front"), expected)
