"""omnireset_ros: thin rclpy nodes over the OmniReset core."""
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "omnireset_ros"
NODES = ["controller_node", "camera_node", "policy_node", "supervisor_node", "scheduler_node"]

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}/hook", ["hook/commands_path.dsv", "hook/commands_path.sh"]),  # commands on PATH
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/checkpoints", sorted(glob("checkpoints/*.pt"))),  # symlink to the repo's checkpoints/
    ],
    python_requires=">=3.11",
    install_requires=["omnireset_core", "omnireset_sim", "omnireset_drivers", "numpy"],
    extras_require={"test": ["pytest"]},
    entry_points={"console_scripts": [f"{n} = {PACKAGE}.{n}:main" for n in NODES]
                  + [f"omnireset-peg-demo = {PACKAGE}.peg_demo:main"]},
    zip_safe=True,
    maintainer="OmniReset Engineering",
    maintainer_email="eng@omnireset.dev",
    description="Thin rclpy nodes over the OmniReset core.",
    license="Apache-2.0",
)
