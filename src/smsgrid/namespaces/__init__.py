"""Event Grid namespace topics with pull delivery (docs/namespace-topics.md).

spec: ARM bodies; queue: the lock decisions; broker: topics and queues, kept in the store; routes: HTTP.
"""
