"""OmniReset shared core: the one place for kinematics, control law, contracts and task data.

Nothing in this package imports rclpy or a simulator; training and deployment both import it.
"""
__version__ = "0.1.0"
