"""The manifest table every dataset becomes: reading and writing it, prompts, splits, sampling, the synthetic signer."""
