"""The fleet of probers: a planner that turns due monitors into shards each minute, a queue of
shards (Redis Streams, or in process for the embedded default), and workers that probe them."""
