"""The HTTP API: statistics, monitors and health, served by FastAPI."""
