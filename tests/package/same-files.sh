#!/bin/bash
# Usage: same-files.sh A.deb B.deb
# The two packages (amd64 and arm64 from the same debian/) ship the same
# files: same paths, types, modes and owners (`dpkg-deb -c`), sizes and
# dates aside, with each one's multiarch triplet written as TRIPLET.  Prints
# the difference and exits 1 when they differ; 2 on a usage error.
set -euo pipefail
[ $# = 2 ] && [ -f "$1" ] && [ -f "$2" ] || {
    echo "usage: $0 A.deb B.deb (two package files)" >&2; exit 2; }

listing() {  # DEB -> "MODE OWNER PATH[ -> TARGET]" lines, sorted
    local triplet
    triplet=$(dpkg-architecture -a "$(dpkg-deb -f "$1" Architecture)" -qDEB_HOST_MULTIARCH 2>/dev/null)
    dpkg-deb -c "$1" | awk '{ $3 = ""; $4 = ""; $5 = ""; print }' |
        sed "s|$triplet|TRIPLET|g; s/  */ /g" | sort
}
a=$(listing "$1"); b=$(listing "$2")
if [ "$a" != "$b" ]; then
    echo "FAIL: '$1' and '$2' do not ship the same files:"
    diff <(echo "$a") <(echo "$b") || true
    exit 1
fi
echo "PASS: '$1' and '$2' ship the same $(echo "$a" | wc -l) entries (paths, modes, owners)"
