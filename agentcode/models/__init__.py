"""Model providers: the embedded llama.cpp model, Bedrock, and the router between them."""
