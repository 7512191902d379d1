"""Thin rclpy nodes: parameters in, core objects built, messages <-> core inputs/outputs."""
