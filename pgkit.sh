#!/usr/bin/env bash
# The pgkit command. Builds the project on first use (or when a source or pom changed), then runs it:
#   ./pgkit.sh demo | schema | migrate | status | cleanup | bench state
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jar="$root/pgkit-cli/target/pgkit.jar"
if [ ! -f "$jar" ] || [ -n "$(find "$root" -path "$root/*/target" -prune -o \( -name pom.xml -o -path '*/src/*' \) -type f -newer "$jar" -print -quit)" ]; then
  echo "building pgkit (first run, or sources changed)…" >&2
  (cd "$root" && mvn -q -B -DskipTests install) >&2
fi
exec java -jar "$jar" "$@"
