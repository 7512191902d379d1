"""Table-leg twisting: controller, cameras, policy (task leg_twist), supervisor, robot_state_publisher, rviz2.

    ros2 launch omnireset_bringup leg.launch.py hardware:=sim|real [rviz:=false] ...
    ros2 launch omnireset_bringup leg.launch.py --show-args   # every argument with its default
"""
from omnireset_bringup.launch_common import generate_task_launch_description


def generate_launch_description():
    return generate_task_launch_description("leg")
