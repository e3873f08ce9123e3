"""The cost of one relance case against a bare Temporal workflow doing the same work: `make bench`."""
