#!/usr/bin/env bash
# Installs the system packages strata needs that are missing (Debian/Ubuntu,
# apt): libmongoc/libbson and PCRE2 headers, pkg-config, python3 and its venv module,
# openssl (the TLS tests make their certificates with it).
# Does nothing when all are there. As root it runs apt-get directly, otherwise
# through sudo.
set -euo pipefail
missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
pkg-config --exists libmongoc-1.0 2>/dev/null || missing+=(libmongoc-dev libbson-dev)
# PCRE2, the regular-expression library mongod uses (StrataEvaluator's regexes).
pkg-config --exists libpcre2-8 2>/dev/null || missing+=(libpcre2-dev)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
# Debian's python3 ships venv without ensurepip: creating a venv with pip needs python3-venv.
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
# The TLS tests make a CA and certificates at test time.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]} (apt-get)"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: no apt-get here; install these yourself: ${missing[*]} (libmongoc 1.x and libpcre2-8 with pkg-config, python3 with venv)" >&2
  exit 1
fi
sudo=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
    echo "deps: not root and no sudo; as root run: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed ${missing[*]}"
