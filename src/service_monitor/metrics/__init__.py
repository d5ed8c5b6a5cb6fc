"""The metrics both sides share: the counters a compute cycle adds to the cache (compute.py), what a
scrape reads from the shared places and how it is written out (shared.py), and the multiprocess
directory of several API workers (multiproc.py). The HTTP side (the middleware, the route) is
api/metrics.py."""
