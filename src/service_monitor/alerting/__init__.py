"""Alerting's moving parts: channels (sealing, targets, messages, senders) and what sends to them."""
