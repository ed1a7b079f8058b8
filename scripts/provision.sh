# Shared set-up for ./isola and ./test.sh: install what is missing, build what changed.
# Sourced, not run; expects ROOT to be the repository root. Everything lands inside the repo
# (.tools/) except the PostgreSQL Debian package, which needs the system package manager.

DENO_VERSION="2.9.6"
DENO_BIN="$ROOT/.tools/deno/node_modules/@deno/linux-x64-glibc/deno"
HOST_DLL="$ROOT/src/Isola.Host/bin/Release/net10.0/isola.dll"
CLI_DLL="$ROOT/src/Isola.Cli/bin/Release/net10.0/isola-cli.dll"

say() { printf 'isola: %s\n' "$*" >&2; }

have_postgres() {
  [ -n "${ISOLA_PG_BIN:-}" ] && [ -x "$ISOLA_PG_BIN/initdb" ] && return 0
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && return 0
  command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1
}

ensure_postgres() {
  have_postgres && return 0
  if [ "$(id -u)" != "0" ]; then
    say "PostgreSQL server binaries (initdb, pg_ctl) are missing."
    say "Install them with:  sudo apt-get install -y postgresql"
    say "or point ISOLA_DATABASE_URL at an existing PostgreSQL server."
    exit 1
  fi
  say "installing PostgreSQL (Debian package 'postgresql')..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends postgresql >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && apt-get install -y --no-install-recommends postgresql >/dev/null; }
  have_postgres || { say "PostgreSQL installation failed"; exit 1; }
}

# The docs' examples (run by the tests) use curl; minimal Debian images lack it.
ensure_curl() {
  command -v curl >/dev/null 2>&1 && return 0
  [ "$(id -u)" = "0" ] || { say "curl is missing: sudo apt-get install -y curl"; exit 1; }
  say "installing curl..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl >/dev/null; }
}

ensure_deno() {
  if [ -x "$DENO_BIN" ] && "$DENO_BIN" --version 2>/dev/null | head -n1 | grep -q "^deno $DENO_VERSION "; then
    return 0
  fi
  command -v npm >/dev/null 2>&1 || { say "npm is needed to install Deno (npm package @deno/linux-x64-glibc)"; exit 1; }
  say "installing Deno $DENO_VERSION into .tools/deno..."
  npm install --prefix "$ROOT/.tools/deno" --no-audit --no-fund --no-save --loglevel=error \
    "@deno/linux-x64-glibc@$DENO_VERSION" >/dev/null
  [ -x "$DENO_BIN" ] || { say "Deno installation failed: $DENO_BIN is missing"; exit 1; }
}

# npm packages the tests drive for real, from their lock files: the Supabase client contract, and the
# TypeScript compiler that checks sdk/js's committed dist/ against its sources.
ensure_test_npm() {
  local dir
  for dir in "$ROOT/test/node/supabase-functions-js:@supabase/functions-js" "$ROOT/sdk/js:typescript"; do
    [ -d "${dir%%:*}/node_modules/${dir#*:}" ] && continue
    say "installing npm packages in ${dir%%:*}..."
    npm ci --prefix "${dir%%:*}" --no-audit --no-fund --loglevel=error >/dev/null || { say "npm ci in ${dir%%:*} failed"; exit 1; }
  done
}

# build_if_stale DLL PROJECT WHAT SOURCE...: builds PROJECT only when a file under the SOURCE folders is newer
# than DLL: a no-op 'dotnet build' still costs seconds on every start.
build_if_stale() {
  local dll="$1" project="$2" what="$3"
  shift 3
  if [ -f "$dll" ] && [ -z "$(find "$@" "$ROOT/Directory.Build.props" "$ROOT/Directory.Packages.props" \
        -newer "$dll" -type f -not -path '*/bin/*' -not -path '*/obj/*' -print -quit)" ]; then
    return 0
  fi
  say "building $what..."
  local log
  log=$(mktemp)
  if ! dotnet build "$project" -c Release --nologo -v q >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"; say "build failed"; exit 1
  fi
  rm -f "$log"
  touch "$dll"
}

build_host() { build_if_stale "$HOST_DLL" "$ROOT/src/Isola.Host/Isola.Host.csproj" "the host" "$ROOT/src/Isola.Host"; }

# The CLI needs neither PostgreSQL nor Deno: only its own sources and the client's decide a rebuild.
build_cli() { build_if_stale "$CLI_DLL" "$ROOT/src/Isola.Cli/Isola.Cli.csproj" "the CLI" "$ROOT/src/Isola.Cli" "$ROOT/src/Isola.Client"; }
