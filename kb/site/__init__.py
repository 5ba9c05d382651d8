"""The knowledge base as a website: the same pages served live by `tradekb serve` (app) and
written out by `tradekb site` (static), from one set of templates (pages) over the store (model)."""
