"""tradekb on the web: the HTTP front of `tradekb serve` (front.py) and the rules it applies to
every request before Oxigraph's server sees it (policy.py)."""
