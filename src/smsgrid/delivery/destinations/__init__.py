"""Where a delivery goes besides a webhook: Storage queues and Azure Functions (docs/destinations.md).

The pump (delivery/pump.py) owns claiming, retries and dead-lettering for every destination; a destination only
turns one batch into one request and reports its HTTP answer, so Event Grid's retry schedule applies unchanged.
"""
