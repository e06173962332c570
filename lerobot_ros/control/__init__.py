"""Pure command logic (validation, trajectories, timeouts), shared by sim and real drivers."""
