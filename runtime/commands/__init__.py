"""Subcommands of the ``chorus`` CLI, one module per command group."""
