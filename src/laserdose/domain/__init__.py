"""The typed vocabulary of laserdose: domain values with their unit, valid range and its source.

The bottom layer: it imports nothing from laserdose except `laserdose.errors`. Every input site (the CLI,
the TOML loaders, the web forms, the API schemas and the planner) checks a domain value through the one
definition here, so that each limit has one value and one message. `plan.py` holds the plan document,
the one typed plan every layer passes on.
"""
