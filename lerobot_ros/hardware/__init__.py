"""Drivers for real robot hardware, each behind the same topic contract as the simulation."""
