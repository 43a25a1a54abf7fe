#!/usr/bin/env bash
# Shows dsync's progress as a person sees it: runs a 1M-row CSV → SQLite sync inside tmux and
# prints the pane while it reads and after it writes. Needs tmux (Debian package tmux).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'tmux kill-session -t dsync-progress 2>/dev/null || true; rm -rf "$work"' EXIT
deno run -A scripts/gen_data.ts "${1:-1000000}" "$work/data.csv"
tmux new-session -d -s dsync-progress -x 100 -y 12 \
  "deno run -A main.ts csv:sqlite $work/data.csv $work/demo.db#data --format summary > /dev/null; sleep 60"
for wait in 3 6 6; do
  sleep "$wait"
  echo "--- after ${wait}s more:"
  tmux capture-pane -p -t dsync-progress | grep -v '^$' || true
done
