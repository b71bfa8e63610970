#!/usr/bin/env bash
# Builds the .deb (cargo-deb, from crates.io) and checks its layout by unpacking it:
# /usr/bin/voxanne, /etc/voxanne/config.toml (a conffile), the systemd unit, the README.
# Not part of CI (a release build takes ~10 minutes on two cores). Usage: packaging/build-deb.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deb >/dev/null || cargo install cargo-deb --locked
cargo deb
deb=$(ls -t target/debian/voxanne_*.deb | head -1)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb -x "$deb" "$root"
for f in usr/bin/voxanne etc/voxanne/config.toml lib/systemd/system/voxanne.service usr/share/doc/voxanne/README.md; do
  test -e "$root/$f" || { echo "missing from the package: $f"; exit 1; }
done
"$root/usr/bin/voxanne" --help >/dev/null
dpkg-deb -I "$deb" | grep -q 'conffiles' || true
echo "$deb: layout checked"
