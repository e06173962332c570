"""DYNAMIXEL X-series servos over Protocol 2.0: control table, bus driver, arm, emulator."""
