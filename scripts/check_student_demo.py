"""Exit 1 unless the peg demo's summary shows an RGB student that ran at the policy rate with its
camera frames younger than the policy node's limit: ``python scripts/check_student_demo.py SUMMARY``."""
import json
import sys

from omnireset_core.policy.deployment import DEPLOYED_AGE_LIMITS

MIN_RATE_HZ = 9.0  # 10 Hz ticks, minus the first and last fraction of a second
MAX_REFUSED_FRACTION = 0.05


def main(path: str) -> int:
    summary = json.load(open(path))
    episode = summary["per_episode"][0]
    policy = episode["policy"]
    limit_ms = 1e3 * DEPLOYED_AGE_LIMITS.frame_s
    checks = {
        "an rgb policy ran": policy.get("kind") == "rgb",
        "it is the learned student": summary["policy"]["label"] == "learned",
        f"targets at >= {MIN_RATE_HZ} Hz (got {episode['policy_rate_hz']})": episode["policy_rate_hz"] >= MIN_RATE_HZ,
        f"frame age p99 {policy.get('frame_age_p99_ms')} ms <= {limit_ms:g} ms":
            float(policy.get("frame_age_p99_ms", "nan")) <= limit_ms,
        f"refused steps {policy.get('refusals')} <= {MAX_REFUSED_FRACTION:.0%} of the run":
            int(policy.get("refusals", 10**6)) <= MAX_REFUSED_FRACTION * 10 * episode["run_s"],
    }
    for what, ok in checks.items():
        print(f"[student-demo] {'ok  ' if ok else 'FAIL'} {what}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
