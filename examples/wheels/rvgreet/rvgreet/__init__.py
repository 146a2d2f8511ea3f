"""A tiny package for the Python example: proves a vendored wheel was installed."""


def greeting(app):
    return f"Hello from {app}, with rvgreet 1.0 installed from a vendored wheel."
