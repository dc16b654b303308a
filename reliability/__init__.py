"""smsgrid's reliability suite: attack a real smsgrid process the way production does, and count what happens.

Every scenario runs real `smsgrid serve` subprocesses, real webhook receivers and real sockets on loopback only;
each is bounded in count and time and stops by itself. `python -m reliability [--full]` runs them all and prints
figures; `tests/reliability/` runs a short version of each in CI.

Scenarios (one module each):

- `crash_loop`: SIGKILL the server at random moments under load; every 202 must end in a delivered report.
- `receiver_outage`: the receiver answers 503 or is down across five retry steps; nothing is lost, attempts
  match `aeg-delivery-count`; TTL and max attempts end in dead letters.
- `slow_endpoints`: a hanging and a dead endpoint beside a healthy one; the healthy one keeps its rate.
- `disk_full`: the database's filesystem fills up; the API answers 503 and recovers by itself.
- `api_fuzz`: schemathesis against the served OpenAPI document: no 5xx, nothing outside the schema.
- `http_abuse`: oversized bodies, slowloris clients, malformed requests.
"""
