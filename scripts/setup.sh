#!/usr/bin/env bash
# Create .venv and install tradekb with its test tools; skipped when pyproject.toml is unchanged.
# Needs Python 3.11+, gcc (owlready2 compiles) and, for reasoning, Java.
# --with-jena also installs Apache Jena (Debian's libapache-jena-java) when it is missing and this
# user may run apt-get: the tests hold Jena's SHACL verdicts to pySHACL's.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "tradekb needs Python 3.11 or newer ($("$python" --version 2>&1) found); set PYTHON=..." >&2
  exit 3
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
if ! command -v java >/dev/null 2>&1; then
  echo "note: Java is not installed: 'tradekb reason' and the reasoning step of 'build' need it" \
       "(e.g. apt-get install default-jre-headless)" >&2
fi
if [ "${1:-}" = "--with-jena" ] && [ ! -f /usr/share/java/jena-shacl.jar ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Apache Jena (libapache-jena-java)..." >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libapache-jena-java >/dev/null
  else
    echo "note: Apache Jena is not installed and apt-get is not available to this user:" \
         "the Jena parity tests will be skipped (apt-get install libapache-jena-java)" >&2
  fi
fi
