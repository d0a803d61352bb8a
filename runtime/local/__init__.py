"""The laptop server: the same runtime as the cloud, with embedded, local adapters."""
