#!/usr/bin/env bash
# The browser libraries the web UI serves from its own origin (the CSP allows scripts from
# 'self' only, so no CDN): installed from the lock file (frontend/package-lock.json, exact
# versions and integrity hashes) with `npm ci`, their browser builds and licences copied into
# webui/static/vendor/. The output is committed: `make run` needs no npm. Run it again
# (`make vendor-js`) after changing frontend/package.json (then `npm install
# --package-lock-only` there first, to update the lock file).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
front="$root/frontend"
out="$root/webui/static/vendor"
command -v npm >/dev/null || { echo "vendor-js: npm is needed (apt-get install npm)" >&2; exit 1; }
(cd "$front" && npm ci --ignore-scripts --no-audit --no-fund)
mkdir -p "$out"
mods="$front/node_modules"
# Chart.js's UMD build (it bundles its one dependency, @kurkle/color: both licences go along)
cp "$mods/chart.js/dist/chart.umd.min.js" "$out/chart.umd.min.js"
{
  echo "webui/static/vendor/chart.umd.min.js: Chart.js $(node -p "require('$mods/chart.js/package.json').version"), which bundles @kurkle/color (its licence follows Chart.js's)"
  echo
  cat "$mods/chart.js/LICENSE.md"
  echo
  echo "--- @kurkle/color ---"
  cat "$mods/@kurkle/color/LICENSE.md"
} > "$out/chart.js.LICENSE.txt"
# the source map points into the package: not shipped, so the served file ends without a
# sourceMappingURL that would 404 in the browser's console
sed -i '/^\/\/# sourceMappingURL=/d' "$out/chart.umd.min.js"
echo "vendor-js: $(ls "$out" | tr '\n' ' ')"
