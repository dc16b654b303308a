"""SMPP 3.4 carrier adapter (not wired into the runtime yet; design in docs/smpp.md). The pure pieces:

- :mod:`.protocol`: the SMPP 3.4 numbers used (TON/NPI, esm_class, data_coding, TLV tags, command_status);
- :mod:`.gsm7`: GSM-7 septets, unpacked or packed;
- :mod:`.segmentation`: outbound text → submit_sm parts (UDH, SAR or message_payload), by the API's segment rules;
- :mod:`.reassembly`: inbound parts → one message (out of order, duplicates, ESC/surrogate pairs across parts);
- :mod:`.receipts`: receipt text parsing and message-id keys for correlation (hex/decimal forms);
- :mod:`.status_map`: message_state / stat / err / command_status → ACS DeliveryStatus and codes;
- :mod:`.addresses`: senders → TON/NPI; inbound addresses → E.164 only when certain;
- :mod:`.submit_fields`: registered_delivery and validity_period from the ACS send options.

Those do no I/O and import no wire library. The adapter around them:

- :mod:`.adapter`: `SmppCarrier`, the carrier port over every configured connection (routing, failover);
- :mod:`.connection`: one connection's session(s), reconnect back-off, states, counters and submits;
- :mod:`.routing` / :mod:`.throughput` / :mod:`.outbound` (pure): candidates by route and weight; the TPS
  bucket and throttling back-off; a message → its parts' submit_sm fields;
- :mod:`.inbound`: receipts and handsets' messages → the core's sink, acknowledged after it returned;
- :mod:`.session_port`: the session the adapter talks to; :mod:`.session_memory`: its fake for tests.
"""
