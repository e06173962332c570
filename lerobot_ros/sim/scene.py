"""The MuJoCo scene: the Panda from :func:`robot_description`, a table, a cube and two cameras.

The robot is compiled from the very URDF published on /robot_description, so the simulated
kinematics and the camera poses are those RViz and TF show. MuJoCo-only choices live here:
collision meshes double as visuals (MuJoCo cannot read the COLLADA visuals), position
actuators stand in for the Franka joint impedance controller, and gravity is compensated
inside the "controller" as on the real arm.
"""

from __future__ import annotations

import math
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import mujoco
import numpy as np

from lerobot_ros.robots import panda

TABLE_TOP_Z = 0.0  # the robot base stands on the table top, which is the world z = 0 plane
TABLE_HEIGHT = 0.75
TABLE_HALF_SIZE = np.array([0.7, 0.6, TABLE_HEIGHT / 2])
TABLE_CENTER = np.array([0.35, 0.0, TABLE_TOP_Z - TABLE_HEIGHT / 2])
CUBE_SIZE = 0.05  # edge length, m; the open gripper spans 8 cm
CUBE_MASS = 0.1
CUBE_REST_Z = TABLE_TOP_Z + CUBE_SIZE / 2

TABLE_RGBA = (0.55, 0.42, 0.3, 1.0)
CUBE_RGBA = (0.85, 0.15, 0.15, 1.0)
FLOOR_RGBA = (0.3, 0.33, 0.36, 1.0)

# Vertical field of view of each camera, degrees. The front camera frames the spawn area and
# the arm; the wrist camera is wide like the small depth cameras mounted on Franka hands.
CAMERA_FOVY_DEG = {"front": 50.0, "wrist": 70.0}

# Position-servo gains per joint (N m/rad, N m s/rad), in panda.ARM_JOINT_NAMES order: stiff
# enough for mrad tracking of the heavy proximal links. kv = kp / 20 is the least damping
# that still gives no overshoot on a 0.2 rad step of every joint (settles to ~2 mrad in
# 0.2 s). Gravity is compensated separately, so kp only fights inertia and contact.
ARM_KP = np.array([4500.0, 4500.0, 3500.0, 3500.0, 2000.0, 2000.0, 2000.0])
ARM_KV = ARM_KP / 20.0
ARM_ARMATURE = 0.1
# Gripper: one servo on panda_finger_joint1, the second finger follows through an equality.
# A closed command on a 5 cm cube leaves ~2.5 cm of error, i.e. a firm ~35 N squeeze.
GRIPPER_KP = 1500.0
GRIPPER_KV = 40.0
GRIPPER_ARMATURE = 0.05
GRIPPER_FORCE_LIMIT = 70.0  # N, the Franka Hand's continuous force

# Collision bitmasks: the robot collides with the environment but not with itself (the
# expert never folds the arm onto itself, and self-contacts of coarse meshes only add
# spurious forces); environment objects collide with everything.
_ROBOT_CONTYPE, _ROBOT_CONAFFINITY = 2, 1
_ENV_CONTYPE, _ENV_CONAFFINITY = 1, 3


def mujoco_urdf(urdf_text: str) -> str:
    """The URDF as MuJoCo should read it: no COLLADA visuals, plain mesh paths, no fusing.

    Bodies of fixed joints are kept (fusestatic off) so the hand, TCP and camera frames exist
    by name in the compiled model.
    """
    robot = ET.fromstring(urdf_text)
    for link in robot.iter("link"):
        for visual in link.findall("visual"):
            link.remove(visual)
    for mesh in robot.iter("mesh"):
        uri = mesh.get("filename", "")
        if uri.startswith("file://"):
            mesh.set("filename", urllib.request.url2pathname(urllib.parse.urlparse(uri).path))
    extension = ET.Element("mujoco")
    ET.SubElement(
        extension, "compiler", strippath="false", discardvisual="false", fusestatic="false"
    )
    robot.insert(0, extension)
    return ET.tostring(robot, encoding="unicode")


def _robot_geom_rgba(body_name: str) -> tuple[float, float, float, float]:
    if body_name in ("panda_hand", "panda_leftfinger", "panda_rightfinger", "panda_link0"):
        return (0.25, 0.25, 0.27, 1.0)
    return (0.92, 0.92, 0.92, 1.0)


def _configure_robot(spec: mujoco.MjSpec) -> None:
    lower, upper = panda.joint_limits()
    efforts = panda.effort_limits()
    for body in spec.bodies:
        if body.name == "world":
            continue
        body.gravcomp = 1.0  # the Franka controller cancels gravity on its own links
        for geom in body.geoms:
            geom.contype, geom.conaffinity = _ROBOT_CONTYPE, _ROBOT_CONAFFINITY
            geom.rgba = _robot_geom_rgba(body.name)
            geom.friction = (1.0, 0.005, 0.0001)

    for index, name in enumerate(panda.ARM_JOINT_NAMES):
        joint = spec.joint(name)
        joint.armature = ARM_ARMATURE
        joint.damping = (0.0, 0.0, 0.0)  # all damping comes from the servo kv
        # Route gravity compensation through the actuator so joint efforts read like the
        # measured torques of the real arm, and cap the total at the URDF effort limit.
        joint.actgravcomp = True
        joint.actfrclimited = True
        joint.actfrcrange = (-efforts[index], efforts[index])
        actuator = spec.add_actuator(name=name, target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        actuator.set_to_position(kp=ARM_KP[index], kv=ARM_KV[index])
        actuator.ctrllimited = True
        actuator.ctrlrange = (lower[index], upper[index])

    for name in (panda.GRIPPER_JOINT_NAME, panda.MIMIC_GRIPPER_JOINT_NAME):
        joint = spec.joint(name)
        joint.armature = GRIPPER_ARMATURE
        joint.damping = (0.0, 0.0, 0.0)
    gripper = spec.add_actuator(
        name=panda.GRIPPER_JOINT_NAME,
        target=panda.GRIPPER_JOINT_NAME,
        trntype=mujoco.mjtTrn.mjTRN_JOINT,
    )
    gripper.set_to_position(kp=GRIPPER_KP, kv=GRIPPER_KV)
    gripper.ctrllimited = True
    gripper.ctrlrange = (lower[-1], upper[-1])
    gripper.forcelimited = True
    gripper.forcerange = (-GRIPPER_FORCE_LIMIT, GRIPPER_FORCE_LIMIT)


def _add_environment(spec: mujoco.MjSpec) -> None:
    world = spec.worldbody
    world.add_geom(
        name="floor",
        type=mujoco.mjtGeom.mjGEOM_PLANE,
        size=(3.0, 3.0, 0.05),
        pos=(0.0, 0.0, TABLE_TOP_Z - TABLE_HEIGHT),
        rgba=FLOOR_RGBA,
        contype=_ENV_CONTYPE,
        conaffinity=_ENV_CONAFFINITY,
    )
    world.add_geom(
        name="table",
        type=mujoco.mjtGeom.mjGEOM_BOX,
        size=TABLE_HALF_SIZE,
        pos=TABLE_CENTER,
        rgba=TABLE_RGBA,
        friction=(1.0, 0.005, 0.0001),
        contype=_ENV_CONTYPE,
        conaffinity=_ENV_CONAFFINITY,
    )
    cube = world.add_body(name="cube", pos=(0.5, 0.0, CUBE_REST_Z))
    cube.add_freejoint(name="cube_joint")
    cube.add_geom(
        name="cube",
        type=mujoco.mjtGeom.mjGEOM_BOX,
        size=(CUBE_SIZE / 2,) * 3,
        mass=CUBE_MASS,
        rgba=CUBE_RGBA,
        # High sliding friction and some torsional friction (condim 4) so a pinch grasp
        # neither slips nor lets the cube spin about the finger axis.
        friction=(1.5, 0.01, 0.0001),
        condim=4,
        priority=1,
        contype=_ENV_CONTYPE,
        conaffinity=_ENV_CONAFFINITY,
    )
    # No shadows anywhere: they are the most expensive part of offscreen rendering.
    world.add_light(
        name="top",
        pos=(0.4, 0.0, 2.0),
        dir=(0.0, 0.0, -1.0),
        type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL,
        diffuse=(0.6, 0.6, 0.6),
        specular=(0.1, 0.1, 0.1),
        castshadow=False,
    )
    world.add_light(
        name="front",
        pos=(1.5, 0.5, 1.5),
        dir=(-1.0, -0.3, -1.0),
        type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL,
        diffuse=(0.3, 0.3, 0.3),
        specular=(0.0, 0.0, 0.0),
        castshadow=False,
    )


def _add_cameras(spec: mujoco.MjSpec) -> None:
    """Cameras at the URDF optical frames.

    A MuJoCo camera looks along its -z axis with y up; an optical frame looks along +z with
    y down. The two differ by half a turn about x, i.e. quaternion (w, x, y, z) = (0, 1, 0, 0).
    """
    for name in panda.CAMERA_NAMES:
        body = spec.body(panda.camera_frame_id(name))
        body.add_camera(name=name, quat=(0.0, 1.0, 0.0, 0.0), fovy=CAMERA_FOVY_DEG[name])


def build_spec(
    image_width: int = 224, image_height: int = 224, physics_dt: float = 0.002
) -> mujoco.MjSpec:
    """The scene as an editable MjSpec (see :func:`build_model`)."""
    spec = mujoco.MjSpec.from_string(mujoco_urdf(panda.robot_description()))
    spec.modelname = "panda_pick_cube"
    spec.option.timestep = physics_dt
    # implicitfast integrates the servo damping implicitly: stable with stiff gains at 2 ms.
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    # Elliptic friction cones with a high impratio make pinch grasps hold without creep.
    spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    spec.option.impratio = 10.0
    _configure_robot(spec)
    _add_environment(spec)
    _add_cameras(spec)
    spec.visual.global_.offwidth = max(int(image_width), 64)
    spec.visual.global_.offheight = max(int(image_height), 64)
    spec.visual.quality.shadowsize = 0
    spec.visual.quality.offsamples = 0  # no multisampling: cheaper, and the images are small
    spec.visual.headlight.ambient = (0.35, 0.35, 0.35)
    spec.visual.headlight.diffuse = (0.3, 0.3, 0.3)
    spec.visual.headlight.specular = (0.0, 0.0, 0.0)
    spec.stat.center = (0.4, 0.0, 0.2)
    spec.stat.extent = 1.2
    return spec


def build_model(
    image_width: int = 224, image_height: int = 224, physics_dt: float = 0.002
) -> mujoco.MjModel:
    """Compile the pick-cube scene; the offscreen buffer fits images of the given size."""
    if image_width <= 0 or image_height <= 0:
        raise ValueError(f"image size must be positive, got {image_width}x{image_height}")
    if not (physics_dt > 0 and math.isfinite(physics_dt)):
        raise ValueError(f"physics_dt must be positive, got {physics_dt}")
    return build_spec(image_width, image_height, physics_dt).compile()


@dataclass(frozen=True)
class SceneIndex:
    """Addresses into MjModel/MjData arrays, looked up once by name."""

    joint_qpos: np.ndarray  # qpos address of each of panda.JOINT_NAMES
    joint_dof: np.ndarray  # dof address of each of panda.JOINT_NAMES
    mimic_qpos: int
    actuators: np.ndarray  # actuator id for each of panda.JOINT_NAMES
    cube_body: int
    cube_geom: int
    cube_qpos: int  # 7 values: position, quaternion (w, x, y, z)
    cube_dof: int  # 6 values
    table_geom: int
    tcp_body: int
    hand_body: int
    finger_bodies: tuple[int, int]
    cameras: dict[str, int]

    @classmethod
    def of(cls, model: mujoco.MjModel) -> SceneIndex:
        def body_id(name: str) -> int:
            return mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, name)

        cube_joint = model.joint("cube_joint")
        return cls(
            joint_qpos=np.array([model.joint(n).qposadr[0] for n in panda.JOINT_NAMES]),
            joint_dof=np.array([model.joint(n).dofadr[0] for n in panda.JOINT_NAMES]),
            mimic_qpos=int(model.joint(panda.MIMIC_GRIPPER_JOINT_NAME).qposadr[0]),
            actuators=np.array([model.actuator(n).id for n in panda.JOINT_NAMES]),
            cube_body=body_id("cube"),
            cube_geom=model.geom("cube").id,
            cube_qpos=int(cube_joint.qposadr[0]),
            cube_dof=int(cube_joint.dofadr[0]),
            table_geom=model.geom("table").id,
            tcp_body=body_id(panda.TCP_LINK),
            hand_body=body_id(panda.HAND_LINK),
            finger_bodies=(body_id("panda_leftfinger"), body_id("panda_rightfinger")),
            cameras={name: model.camera(name).id for name in panda.CAMERA_NAMES},
        )
