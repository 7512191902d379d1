# put this package's commands (install/omnireset_ros/lib/omnireset_ros) on PATH
_colcon_prepend_unique_value PATH "$COLCON_CURRENT_PREFIX/lib/omnireset_ros"
