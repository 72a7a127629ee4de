"""Generation and verification: a request becomes one program the model wrote and the checks passed.

The pipeline, in the order a request meets it:
- `request`: the options of `agentcode.generate` typed once (`GenerateOptions`) and the frozen
  `Request` built from them, which `run`/`arun` carry out;
- `pipeline`: its vocabulary: the stages a candidate meets in order (`Stage`), the typed
  `Failure` each check returns, and the heuristic checks that can be turned off (`Checks`);
- `codegen`: the system prompt, the request's context and the model call (through the router in
  `agentcode.models`), one candidate program per answer;
- `checks`: what is known about a candidate before and after it runs: `checks.preflight` (syntax
  and undefined names, no model round), `checks.user_tests` with `checks.test_harness` (the user's
  tests and check, run in the sandbox; `checks.fresh` and `checks.fresh_runner` judge them in a
  process the candidate never controlled), `checks.output` (did a clean run do the task at all);
- `judge`: runs one candidate in the sandbox and says how it did;
- `verify`: the loop that asks, judges and repairs within the budget; what it runs and how
  hard it tries (`options`), how a candidate is asked for (`drawing`), each program judged once
  (`verdicts`), how rounds compare (`rounds`), choosing by agreement (`agreement`), and what
  it returns (`result`);
- `conversation`: earlier turns of a session, as the model sees them.

Nothing here records history or parses the command line: `agentcode.api` does the first, the
front ends (`agentcode.cli`, `agentcode.server`, `agentcode.mcp`) the second.
"""
