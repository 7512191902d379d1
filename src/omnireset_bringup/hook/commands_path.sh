# put this package's commands (install/omnireset_bringup/lib/omnireset_bringup) on PATH
_colcon_prepend_unique_value PATH "$COLCON_CURRENT_PREFIX/lib/omnireset_bringup"
