"""The subcommands of the ``embodied`` command, one module each (see :mod:`embodied.cli`)."""
