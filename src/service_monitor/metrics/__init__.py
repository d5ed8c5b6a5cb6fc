"""Prometheus metrics at `/metrics`: the API's own requests, and the compute's cycles, which another
process (the scheduled ECS task) adds to a place the API reads at scrape time."""
