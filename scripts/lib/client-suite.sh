# Shared by the scripts that run a client library's own test suite against a broker
# (scripts/*-suite.sh): sourced, not run. Each function prints what is wrong as "NAME: ..." and
# exits with the sysexits code a caller of those scripts can tell apart.

# The folder of a checkout holding `top` (tests or t) with `marker` (a file under it), given the
# checkout or its `top` folder itself. Prints the absolute path; exits 66 when there is none.
#   suite_root NAME CHECKOUT TOP MARKER
suite_root() {
  local name="$1" checkout="$2" top="$3" marker="$4" root
  if [ -f "$checkout/$top/$marker" ]; then
    root="$checkout"
  elif [ -f "$checkout/$marker" ]; then
    root="$(dirname "$checkout")"
  else
    echo "$name: no $top/$marker under $checkout" >&2
    exit 66
  fi
  (cd "$root" && pwd)
}

# Exits 64 unless PORT is a number.
#   suite_port NAME PORT
suite_port() {
  case "$2" in
    '' | *[!0-9]*)
      echo "$1: PORT must be a number, not '$2'" >&2
      exit 64
      ;;
  esac
}

# Exits 69 unless /usr/bin/python3 (Debian's, where the apt packages install) imports every module.
#   suite_python NAME "MODULE, MODULE" "DEBIAN-PACKAGE ..."
suite_python() {
  if ! /usr/bin/python3 -c "import $2" 2>/dev/null; then
    echo "$1: /usr/bin/python3 needs $2 (apt-get install -y $3)" >&2
    exit 69
  fi
}
