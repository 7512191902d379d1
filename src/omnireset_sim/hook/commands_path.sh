# put this package's commands (install/omnireset_sim/lib/omnireset_sim) on PATH
_colcon_prepend_unique_value PATH "$COLCON_CURRENT_PREFIX/lib/omnireset_sim"
