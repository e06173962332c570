"""Software peers for the hardware drivers: a Dynamixel servo bus on a pseudo-terminal and a
RealSense software device; and two hosts on one machine (network namespaces) for multi-host
tests. Used by the tests and by ``dynamixel_emulator`` when no arm is at hand; the drivers
under ``hardware/`` never import them."""
