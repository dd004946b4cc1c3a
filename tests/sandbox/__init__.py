"""Tests of the sandbox process (ssm_tui.sandbox) driven with boto3 and the aws-cli."""
