"""Thin rclpy wrappers: each node translates messages and calls plain-Python logic."""
