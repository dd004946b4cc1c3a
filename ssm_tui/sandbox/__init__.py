"""A local AWS for the demo, the tests and the benchmarks: moto plus Session Manager.

The app never imports this package: it runs it as a separate process (`python -m ssm_tui.sandbox`).
"""
