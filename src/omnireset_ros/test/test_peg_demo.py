"""The main job end to end: the peg stack on the twin as processes, activated, observed, reported,
with the policy that drove the arm named in the output."""
import json
import subprocess
import sys


def run_demo(out, *args, timeout=400):
    proc = subprocess.run([sys.executable, "-m", "omnireset_ros.peg_demo", "--output", str(out), *args],
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    return proc, json.loads((out / "summary.json").read_text())


def test_peg_demo_inserts_the_peg_over_several_episodes_and_says_it_was_scripted(tmp_path):
    out = tmp_path / "peg"
    proc, summary = run_demo(out, "--episodes", "2", "--duration", "45", "--require-success")
    assert "SCRIPTED" in proc.stdout and "scripted reference" in summary["policy"]["label"]
    assert summary["episodes"] == 2 and summary["successes"] >= 1
    assert summary["success_rate"] == summary["successes"] / 2
    for episode in summary["per_episode"]:
        assert 7.0 <= episode["policy_rate_hz"] <= 11.0
        assert episode["controller"]["mode"] == "tracking"
        assert episode["policy"]["scripted"] in ("True", True)
    assert summary["per_episode"][0]["peg_start_pose_b"] != summary["per_episode"][1]["peg_start_pose_b"]
    assert (out / "cameras.mp4").stat().st_size > 10_000
    for node in ("controller_node", "camera_node", "policy_node", "supervisor_node"):
        assert (out / "episode_0" / f"{node}.log").exists()


def test_peg_demo_with_the_placeholder_reports_no_success(tmp_path):
    out = tmp_path / "peg"
    proc, summary = run_demo(out, "--episodes", "1", "--duration", "4",
                             "--checkpoint", "checkpoints/peg_state_placeholder.pt")
    assert "PLACEHOLDER" in proc.stdout and summary["policy"]["label"].startswith("placeholder")
    assert summary["successes"] == 0 and summary["per_episode"][0]["time_to_success_s"] is None
