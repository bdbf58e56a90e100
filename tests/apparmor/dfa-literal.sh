# Sourced (POSIX sh) by tests/apparmor/policy-compile.sh and
# tests/hostile/run.sh: the check that one AppArmor rule matches exactly one
# literal path and nothing wider.
#
# dfa_literal PARSER PROFILE: compile PROFILE, a profile holding one rule for
# one path and no includes, with PARSER (apparmor_parser -Q -K: no kernel, no
# cache) and print the bytes its DFA accepts, one hex byte a line; fail, with
# the reason on stderr where there is one, when it accepts anything but one
# fixed string.  A literal path compiles to a single chain of one-byte
# transitions from the start state to the one accepting state: any glob,
# class, alternation or variable shows up as a branch, a class label or an
# accepting state inside the chain.
dfa_literal() {
    "$1" -Q -K -D dfa-graph "$2" 2>&1 >/dev/null | LC_ALL=C awk '
        /^\t"\{[0-9]+\}" -> "\{[0-9]+\}" \[$/ {
            from = $1; to = $3; gsub(/"/, "", from); gsub(/"/, "", to); edge = 1; next
        }
        /^\t"\{[0-9]+\}" \[$/ { node = $1; gsub(/"/, "", node); edge = 0; next }
        /^\t\tstyle=bold$/ { start = node; next }
        /^\t\tlabel=/ {
            if (edge) {
                if (from in next_of) { print "branch at " from > "/dev/stderr"; bad = 1 }
                next_of[from] = to
                lab = $0
                if (lab !~ /0x[0-9a-f][0-9a-f]"$/ || lab ~ /^\t\tlabel="\[/) {
                    print "not a single byte: " lab > "/dev/stderr"; bad = 1
                }
                sub(/"$/, "", lab); n = split(lab, parts, "0x"); byte_of[from] = parts[n]
            } else if ($0 ~ /\(0x/) {
                accept[node] = 1
            }
            next
        }
        END {
            if (bad || start == "") exit 1
            s = start; steps = 0
            while (s in next_of) {
                if (s in accept) { print "accepts a prefix" > "/dev/stderr"; exit 1 }
                print byte_of[s]; s = next_of[s]
                if (++steps > 8192) exit 1
            }
            if (!(s in accept)) exit 1
        }'
}
