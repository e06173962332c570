"""Robot descriptions (URDF, joint names, limits)."""
