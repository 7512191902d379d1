"""cameras node over real DDS: twin images rendered at the controller's state, and real-mode errors."""
import time

import numpy as np
from conftest import CONFIG_DIR, wait_for
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import PoseStamped
from sensor_msgs.msg import CameraInfo, Image, JointState

from omnireset_ros import topics
from omnireset_ros.conversions import pose_from_msg, pose_msg
from omnireset_sim.config import load_cameras_config

CAMERAS = ("front", "side", "wrist")
CONTROLLER_PARAMS = CONFIG_DIR / "ros" / "controller_node.yaml"
CAMERA_PARAMS = CONFIG_DIR / "ros" / "camera_node.yaml"


def stamp_key(msg):
    return msg.header.stamp.sec, msg.header.stamp.nanosec


def rgb(msg) -> np.ndarray:
    return np.frombuffer(bytes(msg.data), dtype=np.uint8).reshape(msg.height, msg.width, 3).astype(float)


def test_sim_images_at_10hz_show_the_published_state_with_its_stamp(start_node, probe):
    images = {n: [] for n in CAMERAS}
    infos = {n: [] for n in CAMERAS}
    joint_stamps, ee = set(), []
    for n in CAMERAS:
        probe.create_subscription(Image, topics.CAMERA_IMAGE.format(name=n),
                                  lambda m, s=images[n]: s.append((time.monotonic(), m)), 20)
        probe.create_subscription(CameraInfo, topics.CAMERA_INFO.format(name=n),
                                  lambda m, s=infos[n]: s.append((time.monotonic(), m)), 20)
    probe.create_subscription(JointState, topics.JOINT_STATES, lambda m: joint_stamps.add(stamp_key(m)), 200)
    probe.create_subscription(PoseStamped, topics.EE_POSE, ee.append, 20)

    diags = []
    probe.create_subscription(DiagnosticArray, topics.DIAGNOSTICS, lambda m: diags.extend(
        st for st in m.status if st.name == "omnireset/cameras"), 10)

    # No state yet: no images, and the node says why (log and diagnostics).
    cameras = start_node("camera_node", params_files=[CAMERA_PARAMS])
    wait_for(lambda: "no joint_states received yet" in cameras.output, timeout_s=20.0)
    assert not any(images.values())
    stalled = wait_for(lambda: next((d for d in diags if d.message.startswith("stalled")), None), 5.0)
    assert stalled.level == DiagnosticStatus.WARN and "front, side, wrist" in stalled.message
    assert "no joint_states received yet" in stalled.message

    controller = start_node("controller_node", params_files=[CONTROLLER_PARAMS])
    wait_for(lambda: all(len(images[n]) >= 3 for n in CAMERAS), timeout_s=20.0)
    streaming = wait_for(lambda: diags[-1].message == "streaming" and diags[-1], 3.0)
    assert streaming.level == DiagnosticStatus.OK
    t0 = time.monotonic()
    time.sleep(2.5)
    t1 = time.monotonic()
    config = load_cameras_config(CONFIG_DIR / "cameras.yaml")
    for n in CAMERAS:
        for stream in (images[n], infos[n]):
            # Rate from the arrivals, and from the stamps: distinct states 0.1 s apart.
            received = [m for t, m in list(stream) if t0 <= t < t1]
            stamps = sorted(m.header.stamp.sec + 1e-9 * m.header.stamp.nanosec for m in received)
            assert 8.0 <= len(received) / (t1 - t0) <= 12.0, f"{n}: {len(received) / (t1 - t0):.1f} Hz"
            assert 8.0 <= (len(stamps) - 1) / (stamps[-1] - stamps[0]) <= 12.0
        img, info = images[n][-1][1], infos[n][-1][1]
        assert (img.height, img.width, img.encoding, img.step) == (224, 224, "rgb8", 3 * 224)
        assert len(img.data) == 224 * 224 * 3
        assert img.header.frame_id == info.header.frame_id == f"{n}_optical"
        c = config[n]
        np.testing.assert_allclose(info.k, [c.fx_px, 0, c.cx_px, 0, c.fy_px, c.cy_px, 0, 0, 1])
        assert (info.width, info.height) == (c.width_px, c.height_px)
        # Image age = state age: every image carries the stamp of a published joint state. Images of
        # states from before the probe's own subscription matched (DDS discovery) cannot be checked.
        first_seen = min(joint_stamps)
        assert {stamp_key(m) for _, m in images[n] if stamp_key(m) >= first_seen} <= joint_stamps
        assert stamp_key(info) in {stamp_key(m) for _, m in images[n]}

    # The arm holds still: consecutive frames are the same picture.
    before = {n: rgb(images[n][-1][1]) for n in CAMERAS}
    for n in CAMERAS:
        assert np.abs(rgb(images[n][-3][1]) - before[n]).mean() < 0.2

    # Move the arm 5 cm: every camera's picture changes.
    pub = probe.create_publisher(PoseStamped, topics.TARGET_POSE, 10)
    pos, quat = pose_from_msg(ee[-1])
    goal = pos + [0.0, 0.03, -0.04]
    timer = probe.create_timer(
        0.1, lambda: pub.publish(pose_msg(goal, quat, probe.get_clock().now().to_msg(), topics.BASE_FRAME)))
    wait_for(lambda: np.linalg.norm(pose_from_msg(ee[-1])[0] - goal) < 2e-3, timeout_s=5.0)
    probe.destroy_timer(timer)
    time.sleep(0.3)
    for n in CAMERAS:
        diff = np.abs(rgb(images[n][-1][1]) - before[n]).mean()
        assert diff > 1.0, f"{n}: mean change {diff:.2f} grey levels after the arm moved 5 cm"

    assert cameras.stop() == 0, cameras.output
    assert controller.stop() == 0, controller.output
    assert "Traceback" not in cameras.output + controller.output


def test_real_with_a_missing_device_exits_with_a_clear_error(start_node):
    node = start_node("camera_node", params={"hardware": "real", "cameras": ["front"]})
    assert node.proc.wait(timeout=20.0) != 0
    node.stop()
    out = node.output
    assert "Traceback" not in out
    assert "serial 000000000001" in out and "no such device connected" in out


def test_sim_renders_at_a_students_image_size_with_scaled_intrinsics(start_node, probe):
    images, infos = [], []
    probe.create_subscription(Image, topics.CAMERA_IMAGE.format(name="wrist"), images.append, 5)
    probe.create_subscription(CameraInfo, topics.CAMERA_INFO.format(name="wrist"), infos.append, 5)
    cameras = start_node("camera_node", params_files=[CAMERA_PARAMS], params={"image_hw_px": [64, 48]})
    controller = start_node("controller_node", params_files=[CONTROLLER_PARAMS])
    wait_for(lambda: images and infos, timeout_s=30.0)
    img, info = images[-1], infos[-1]
    assert (img.height, img.width, img.step) == (64, 48, 3 * 48) and (info.height, info.width) == (64, 48)
    c = load_cameras_config(CONFIG_DIR / "cameras.yaml")["wrist"]
    np.testing.assert_allclose(info.k, [c.fx_px * 48 / c.width_px, 0, c.cx_px * 48 / c.width_px,
                                        0, c.fy_px * 64 / c.height_px, c.cy_px * 64 / c.height_px, 0, 0, 1])
    assert rgb(img).std() > 5.0  # a picture, not an empty buffer
    assert cameras.stop() == 0 and controller.stop() == 0


def test_a_students_image_size_is_refused_for_real_cameras(start_node):
    node = start_node("camera_node", params={"hardware": "real", "cameras": ["front"], "image_hw_px": [64, 64]})
    assert node.proc.wait(timeout=20.0) != 0
    node.stop()
    assert "image_hw_px is for hardware:=sim" in node.output and "Traceback" not in node.output
