"""A local AWS for the demo, the tests and the benchmarks: moto plus Session Manager.

The app never imports this package: it runs it as a separate process (`python -m ssm_tui.sandbox`,
`ssm-tui sandbox`, or `ssm_tui.demo.SandboxProcess`). One loopback port serves everything:

- `app.py`      front router: websocket -> data channel; `/_sandbox/` admin; SSO portal paths;
                fault gate; fast paths (SSM session ops, EC2 DescribeInstances); moto (a2wsgi).
- `world.py`    the seeded accounts, regions, profiles and fleet (deterministic per seed).
- `seed.py`     moto state: IAM user + keys, aliases, roles, organization, Session documents,
                log group and bucket of the logging preferences.
- `ssm_api.py`  DescribeInstanceInformation, Start/Resume/TerminateSession, DescribeSessions,
                GetConnectionStatus, GetInventory (AWS:InstanceInformation), tags of managed
                instances; answered by the front router and also patched onto moto's SSM class.
- `ec2_api.py`  DescribeInstances for the fleet, rendered straight to XML (moto's serializer
                costs ~4 ms per instance).
- `sso_portal.py` ListAccounts / ListAccountRoles / GetRoleCredentials / Logout against the token
                the sandbox writes into botocore's SSO token cache.
- `identity.py` access key -> caller (account, ARN, user or role session name).
- `errors.py`   AWS error bodies per protocol (json, ec2, query, s3, rest-json).
- `context.py`  what the data channel gets: registry, live faults, CloudWatch/S3 writers, loop.
- `sessions.py` the session registry shared with the data channel (`datachannel.py` & co).
- `server.py`, `__main__.py` start-up, ready line (`SSM_TUI_SANDBOX_READY {json}`), shutdown.

Credentials are checked as AWS would: a key the sandbox never issued is rejected
(UnrecognizedClientException / AuthFailure / InvalidClientTokenId), so every client must use
the written config files (or the `x-moto-account-id` header, moto's own escape hatch).
"""
