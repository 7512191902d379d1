"""UR e-series kinematics from Denavit-Hartenberg parameters."""
from omnireset_core.kinematics.ur import (
    UR5E,
    UR7E,
    DHCalibration,
    URKinematics,
    URParameters,
)

__all__ = ["UR5E", "UR7E", "DHCalibration", "URKinematics", "URParameters"]
