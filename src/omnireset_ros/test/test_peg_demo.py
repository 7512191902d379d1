"""The main job end to end: the peg stack on the twin as processes, activated, observed, reported."""
import json
import subprocess
import sys


def test_peg_demo_runs_the_stack_and_reports_honestly(tmp_path):
    out = tmp_path / "peg"
    proc = subprocess.run(
        [sys.executable, "-m", "omnireset_ros.peg_demo", "--duration", "4", "--output", str(out)],
        capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PLACEHOLDER" in proc.stdout  # the bundled checkpoint is untrained, and the demo says so
    summary = json.loads((out / "summary.json").read_text())
    assert summary["success"] is False and summary["time_to_success_s"] is None
    assert 8.0 <= summary["policy_rate_hz"] <= 11.0
    assert summary["supervisor_interventions"] >= 0
    assert summary["controller"]["mode"] == "tracking"
    assert (out / "cameras.mp4").stat().st_size > 10_000
    for node in ("controller_node", "camera_node", "policy_node", "supervisor_node"):
        assert (out / f"{node}.log").exists()
    assert "Traceback" not in proc.stdout + proc.stderr
