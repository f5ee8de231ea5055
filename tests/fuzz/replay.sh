#!/usr/bin/env bash
# Replay a fuzz target over its corpus directory (seeds and regression inputs of fixed crashes): each
# file runs once, no mutation; any sanitizer report or leak fails. Usage: replay.sh <target> <corpus dir>
set -euo pipefail
target=$1 dir=$2
shopt -s nullglob
files=("$dir"/*)
[ ${#files[@]} -gt 0 ] || { echo "replay: no inputs in $dir"; exit 1; }
exec "$target" -runs=0 -rss_limit_mb=4096 "$dir"
