"""Four-leg table assembly: the leg node set plus the scheduler running config/schedules/four_leg.yaml,
one leg_twist step per leg (checkpoints leg1_checkpoint..leg4_checkpoint, empty: the schedule's).

    ros2 launch omnireset_bringup four_leg.launch.py hardware:=sim|real [rviz:=false] ...
    ros2 launch omnireset_bringup four_leg.launch.py --show-args   # every argument with its default
"""
from omnireset_bringup.launch_common import generate_task_launch_description


def generate_launch_description():
    return generate_task_launch_description("four_leg")
