#!/usr/bin/env bash
# The RGB student end to end at toy scale (CI): expert rollouts with cameras -> rollout dataset ->
# student training -> TorchScript export -> the student driving the twin through the camera and
# policy nodes at 10 Hz, its frames' ages checked against the policy node's limit.
#   bash scripts/student_demo.sh [OUT]     (workspace sourced; about 3 min on 2 cores)
set -euo pipefail
OUT=${1:-outputs/student_toy}
rm -rf "$OUT"
omnireset-train distill-rollouts "$OUT/rollouts" --expert checkpoints/peg_state_near_goal_cpu.pt \
  --episodes 4 --num-envs 4 --image-size 64 64 --keep-failed
omnireset-train distill "$OUT/student" --data "$OUT/rollouts" --iterations 20 --batch-size 8 --frames 2 \
  --eval-interval 10 --save-interval 10
omnireset-peg-demo --checkpoint "$OUT/student/student.pt" --episodes 1 --duration 15 --output "$OUT/demo"
python scripts/check_student_demo.py "$OUT/demo/summary.json"
