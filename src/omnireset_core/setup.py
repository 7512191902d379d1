"""omnireset_core: a colcon ament_python package that also installs with plain pip."""
from setuptools import find_packages, setup

PACKAGE = "omnireset_core"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    package_data={PACKAGE: ["tasks/*.yaml"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
    ],
    python_requires=">=3.11",
    install_requires=["numpy>=1.26", "pyyaml>=6", "array-api-compat>=1.9"],
    extras_require={"test": ["pytest"], "torch": ["torch"]},
    zip_safe=True,
    maintainer="OmniReset Engineering",
    maintainer_email="eng@omnireset.dev",
    description="OmniReset shared core (no ROS, no simulator).",
    license="Apache-2.0",
)
