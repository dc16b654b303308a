"""The store: durable state behind one port (store/port.py), one adapter per database."""
