"""The compiled scene, checked the way mujoco_menagerie checks its models."""

import mujoco
import numpy as np
import pytest

from lerobot_ros.robots import panda
from lerobot_ros.sim import scene


@pytest.fixture(scope="module")
def model():
    return scene.build_model()


def test_scene_has_the_robot_the_cube_and_the_cameras(model):
    for name in panda.JOINT_NAMES:
        joint_type = int(model.joint(name).type[0])
        assert joint_type in (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE))
        assert model.actuator(name).trnid[0] == model.joint(name).id
    assert model.nu == len(panda.JOINT_NAMES)
    for name in panda.CAMERA_NAMES:
        assert model.camera(name).id >= 0
    assert model.body("cube").jntnum[0] == 1
    assert model.vis.global_.offwidth >= 224 and model.vis.global_.offheight >= 224


def test_cameras_sit_at_the_urdf_optical_frames(model):
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    for name in panda.CAMERA_NAMES:
        optical = model.body(panda.camera_frame_id(name)).id
        camera = model.camera(name).id
        np.testing.assert_allclose(data.cam_xpos[camera], data.xpos[optical], atol=1e-9)
        optical_axes = data.xmat[optical].reshape(3, 3)
        camera_axes = data.cam_xmat[camera].reshape(3, 3)
        # MuJoCo camera: looks along -z, y up. Optical frame: looks along +z, y down.
        np.testing.assert_allclose(camera_axes[:, 2], -optical_axes[:, 2], atol=1e-9)
        np.testing.assert_allclose(camera_axes[:, 1], -optical_axes[:, 1], atol=1e-9)
        np.testing.assert_allclose(camera_axes[:, 0], optical_axes[:, 0], atol=1e-9)


def test_noisy_random_controls_for_one_second_raise_no_warning(model):
    data = mujoco.MjData(model)
    index = scene.SceneIndex.of(model)
    data.qpos[index.joint_qpos] = panda.HOME_POSITION
    data.qpos[index.mimic_qpos] = panda.HOME_POSITION[-1]
    mujoco.mj_forward(model, data)
    rng = np.random.default_rng(0)
    low, high = model.actuator_ctrlrange[:, 0], model.actuator_ctrlrange[:, 1]
    ctrl = data.ctrl.copy()
    steps = int(round(1.0 / model.opt.timestep))
    for step in range(steps):
        if step % 20 == 0:  # a new random target every 40 ms, around the current one
            ctrl = np.clip(ctrl + rng.normal(0, 0.3, model.nu) * (high - low) / 4, low, high)
            data.ctrl[:] = ctrl
        mujoco.mj_step(model, data)
    for warning_type in mujoco.mjtWarning.__members__.values():
        if warning_type == mujoco.mjtWarning.mjNWARNING:
            continue
        assert data.warning[warning_type].number == 0, warning_type
    assert np.all(np.isfinite(data.qpos)) and np.all(np.isfinite(data.qvel))


def test_gravity_does_not_sag_the_arm_at_home(model):
    data = mujoco.MjData(model)
    index = scene.SceneIndex.of(model)
    data.qpos[index.joint_qpos] = panda.HOME_POSITION
    data.qpos[index.mimic_qpos] = panda.HOME_POSITION[-1]
    data.ctrl[index.actuators] = panda.HOME_POSITION
    mujoco.mj_step(model, data, nstep=int(round(1.0 / model.opt.timestep)))
    np.testing.assert_allclose(data.qpos[index.joint_qpos], panda.HOME_POSITION, atol=2e-3)
