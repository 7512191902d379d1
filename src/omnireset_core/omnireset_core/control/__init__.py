"""Operational-space control law, policy-action conversion and the real-time loop."""
