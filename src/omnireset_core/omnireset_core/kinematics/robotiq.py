"""Robotiq 2F-85 facts every layer shares: the finger joints' names (as the twin, the URDF and
joint_states carry them) and the datasheet's stroke, speed and force."""

FINGER_JOINT_NAMES = ("left_finger_joint", "right_finger_joint")
STROKE_M = 0.085  # fully open gap between the pads
FINGER_TRAVEL_M = STROKE_M / 2  # per finger, 0 = open
FINGER_SPEED_MPS = 0.15
MAX_FORCE_N = 235.0
