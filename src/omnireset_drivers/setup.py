"""omnireset_drivers: a colcon ament_python package that also installs with plain pip."""
from setuptools import find_packages, setup

PACKAGE = "omnireset_drivers"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}/hook", ["hook/commands_path.dsv", "hook/commands_path.sh"]),  # commands on PATH
        (f"share/{PACKAGE}", ["package.xml"]),
    ],
    python_requires=">=3.11",
    install_requires=[
        "omnireset_core",
        "numpy>=1.26",
        "pyyaml>=6",
        "ur-rtde>=1.6.3",
        "pyrealsense2>=2.55",
    ],
    extras_require={"test": ["pytest"]},
    entry_points={"console_scripts": [f"omnireset-check-hardware = {PACKAGE}.cli:entry"]},
    zip_safe=True,
    maintainer="OmniReset Engineering",
    maintainer_email="eng@omnireset.dev",
    description="OmniReset hardware drivers (UR arm, Robotiq gripper, RealSense cameras).",
    license="Apache-2.0",
)
