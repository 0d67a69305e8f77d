#!/usr/bin/env bash
# The main job on embedded defaults: a fresh demo clinic (SQLite in .demo/), the machine simulator on
# tcp://127.0.0.1:7001 and the web app on http://127.0.0.1:8000. Ctrl-C stops both.
set -euo pipefail
bin=.venv/bin
db="sqlite:///$PWD/.demo/clinic.sqlite3"
rm -rf .demo && mkdir -p .demo
"$bin/laserdose" db upgrade --database-url "$db"
"$bin/laserdose" db seed-demo --database-url "$db"
"$bin/laserdose" device simulate --profile 15w-dual --listen tcp://127.0.0.1:7001 --footswitch auto \
    --log .demo/emission.jsonl &
simulator=$!
trap 'kill "$simulator" 2>/dev/null || true' EXIT
echo "machine simulator: tcp://127.0.0.1:7001 (try: $bin/laserdose treat --plan examples/plan.json" \
     "--device tcp://127.0.0.1:7001 --operator demo --database-url $db)"
"$bin/laserdose" serve --database-url "$db" --workers 2  # the pages on both cores of a small clinic PC
