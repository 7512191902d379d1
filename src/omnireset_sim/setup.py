"""omnireset_sim: a colcon ament_python package that also installs with plain pip."""
from setuptools import find_packages, setup

PACKAGE = "omnireset_sim"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "benchmarks"]),
    package_data={PACKAGE: ["py.typed"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}/hook", ["hook/commands_path.dsv", "hook/commands_path.sh"]),  # commands on PATH
        (f"share/{PACKAGE}", ["package.xml"]),
    ],
    python_requires=">=3.11",
    install_requires=["omnireset_core", "numpy>=1.26", "pyyaml>=6", "mujoco>=3.2"],
    extras_require={"test": ["pytest"]},
    entry_points={"console_scripts": ["omnireset-twin-demo = omnireset_sim.demo:main"]},
    zip_safe=False,
    maintainer="OmniReset Engineering",
    maintainer_email="eng@omnireset.dev",
    description="MuJoCo digital twin of the OmniReset cell.",
    license="Apache-2.0",
)
