"""Running the study: a run (prepare, emulate, verify, cost), compare, sweeps, power loss
and the text report."""
