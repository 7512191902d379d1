"""Every package.xml declares what its code imports, with rosdep keys, so `rosdep install --from-paths
src --ignore-src` installs the workspace's dependencies; the two without a rosdep key are in
requirements.txt."""
import ast
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PACKAGES = ("omnireset_core", "omnireset_sim", "omnireset_drivers", "omnireset_ros", "omnireset_bringup")
# Python module -> rosdep key (rosdistro rosdep/python.yaml); ROS packages are keys by their own name.
ROSDEP_KEYS = {
    "numpy": "python3-numpy", "yaml": "python3-yaml", "torch": "python3-torch", "imageio": "python3-imageio",
    "matplotlib": "python3-matplotlib", "mujoco": "python3-mujoco-pip", "pyrealsense2": "python3-pyrealsense2-pip",
}
ROS_PACKAGES = {"rclpy", "std_msgs", "std_srvs", "sensor_msgs", "geometry_msgs", "diagnostic_msgs",
                "visualization_msgs", "builtin_interfaces", "rcl_interfaces", "ament_index_python", "launch",
                "launch_ros", *PACKAGES}
NO_ROSDEP_KEY = {"array_api_compat": "array-api-compat", "rtde_control": "ur-rtde", "rtde_receive": "ur-rtde"}


def imported_modules(package: str) -> set[str]:
    modules = set()
    for path in (REPO / "src" / package / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"__future__"}


def declared(package: str) -> set[str]:
    root = ET.parse(REPO / "src" / package / "package.xml").getroot()
    return {e.text for tag in ("depend", "exec_depend", "build_export_depend") for e in root.iter(tag)}


@pytest.mark.parametrize("package", PACKAGES)
def test_package_xml_declares_every_import(package):
    keys = set()
    for module in imported_modules(package):
        if module in NO_ROSDEP_KEY:
            continue
        assert module in ROSDEP_KEYS or module in ROS_PACKAGES, f"{package} imports {module}: no rosdep key known"
        keys.add(ROSDEP_KEYS.get(module, module))
    keys.discard(package)
    missing = sorted(keys - declared(package))
    assert not missing, f"{package}/package.xml does not declare {missing}"


def test_imports_without_a_rosdep_key_are_in_requirements():
    requirements = (REPO / "requirements.txt").read_text().lower()
    used = set().union(*(imported_modules(p) for p in PACKAGES)) & set(NO_ROSDEP_KEY)
    assert used, "the list above is stale"
    for module in used:
        assert NO_ROSDEP_KEY[module] in requirements, module
