"""Every topic and service name of the stack, in one place (relative names: remap or namespace freely)."""

from omnireset_core.kinematics.ur import ARM_JOINT_NAMES

JOINT_STATES = "joint_states"  # sensor_msgs/JointState: 6 arm joints + 2 finger joints, 100 Hz
EE_POSE = "omnireset/ee_pose"  # geometry_msgs/PoseStamped: measured TCP pose in frame "base", 100 Hz
TARGET_POSE = "omnireset/target_pose"  # geometry_msgs/PoseStamped: TCP target in "base", from the policy
TRACKED_TARGET = "omnireset/controller/tracked_target"  # geometry_msgs/PoseStamped: the target the 500 Hz
#   loop is executing, in "base", 100 Hz, only while it tracks one (nothing while holding or stopped)
GRIPPER_COMMAND = "omnireset/gripper_command"  # std_msgs/Bool: true = close
GRIPPER_OVERRIDE = "omnireset/supervisor/gripper_open"  # std_msgs/Bool: true while the supervisor forces open
DIAGNOSTICS = "diagnostics"  # diagnostic_msgs/DiagnosticArray
POLICY_ACTIVATE = "omnireset/policy/activate"  # std_srvs/SetBool
CONTROLLER_RESET_FAULT = "omnireset/controller/reset_fault"  # std_srvs/Trigger
CONTROLLER_RECORD = "omnireset/controller/record"  # std_srvs/SetBool: true starts recording the loop, false
#   stops and writes the run (omnireset_core.control.recording; its path is the answer's message)
TWIN_OBJECT_POSE = "omnireset/twin/{name}_pose"  # geometry_msgs/PoseStamped, sim only: ground truth
CAMERA_IMAGE = "camera/{name}/image_raw"  # sensor_msgs/Image rgb8
CAMERA_INFO = "camera/{name}/camera_info"  # sensor_msgs/CameraInfo
MARKERS = "omnireset/markers"  # visualization_msgs/MarkerArray, from the policy: target, goal region, objects
SCHEDULE_STATUS = "omnireset/schedule/status"  # std_msgs/String (JSON report)

BASE_FRAME = "base"  # UR DH base frame b
ARM_JOINTS = ARM_JOINT_NAMES  # joint_states order
