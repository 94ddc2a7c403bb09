#!/usr/bin/env bash
# Installs the pinned third-party reference programs (testdata/validators/package.json: llama.cpp via
# node-llama-cpp with only its CPU build, HF tokenizers, C++ SentencePiece, onnxruntime-node with its bundled
# CPU library) from the npm registry. Nothing is downloaded outside the registry: node-llama-cpp's and
# onnxruntime-node's install scripts are told to skip their downloads.
#
# `npm ci` refuses a lock file made with --omit=optional on npm 11 (platform builds that are not served), so
# this runs `npm install` against package.json's exact pins and then checks the installed versions.
set -euo pipefail
cd "$(dirname "$0")/../testdata/validators"
export NODE_LLAMA_CPP_SKIP_DOWNLOAD=true ONNXRUNTIME_NODE_INSTALL=skip
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "validators: node/npm not found; installing Debian's nodejs and npm" >&2
	apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
fi
npm install --no-audit --no-fund --omit=optional --no-save --loglevel=error
# Check every pin is what is installed.
node -e '
const fs = require("fs");
const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
let bad = 0;
for (const [name, want] of Object.entries(pkg.dependencies)) {
  let got = "missing";
  try { got = JSON.parse(fs.readFileSync(`node_modules/${name}/package.json`, "utf8")).version; } catch {}
  if (got !== want) { console.error(`validators: ${name} is ${got}, package.json pins ${want}`); bad++; }
}
if (bad) process.exit(1);
console.log(`validators: ${Object.keys(pkg.dependencies).length} pinned packages installed`);
'
