"""SMPP 3.4 carrier adapter — the pure pieces (in progress, not wired into runtime; design in docs/smpp.md).

- :mod:`.protocol`: the SMPP 3.4 numbers used (TON/NPI, esm_class, data_coding, TLV tags, command_status);
- :mod:`.gsm7`: GSM-7 septets, unpacked or packed;
- :mod:`.segmentation`: outbound text → submit_sm parts (UDH, SAR or message_payload), by the API's segment rules;
- :mod:`.reassembly`: inbound parts → one message (out of order, duplicates, ESC/surrogate pairs across parts);
- :mod:`.receipts`: receipt text parsing and message-id keys for correlation (hex/decimal forms);
- :mod:`.status_map`: message_state / stat / err / command_status → ACS DeliveryStatus and codes;
- :mod:`.addresses`: senders → TON/NPI; inbound addresses → E.164 only when certain;
- :mod:`.submit_fields`: registered_delivery and validity_period from the ACS send options.

Nothing here does I/O or imports the wire library; the adapter (next) maps these values onto its PDUs.
"""
