"""Messaging: turns validated send and inbound requests into durable messages, carrier work and events."""
