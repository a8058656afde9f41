#!/bin/sh
# Removes from a production node_modules (npm ci --omit=dev) what the collector never loads at run time.
# The image's deps stage runs it; test/package.test.ts runs it on a customer-style install of the packed
# package and then runs a collection there, so a file the worker does load cannot go unnoticed.
#
#   docker/prune-node-modules.sh <node_modules directory>
#
# What goes, and why it is never loaded:
# - the Temporal core bridge builds for other platforms (one native library per platform, ~30 MB each);
# - source maps (*.map): Node reads them only under --enable-source-maps, which the image does not set,
#   and the workflow bundler (bundleAtStart, with tracing) tolerates their absence;
# - TypeScript sources and declarations (*.ts, *.mts, *.cts, including .d.ts): for compilers, not Node;
# - @azure/msal-browser: a browser-only dependency of @azure/identity that its Node build never requires;
# - package documentation (README, CHANGELOG and other *.md); licence files stay.
# Exit status non-zero, and nothing claimed pruned, when the directory or this platform's bridge is missing.
set -eu

dir=${1:?usage: prune-node-modules.sh <node_modules directory>}
[ -d "$dir" ] || {
  echo "prune-node-modules: $dir is not a directory" >&2
  exit 2
}
before=$(du -sk "$dir" | cut -f1)

case "$(uname -m)" in
  x86_64) keep=x86_64-unknown-linux-gnu ;;
  aarch64) keep=aarch64-unknown-linux-gnu ;;
  *)
    echo "prune-node-modules: no Temporal core bridge build for $(uname -m)" >&2
    exit 1
    ;;
esac
releases=$dir/@temporalio/core-bridge/releases
[ -f "$releases/$keep/index.node" ] || {
  echo "prune-node-modules: $releases/$keep/index.node is missing (was npm ci run for this platform?)" >&2
  exit 1
}
find "$releases" -mindepth 1 -maxdepth 1 ! -name "$keep" -exec rm -rf {} +

find "$dir" -type f \( -name '*.map' -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' \) -delete
find "$dir" -type f -name '*.md' ! -iname 'licen[cs]e*' -delete
rm -rf "$dir/@azure/msal-browser"

after=$(du -sk "$dir" | cut -f1)
echo "prune-node-modules: $dir $((before / 1024)) MB -> $((after / 1024)) MB"
