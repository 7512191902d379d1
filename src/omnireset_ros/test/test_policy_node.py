"""policy node over real DDS: activation gating and rate, stale inputs (state and camera), supervisor
override, and checkpoints that must be refused without taking the node down.

The probe stands in for the controller and cameras: it publishes joint states, the TCP pose and
the twin's object poses at 100 Hz (and rgb8 images at 10 Hz) stamped with the ROS clock.
"""
import math
import re
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import BackgroundPublisher, wait_for
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseStamped
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Bool
from std_srvs.srv import SetBool
from torch import nn

from omnireset_core.policy import VisionSpec, export_policy, new_metadata
from omnireset_core.policy.vision import mlp
from omnireset_core.spec.contract import ObservationSpec, default_actor_observation
from omnireset_ros import topics
from omnireset_ros.conversions import pose_msg, s_to_stamp

torch.set_num_threads(1)
pytestmark = pytest.mark.filterwarnings(r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning")

REPO = Path(__file__).resolve().parents[3]
PLACEHOLDER = REPO / "checkpoints" / "peg_state_placeholder.pt"
HOME_Q_RAD = np.array([2.8409, -1.6981, 1.9021, -1.7748, -1.5708, -1.8715])
TOOL_DOWN_QUAT = np.array([0.0, 1.0, 0.0, 0.0])
CAMERAS = ("front", "side", "wrist")


def now_s(node) -> float:
    return node.get_clock().now().nanoseconds * 1e-9


class FakeCell(BackgroundPublisher):
    """The controller's and cameras' outputs from the probe, with streams that can be switched off."""

    def __init__(self, probe, cameras=(), rate_hz=100.0, camera_rate_hz=10.0, objects=("peg", "peg_hole")):
        self.probe, self.period_s = probe, 1.0 / rate_hz
        self.camera_every = max(1, round(rate_hz / camera_rate_hz))
        self.pub_joints = probe.create_publisher(JointState, topics.JOINT_STATES, 10)
        self.pub_ee = probe.create_publisher(PoseStamped, topics.EE_POSE, 10)
        self.pub_objects = {n: probe.create_publisher(PoseStamped, topics.TWIN_OBJECT_POSE.format(name=n), 10)
                            for n in objects}
        self.pub_images = {c: probe.create_publisher(Image, topics.CAMERA_IMAGE.format(name=c), 2) for c in cameras}
        rng = np.random.default_rng(0)
        self.pixels = {c: rng.integers(0, 256, (224, 224, 3), dtype=np.uint8) for c in cameras}
        self.on = {"joints": True, "ee": True, "objects": True, **{c: True for c in cameras}}
        self.last_sent = {}  # stream -> time.monotonic() of its last publish

    def publish_once(self, k):
        t = now_s(self.probe)
        stamp = s_to_stamp(t)
        wobble = 0.01 * math.sin(0.5 * t)  # slow motion so observations change
        if self.on["joints"]:
            msg = JointState(name=[*topics.ARM_JOINTS, "left_finger_joint", "right_finger_joint"])
            msg.header.stamp = stamp
            msg.position = [*(HOME_Q_RAD + wobble).tolist(), 0.0, 0.0]
            self.pub_joints.publish(msg)
            self.last_sent["joints"] = time.monotonic()
        if self.on["ee"]:
            self.pub_ee.publish(pose_msg([0.45 + wobble, 0.0, 0.25], TOOL_DOWN_QUAT, stamp, topics.BASE_FRAME))
            self.last_sent["ee"] = time.monotonic()
        if self.on["objects"]:
            for i, pub in enumerate(self.pub_objects.values()):
                pub.publish(pose_msg([0.45, 0.1 - 0.2 * i, 0.0], [1.0, 0.0, 0.0, 0.0], stamp, topics.BASE_FRAME))
        if k % self.camera_every == 0:
            for cam, pub in self.pub_images.items():
                if self.on[cam]:
                    img = Image(height=224, width=224, encoding="rgb8", step=224 * 3)
                    img.header.stamp, img.header.frame_id = stamp, f"{cam}_optical"
                    self.pixels[cam][k % 224, :, :] = k % 256  # the scene changes a little every frame
                    img.data = self.pixels[cam].tobytes()
                    pub.publish(img)
                    self.last_sent[cam] = time.monotonic()


class PolicyProbe:
    """Records the policy's outputs and diagnostics; calls its activation service."""

    def __init__(self, probe):
        self.probe = probe
        self.targets, self.grippers, self.diags = [], [], []
        probe.create_subscription(PoseStamped, topics.TARGET_POSE,
                                  lambda m: self.targets.append((time.monotonic(), m)), 10)
        probe.create_subscription(Bool, topics.GRIPPER_COMMAND, lambda m: self.grippers.append(time.monotonic()), 10)
        probe.create_subscription(DiagnosticArray, topics.DIAGNOSTICS, self._on_diag, 10)
        self.client = probe.create_client(SetBool, topics.POLICY_ACTIVATE)
        self.params = AsyncParameterClient(probe, "policy")
        self.pub_override = probe.create_publisher(Bool, topics.GRIPPER_OVERRIDE, 10)

    def _on_diag(self, msg):
        for s in msg.status:
            if s.name == "omnireset/policy":
                self.diags.append((time.monotonic(), s.level, s.message, {kv.key: kv.value for kv in s.values}))

    def ready(self, node, timeout_s=20.0):
        wait_for(lambda: self.client.service_is_ready() or node.proc.poll() is not None, timeout_s)
        assert node.proc.poll() is None, node.output

    def activate(self, on: bool):
        future = self.client.call_async(SetBool.Request(data=on))
        wait_for(future.done, 5.0)
        return future.result()

    def set_params(self, **values):
        future = self.params.set_parameters([Parameter(k, value=v) for k, v in values.items()])
        wait_for(future.done, 10.0)
        return [r.successful for r in future.result().results]

    def latest_diag(self, predicate=lambda d: True, timeout_s=3.0):
        return wait_for(lambda: next((d for d in reversed(self.diags) if predicate(d)), None), timeout_s)

    def targets_since(self, t):
        return [m for r, m in self.targets if r >= t]


WARN, ERROR = b"\x01", b"\x02"


# --- checkpoints built for the tests ----------------------------------------------------------
class TinyStudent(nn.Module):
    """A minimal rgb student: one strided conv as the encoder (8 features per frame), MLP head."""

    def __init__(self, proprio_dim, n_cameras=3, frames=5, feature_dim=8):
        super().__init__()
        self.conv = nn.Conv2d(3, feature_dim, kernel_size=16, stride=16)
        self.head = mlp(n_cameras * frames * feature_dim + proprio_dim, (32,), 7)

    @torch.jit.export
    def encode(self, images: torch.Tensor, camera: torch.Tensor) -> torch.Tensor:
        return self.conv(images.float() / 255.0).mean(dim=(2, 3))

    def forward(self, features: torch.Tensor, proprio: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat((features.flatten(1), proprio), dim=1))


def rgb_checkpoint(path):
    proprio = default_actor_observation().select(("last_action", "joint_pos", "ee_pose_b"))
    md = new_metadata("rgb", "peg", proprio, {"test": "tiny rgb"}, vision=VisionSpec(CAMERAS, (224, 224), 5, 8))
    return export_policy(TinyStudent(proprio.dim), path, md)


def state_checkpoint(path, task="peg", history=5):
    obs = ObservationSpec(terms=default_actor_observation().terms, history=history)
    return export_policy(mlp(obs.dim, (16,), 7), path, new_metadata("state", task, obs, {"test": path.name}))


# --- tests ------------------------------------------------------------------------------------
def test_targets_at_10hz_only_while_activated(probe, start_node):
    policy = PolicyProbe(probe)
    node = start_node("policy_node", params_files=[REPO / "config" / "ros" / "policy_node.yaml"])  # placeholder
    with FakeCell(probe):
        policy.ready(node)
        diag = policy.latest_diag(lambda d: d[3].get("loaded") == "True", 10.0)
        assert diag[3]["placeholder"] == "True" and diag[3]["active"] == "False"
        assert "placeholder checkpoint, not trained" in node.output
        time.sleep(1.0)
        assert policy.targets == [] and policy.grippers == []  # inputs flow, but not activated

        assert policy.activate(True).success
        first = wait_for(lambda: policy.targets and policy.targets[0][0], 2.0)
        time.sleep(3.05)
        received = [r for r, _ in policy.targets if first <= r < first + 3.0]
        rate_hz = (len(received) - 1) / (received[-1] - received[0])
        assert abs(rate_hz - 10.0) <= 1.0 and 27 <= len(received) <= 33, (rate_hz, len(received), node.output)
        assert len(policy.grippers) >= len(received)
        _, msg = policy.targets[-1]
        assert msg.header.frame_id == "base"
        q = msg.pose.orientation
        assert abs(math.hypot(q.w, q.x, q.y, q.z) - 1.0) < 1e-6
        assert abs(msg.pose.position.z - 0.25) < 0.05  # a bounded step from the measured TCP pose
        diag = policy.latest_diag(lambda d: d[3]["active"] == "True" and int(d[3]["publish_count"]) > 20)
        assert float(diag[3]["step_latency_p50_ms"]) < float(diag[3]["step_latency_p99_ms"]) + 1e-9

        assert policy.activate(False).success
        time.sleep(0.3)  # a target in flight may still arrive
        stopped = time.monotonic()
        time.sleep(1.0)
        assert policy.targets_since(stopped) == []
    assert node.proc.poll() is None, node.output


def test_stale_joint_states_stop_commanding_until_fresh_and_override_holds(probe, start_node):
    policy = PolicyProbe(probe)
    node = start_node("policy_node", {"checkpoint": str(PLACEHOLDER), "autostart": True})
    with FakeCell(probe) as cell:
        policy.ready(node)
        wait_for(lambda: len(policy.targets) >= 5, 5.0)

        cell.on["joints"] = False
        time.sleep(0.02)
        last_joints = cell.last_sent["joints"]
        time.sleep(0.8)
        last_target = policy.targets[-1][0]
        assert last_target - last_joints <= 0.25, last_target - last_joints  # 0.1 s age limit + one tick
        diag = policy.latest_diag(lambda d: "obs/joint_pos" in d[3]["refused_inputs"])
        assert diag[1] == WARN and "'obs/joint_pos' is stale" in diag[2], diag  # WARN, with the age
        assert diag[2].startswith("no controller (robot state not fresh)"), diag
        assert "obs/ee_pose_b" not in diag[3]["refused_inputs"]

        cell.on["joints"] = True
        resumed = time.monotonic()
        wait_for(lambda: policy.targets_since(resumed), 0.5)
        assert policy.latest_diag(lambda d: d[3]["refused_inputs"] == "")[2] == "placeholder checkpoint, not trained"

        # supervisor override: no targets while it is repeated, commanding resumes after it
        t_end = time.monotonic() + 1.0
        while time.monotonic() < t_end:
            policy.pub_override.publish(Bool(data=True))
            time.sleep(0.1)
            if time.monotonic() > t_end - 0.8:
                assert policy.targets_since(t_end - 0.8) == []
        policy.pub_override.publish(Bool(data=False))
        released = time.monotonic()
        wait_for(lambda: policy.targets_since(released), 0.5)
    gaps = re.findall(r"inputs usable again after \d+ refused step\(s\), (\d+\.\d+) s since the last step: "
                      r"history reset", node.output)
    assert max(map(float, gaps), default=0.0) > 0.6, node.output  # the 0.8 s outage: resumed from a reset history
    assert "supervisor override ended: resuming from a reset history" in node.output


def test_markers_show_the_last_target_and_the_goal_region_on_the_receptive_object(probe, start_node):
    from visualization_msgs.msg import MarkerArray

    from omnireset_core.tasks import load_task

    arrays = []
    probe.create_subscription(MarkerArray, topics.MARKERS, lambda m: arrays.append(m), 10)
    policy = PolicyProbe(probe)
    node = start_node("policy_node", {"checkpoint": str(PLACEHOLDER), "autostart": True})
    with FakeCell(probe):
        policy.ready(node)
        wait_for(lambda: len(policy.targets) >= 5, 5.0)
        shown = wait_for(lambda: next((a for a in reversed(arrays) if {m.ns for m in a.markers} >= {
            "target", "goal_region", "object/peg", "object/peg_hole"}), None), 3.0)
        last_target = policy.targets[-1][1]
    by_ns = {m.ns: m for m in shown.markers}
    task = load_task("peg")
    hole_b_m = np.array([0.45, -0.1, 0.0])  # FakeCell's receptive pose, identity orientation
    goal = by_ns["goal_region"]
    np.testing.assert_allclose([goal.pose.position.x, goal.pose.position.y, goal.pose.position.z],
                               hole_b_m + np.asarray(task.goal_poses[0].pos_m), atol=1e-9)
    assert goal.scale.x == pytest.approx(2.0 * task.success.max_pos_error_m)
    assert all(m.header.frame_id == topics.BASE_FRAME for m in shown.markers)
    target = by_ns["target"].pose.position
    sent = last_target.pose.position
    assert abs(target.x - sent.x) < 0.02 and abs(target.z - sent.z) < 0.02  # one of the last targets sent
    node.stop()
    stopped = len(arrays)
    time.sleep(0.5)
    assert len(arrays) == stopped  # no markers from a stopped policy (they expire in rviz)


def test_a_policy_with_non_finite_output_says_so_and_sends_nothing(probe, start_node, tmp_path):
    obs = ObservationSpec(terms=default_actor_observation().terms, history=5)
    net = mlp(obs.dim, (16,), 7)
    with torch.no_grad():
        net[-1].bias.fill_(float("nan"))  # a broken export: every action is NaN
    checkpoint = export_policy(net, tmp_path / "nan.pt", new_metadata("state", "peg", obs, {"test": "nan"}))
    policy = PolicyProbe(probe)
    node = start_node("policy_node", {"checkpoint": str(checkpoint), "autostart": True})
    with FakeCell(probe):
        policy.ready(node)
        diag = policy.latest_diag(lambda d: d[3]["refused_inputs"] == "action", 5.0)
        time.sleep(0.5)
        assert policy.targets == [] and policy.grippers == []
    assert diag[1] == ERROR and diag[2].startswith("policy output refused: policy action is not finite"), diag


def test_a_long_outage_deactivates_and_only_an_activation_resumes(probe, start_node):
    """The robot state stops for 2 s (a controller that died and came back): when it returns the
    policy does not command the fresh controller until someone activates it again."""
    policy = PolicyProbe(probe)
    node = start_node("policy_node", {"checkpoint": str(PLACEHOLDER), "autostart": True})
    with FakeCell(probe) as cell:
        policy.ready(node)
        wait_for(lambda: len(policy.targets) >= 5, 5.0)
        cell.on["joints"] = cell.on["ee"] = False
        time.sleep(2.0)
        cell.on["joints"] = cell.on["ee"] = True
        back = time.monotonic()
        time.sleep(1.0)
        assert policy.targets_since(back) == [], node.output
        diag = policy.latest_diag(lambda d: d[3]["refused_inputs"] == "")
        assert diag[3]["active"] == "False", diag
        assert re.search(r"inputs refused for 1\.[5-9] s \(> deactivate_after_s 1\.5 s\): deactivated", node.output)
        assert policy.activate(True).success
        activated = time.monotonic()
        wait_for(lambda: policy.targets_since(activated), 0.5)
    assert node.proc.poll() is None, node.output


def test_stale_camera_stops_an_rgb_policy_until_frames_return(probe, start_node, tmp_path):
    checkpoint = rgb_checkpoint(tmp_path / "tiny_rgb.pt")
    policy = PolicyProbe(probe)
    node = start_node("policy_node", {"checkpoint": str(checkpoint), "kind": "rgb", "autostart": True})
    with FakeCell(probe, cameras=CAMERAS) as cell:
        policy.ready(node)
        wait_for(lambda: len(policy.targets) >= 5, 8.0)
        # a report after accepted steps (the one sent on activation has no ages yet)
        diag = policy.latest_diag(lambda d: d[3]["active"] == "True" and d[3]["frame_age_p50_ms"] != "nan")
        assert diag[3]["kind"] == "rgb" and diag[3]["placeholder"] == "False"
        assert 0.0 <= float(diag[3]["frame_age_p50_ms"]) <= float(diag[3]["frame_age_p99_ms"]) <= 250.0
        assert 0.0 <= float(diag[3]["frame_pipeline_p50_ms"]) <= float(diag[3]["frame_pipeline_p99_ms"])

        cell.on["wrist"] = False
        time.sleep(0.12)
        last_frame = cell.last_sent["wrist"]
        time.sleep(0.8)
        last_target = policy.targets[-1][0]
        assert last_target - last_frame <= 0.25 + 0.1 + 0.05, last_target - last_frame  # frame age limit + tick
        diag = policy.latest_diag(lambda d: d[3]["refused_inputs"] == "camera/wrist")
        assert "'camera/wrist' is stale" in diag[2] and "no controller" not in diag[2]

        cell.on["wrist"] = True
        resumed = time.monotonic()
        wait_for(lambda: policy.targets_since(resumed), 0.6)
    assert node.proc.poll() is None, node.output


def test_bad_checkpoints_leave_the_node_up_and_refuse_activation(probe, start_node, tmp_path):
    corrupted = tmp_path / "corrupted.pt"
    corrupted.write_bytes(PLACEHOLDER.read_bytes()[:5000])
    cases = [
        (str(tmp_path / "drawer.pt"), r"task 'drawer', expected 'peg'"),
        (str(corrupted), r"corrupted\.pt: corrupted or not a TorchScript archive"),
        (str(tmp_path / "history3.pt"), r"observation history 3 steps, expected 5"),
    ]
    state_checkpoint(tmp_path / "drawer.pt", task="drawer")
    state_checkpoint(tmp_path / "history3.pt", history=3)
    policy = PolicyProbe(probe)
    node = start_node("policy_node", {"checkpoint": "checkpoints/missing.pt"})
    policy.ready(node)
    reply = policy.activate(True)
    assert not reply.success and "checkpoint file not found: checkpoints/missing.pt" in reply.message
    assert str(REPO / "checkpoints" / "missing.pt") in reply.message  # the places looked in are listed
    assert policy.latest_diag(lambda d: d[3]["loaded"] == "False")[1] == ERROR
    for path, problem in cases:
        assert policy.set_params(checkpoint=path) == [True]
        reply = policy.activate(True)
        assert not reply.success and re.search(problem, reply.message), (problem, reply.message)
        diag = policy.latest_diag(lambda d: d[3]["checkpoint"] == path and d[3]["loaded"] == "False")
        assert re.search(problem, diag[2])
        assert node.proc.poll() is None, node.output
    assert policy.set_params(checkpoint=str(PLACEHOLDER)) == [True]
    assert policy.activate(True).success  # a good checkpoint recovers the node
    assert policy.set_params(task="drawer") == [True]  # reloading while active deactivates first
    reply = policy.activate(True)
    assert not reply.success and "task: unknown task 'drawer'" in reply.message
    assert "deactivated to reload" in node.output and "Traceback" not in node.output


def test_observation_terms_are_poses_in_the_named_frames():
    """The pose terms against 4x4 transforms: A in F = inv(T_b_F) @ T_b_A, stamps the older source's."""
    from omnireset_core.rotations import quat_to_matrix, rotvec_to_quat
    from omnireset_ros.policy_observation import StampedJoints, StampedPose, build_terms

    rng = np.random.default_rng(1)

    def random_pose(stamp_s):
        return StampedPose(stamp_s, rng.normal(size=3), rotvec_to_quat(rng.uniform(-2.0, 2.0, size=3)))

    def matrix(pose):
        T = np.eye(4)
        T[:3, :3], T[:3, 3] = quat_to_matrix(pose.quat_wxyz), pose.pos_m
        return T

    ee, peg, hole = random_pose(1.0), random_pose(0.9), random_pose(1.1)
    terms = build_terms(["joint_pos", "ee_pose_b", "insertive_pose_ee", "receptive_pose_ee", "insertive_pose_rcv"],
                        StampedJoints(1.05, HOME_Q_RAD), ee, peg, hole)
    expected = {"ee_pose_b": (matrix(ee), 1.0), "insertive_pose_ee": (np.linalg.inv(matrix(ee)) @ matrix(peg), 0.9),
                "receptive_pose_ee": (np.linalg.inv(matrix(ee)) @ matrix(hole), 1.0),
                "insertive_pose_rcv": (np.linalg.inv(matrix(hole)) @ matrix(peg), 0.9)}
    for name, (T, stamp_s) in expected.items():
        got_stamp_s, values = terms[name]
        assert got_stamp_s == stamp_s
        np.testing.assert_allclose(values[:3], T[:3, 3], atol=1e-9)
        np.testing.assert_allclose(quat_to_matrix(rotvec_to_quat(values[3:])), T[:3, :3], atol=1e-9)
    assert terms["joint_pos"][0] == 1.05 and np.array_equal(terms["joint_pos"][1], HOME_Q_RAD)
    with pytest.raises(Exception, match=r"'obs/insertive_pose_rcv' never received \(insertive\)"):
        build_terms(["insertive_pose_rcv"], None, ee, None, hole)
    # the finger travel: the mean of both fingers from the same joint_states message (training's term)
    fingers = build_terms(["finger_travel"], StampedJoints(1.2, HOME_Q_RAD, np.array([0.031, 0.033])), ee, peg, hole)
    assert fingers["finger_travel"][0] == 1.2 and np.allclose(fingers["finger_travel"][1], [0.032])
    with pytest.raises(Exception, match=r"'obs/finger_travel' never received \(fingers\)"):
        build_terms(["finger_travel"], StampedJoints(1.2, HOME_Q_RAD), ee, peg, hole)


def test_bundled_placeholder_is_the_scripts_untrained_deployment_mlp(tmp_path):
    import subprocess
    import sys

    from omnireset_core.policy import ExpectedSpec, PolicyRuntime

    runtime = PolicyRuntime.load(PLACEHOLDER, ExpectedSpec.state(task="peg"))
    assert runtime.metadata.notes.startswith("placeholder checkpoint, not trained")
    weights = {k: v for k, v in runtime.module.state_dict().items() if k.endswith("weight")}
    obs_dim = default_actor_observation().dim
    assert [tuple(w.shape) for w in weights.values()] == [(512, obs_dim), (256, 512), (128, 256), (64, 128), (7, 64)]
    assert [m.original_name for m in runtime.module.net.children()] == ["Linear", "ELU"] * 4 + ["Linear"]
    state = runtime.module.state_dict()
    assert not state["obs_mean"].any() and bool((state["obs_std"] == 1).all())  # identity normaliser
    # the script (fixed seed) writes the same weights again
    fresh = tmp_path / "placeholder.pt"
    subprocess.run([sys.executable, str(REPO / "scripts" / "make_placeholder_checkpoint.py"), "--output", str(fresh)],
                   check=True, capture_output=True)
    again = torch.jit.load(str(fresh)).state_dict()
    assert all(torch.equal(again[k], v) for k, v in runtime.module.state_dict().items())


def test_bad_vision_parameters_leave_an_rgb_node_up_with_the_reason(probe, start_node):
    policy = PolicyProbe(probe)
    node = start_node("policy_node", {"checkpoint": str(PLACEHOLDER), "kind": "rgb", "cameras": ["front", "front"]})
    policy.ready(node)
    reply = policy.activate(True)
    assert not reply.success and "vision parameters" in reply.message and "duplicate" in reply.message, reply.message
    assert policy.latest_diag(lambda d: d[3]["loaded"] == "False")[1] == ERROR
    assert node.proc.poll() is None, node.output


def test_a_state_node_ignores_the_vision_parameters(probe, start_node):
    policy = PolicyProbe(probe)
    node = start_node("policy_node", {"checkpoint": str(PLACEHOLDER), "image_hw_px": [224]})
    policy.ready(node)
    assert policy.activate(True).success, node.output
