"""The HTTP API and the search page: `signclip.serve.app.create_app(settings)` builds the FastAPI app,
`signclip.serve.settings.ServeSettings` holds its options and limits (`signclip serve` runs it)."""
