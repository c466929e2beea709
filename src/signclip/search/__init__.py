"""The search use cases the CLI, the API and the quickstart call: indexing as stages, search, an item's pose."""
