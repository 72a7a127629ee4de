"""The local sandbox: a bubblewrap jail with a worker process that keeps a session's state (Linux).

`session.LocalSession` is the backend; `jail` builds the bubblewrap command line, `supervisor`
talks to the `worker` over `protocol`, and `cgroup`, `tmpfs`, `seccomp`, `freeze` set the
session's limits; `workdir` moves files in and out without following links; `packages` is the
sandbox's own package environment (`agentcode sandbox add`). Imported lazily (`agentcode run`).
"""
