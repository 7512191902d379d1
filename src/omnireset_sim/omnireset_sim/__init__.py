"""MuJoCo digital twin of the OmniReset cell behind the omnireset_core hardware interfaces."""
__version__ = "0.1.0"
