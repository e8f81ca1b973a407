"""The test oracle: slow, plain-Python versions of every I/O path."""
