"""One module per `ssm-tui` subcommand: each has `add_arguments(parser)` and `run(args) -> int`.

Modules are imported only when their subcommand runs, so `ssm-tui list` never loads Textual.
"""
