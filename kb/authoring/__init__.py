"""The authoring kit: what helps a person write annotation files (docs/annotations.md).

schema: the JSON Schema of the format, generated from kb.annotations' definitions, and the
reference section of the docs generated from it; scaffold: `tradekb new`; check: `tradekb check`;
ids: `tradekb ids`; corpus: `tradekb init`.
"""
