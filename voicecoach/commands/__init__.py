"""Subcommands of the `voicecoach` command line, one module per area: the parsed arguments of
one subcommand come in (from voicecoach.cli), the job is done through the packages beside this
one, and an exit code goes back. `live` starts the microphone session and the demo; `recognize`,
`routines`, `history` and `doctor` are the rest; `engine_options` is the --engine flag they share.
"""
