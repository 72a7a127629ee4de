"""Model providers: the embedded llama.cpp model, Bedrock, and the router between them.

- `registry`: names (``local``, ``local:<name>``, ``bedrock``, ``bedrock:<id>``) -> candidates.
- `router`: retry one model on transient errors, fall back along the chain, re-ask on unusable
  replies; every attempt recorded.
- `failures`: which exception means retry, fall back, or stop for the user.
- `bedrock`: strands' BedrockModel with the default chain, and an offline credential status.

Nothing heavy is imported here; import the submodule you need.
"""
