#!/usr/bin/env bash
# Create .venv and install tradekb with its test tools; skipped when pyproject.toml is unchanged.
# Needs Python 3.11+, gcc (owlready2 compiles) and, for reasoning, Java.
# --with-servers also installs what the tests run against from Debian, when missing and this user
# may run apt-get: Apache Jena (libapache-jena-java; the tests hold its SHACL verdicts to pySHACL's
# and parse the exports with its riot) and Virtuoso (virtuoso-opensource; the tests start it on
# loopback ports, the packaged service is not used), with strace (the crash tests kill a build at a
# chosen system call). --with-jena installs Jena alone, and a JDK where javac is missing.
# --with-browser installs Debian's chromium and fonts-noto-cjk (the Korean headline) for the
# browser tests (tests/test_site_browser.py drives /usr/bin/chromium with Playwright, whose own
# browser download is not used). Options combine: setup.sh --with-servers --with-browser.
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
missing=()  # Debian packages the tests want and this machine lacks
for option in "$@"; do
  case "$option" in
    --with-servers|--with-jena)
      [ -f /usr/share/java/jena-shacl.jar ] || missing+=(libapache-jena-java)
      command -v javac >/dev/null 2>&1 || missing+=(default-jdk-headless) ;;&  # compiles the Jena SHACL driver
    --with-servers)
      command -v virtuoso-t >/dev/null 2>&1 || missing+=(virtuoso-opensource)
      command -v strace >/dev/null 2>&1 || missing+=(strace) ;;  # tests/test_faults.py kills at a chosen system call
    --with-jena) ;;
    --with-browser)
      [ -x /usr/bin/chromium ] || missing+=(chromium)
      [ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || missing+=(fonts-noto-cjk) ;;
    *) echo "setup.sh: unknown option $option (--with-servers, --with-jena, --with-browser)" >&2; exit 2 ;;
  esac
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]}..." >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "note: not installed, and apt-get is not available to this user: ${missing[*]}:" \
         "the tests that need them will be skipped (apt-get install ${missing[*]})" >&2
  fi
fi
