"""The compute side: probe every monitored URL on a schedule and store the results."""
