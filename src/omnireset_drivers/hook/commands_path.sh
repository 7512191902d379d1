# put this package's commands (install/omnireset_drivers/lib/omnireset_drivers) on PATH
_colcon_prepend_unique_value PATH "$COLCON_CURRENT_PREFIX/lib/omnireset_drivers"
