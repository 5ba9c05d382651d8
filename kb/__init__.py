"""tradekb: a knowledge base of the 2019 Japan–South Korea export-control dispute.

Each stage of the data's way is one module, usable without the command line:
annotations (YAML -> records) -> graph (records -> RDF) -> validate (SHACL) and reason (HermiT)
-> queries (saved SPARQL) -> export (files).
"""
