"""Counters, hardware figures (each cited, or an assumption) and the cost model that turns
a run's counters into time."""
