#!/usr/bin/env bash
# The browser libraries the web UI serves from its own origin (the CSP allows scripts from
# 'self' only, so no CDN): installed from the lock file (frontend/package-lock.json, exact
# versions and integrity hashes) with `npm ci`, their browser builds and licences copied into
# webui/static/vendor/. The output is committed: `make run` needs no npm. Run it again
# (`make vendor-js`) after changing frontend/package.json (then `npm install
# --package-lock-only` there first, to update the lock file). axe-core goes to
# tests/integration/vendor/ (a test asset, not served).
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
# JsSIP (the agent console's browser phone): npm ships it as CommonJS only, so esbuild (a
# devDependency, pinned in the lock file) bundles it with its three dependencies (debug,
# events, sdp-transform) into one browser script that sets window.JsSIP; licences go along
"$mods/.bin/esbuild" "$mods/jssip/lib/JsSIP.js" --bundle --minify --format=iife \
  --global-name=JsSIP --platform=browser --target=es2019 --legal-comments=none \
  --log-level=warning --outfile="$out/jssip.min.js"
{
  echo "webui/static/vendor/jssip.min.js: JsSIP $(node -p "require('$mods/jssip/package.json').version"), bundled by esbuild with debug, events and sdp-transform (their licences follow JsSIP's)"
  echo
  cat "$mods/jssip/LICENSE.md"
  for dep in debug events sdp-transform; do
    echo
    echo "--- $dep $(node -p "require('$mods/$dep/package.json').version") ---"
    cat "$mods/$dep/LICENSE"* 2>/dev/null || node -p "'License: ' + require('$mods/$dep/package.json').license"
  done
} > "$out/jssip.LICENSE.txt"
# axe-core, for the accessibility test only: injected into each page by Playwright (an init
# script of the browser context), never served, so it lives beside the tests
tests_out="$root/tests/integration/vendor"
mkdir -p "$tests_out"
cp "$mods/axe-core/axe.min.js" "$tests_out/axe.min.js"
{
  echo "tests/integration/vendor/axe.min.js: axe-core $(node -p "require('$mods/axe-core/package.json').version") (Mozilla Public License 2.0)"
  echo
  cat "$mods/axe-core/LICENSE"
} > "$tests_out/axe-core.LICENSE.txt"
echo "vendor-js: $(ls "$out" | tr '\n' ' ')$(ls "$tests_out" | tr '\n' ' ')"
