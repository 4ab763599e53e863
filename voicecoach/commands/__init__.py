"""Subcommands of the `voicecoach` command line, one module per area."""
