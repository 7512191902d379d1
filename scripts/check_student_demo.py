"""Exit 1 unless the peg demo's summary shows an RGB student that ran at the policy rate with its
camera frames younger than the policy node's limit: ``python scripts/check_student_demo.py SUMMARY``."""
import json
import sys

from omnireset_core.policy.deployment import DEPLOYED_AGE_LIMITS

# Targets sent over the activated run: the share of 10 Hz ticks whose inputs were all within their
# age limits. On this 2-core machine 8.5-10 Hz were measured (docs/benchmarks.md); a stalled
# camera, a starved node or frames over the limit bring it far lower (0-4.4 Hz were measured
# before frames were encoded off the executor).
MIN_RATE_HZ = 7.0


def main(path: str) -> int:
    summary = json.load(open(path))
    episode = summary["per_episode"][0]
    policy = episode["policy"]
    limit_ms = 1e3 * DEPLOYED_AGE_LIMITS.frame_s
    checks = {
        "an rgb policy ran": policy.get("kind") == "rgb",
        "it is the learned student": summary["policy"]["label"] == "learned",
        f"targets at >= {MIN_RATE_HZ} Hz (got {episode['policy_rate_hz']})": episode["policy_rate_hz"] >= MIN_RATE_HZ,
        f"frame age at the accepted steps, p99 {policy.get('frame_age_p99_ms')} ms <= {limit_ms:g} ms":
            float(policy.get("frame_age_p99_ms", "nan")) <= limit_ms,
        f"frames measured from stamp to features (p50 {policy.get('frame_pipeline_p50_ms')} ms)":
            float(policy.get("frame_pipeline_p50_ms", "nan")) > 0.0,
    }
    for what, ok in checks.items():
        print(f"[student-demo] {'ok  ' if ok else 'FAIL'} {what}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
