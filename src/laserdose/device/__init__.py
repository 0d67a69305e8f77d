"""The machine: its profile, wire protocol, link, simulator and the treatment controller."""
