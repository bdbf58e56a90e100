#!/usr/bin/env python3
"""Check whole virtguard rules files as apparmor_parser reads them.

    aa-rules-check.py [--parser PATH] [--batch N] CASE.rules...

Each CASE.rules is a rules file exactly as virtguard wrote it (comments,
adjacent entries and all); CASE.expect beside it lists what the file is
meant to grant, one entry a line, the path as hex bytes:

    file 2f696d672f612e71636f7732 rwk        a literal path and its permissions
    file 2f696d672f622e69736f rk deny        ... followed by "deny PATH w,"
    tree 2f696d672f7368617265 rwkl           a directory: "DIR/" r and "DIR/**" PERMS

(permissions may be left out, then only the paths are checked).

The files are included into wrapper profiles exactly as the helper includes
them into libvirt's profile (`#include if exists <libvirt/NAME.virtguard>`)
and compiled in batches with `apparmor_parser -Q -K -D rule-exprs -D
dfa-graph`.  For every case:

 1. rule-exprs: the set of file-rule expressions the parser built from the
    whole file must be exactly the intended ones -- each a literal path (no
    unescaped regex operator) or the fixed DIR/** form of an intended tree.
    A quoted string that runs past its line, an injected rule, a glob that
    survived escaping: each shows up as an expression nobody intended.
 2. dfa-graph: the compiled DFA, walked from its start state over
    single-byte edges, accepts exactly the intended literals (and DIR/);
    a class or default edge may only leave an intended tree's DIR/.
 3. no other policy: no second (policydb) DFA (network, signal, mount,
    dbus ... rules), and every line of the file is a comment or one
    `[deny ]"..." PERMS,` rule, so no capability or other non-file rule
    can hide in it.

Exit 0 when every case passes; 1 with one "FAIL CASE: why" line per failed
case; 77 when apparmor_parser is missing.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

# The characters apparmor_parser 3.0.8 escapes in its rule-exprs form of a
# literal (found by compiling each escaped): "?" and "," are shown bare.
REGEX_OPS = set(b"[](){}*+|.^$")
TREE_TAIL = b"/[^/\\x00][^\\x00]*"
LINK_TAIL = b"\\x00/[^/].*"


def esc_regex(data):
    """apparmor_parser's rule-exprs form of a literal: regex operators and
    the backslash escaped (as its convert_aaregex_to_pcre output shows)."""
    out = bytearray()
    for c in data:
        if c in REGEX_OPS or c == 0x5C:
            out += b"\\"
        out.append(c)
    return bytes(out)


RULE_LINE = re.compile(rb'^  (deny )?"((?:[^"\\]|\\.)*)" [rwkl]+,$')
COMMENT_LINE = re.compile(rb"^ *# [^\r]*$")


def grammar_problem(text):
    for n, line in enumerate(text.split(b"\n"), 1):
        if line == b"" or COMMENT_LINE.match(line) or RULE_LINE.match(line):
            continue
        return "line %d is neither a comment nor one quoted rule: %r" % (n, line[:120])
    if not text.endswith(b"\n"):
        return "the file does not end with a newline"
    return None


def parse_expect(path):
    """files, trees (sets of paths) and perms {(path, tree): (perms, deny)}."""
    files, trees, perms = set(), set(), {}
    with open(path, "rb") as f:
        for line in f.read().decode("ascii").splitlines():
            if not line.strip():
                continue
            words = line.split()
            kind, data = words[0], bytes.fromhex(words[1])
            if kind not in ("file", "tree"):
                raise SystemExit("bad expect line in %s: %s" % (path, line))
            (files if kind == "file" else trees).add(data)
            if len(words) > 2:
                perms[(data, kind == "tree")] = (words[2].encode(), words[3:] == ["deny"])
    return files, trees, perms


def unescape(body):
    """The path a quoted rule body names, and whether it ends in the tree
    glob; None for a body with any other live special character."""
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c == 0x5C:
            out.append(body[i + 1])
            i += 2
            continue
        if body[i:] == b"**" and out.endswith(b"/"):
            return bytes(out[:-1]), True
        if c in b'*?[]{}^,"':
            return None, False
        out.append(c)
        i += 1
    return bytes(out), False


def perms_problem(text, perms):
    """Compare each rule line's permissions with the manifest's."""
    seen = {}
    for line in text.split(b"\n"):
        m = RULE_LINE.match(line)
        if not m:
            continue
        path, tree = unescape(m.group(2))
        if path is None:
            return "line %r is not a literal rule" % line[:120]
        p = line.rsplit(b" ", 1)[1][:-1]
        deny = m.group(1) is not None
        seen.setdefault((path, tree, deny), []).append(p)
    for (path, tree), (want, want_deny) in perms.items():
        if tree:
            if seen.get((path + b"/", False, False)) != [b"r"] or \
                    seen.get((path, True, False)) != [want]:
                return "tree %r: permissions %r/%r, intended r/%r" % (
                    path, seen.get((path + b"/", False, False)), seen.get((path, True, False)), want)
            continue
        if seen.get((path, False, False)) != [want]:
            return "%r: permissions %r, intended %r" % (path, seen.get((path, False, False)), want)
        if (seen.get((path, False, True)) == [b"w"]) != want_deny or \
                len(seen.get((path, False, True), [])) > 1:
            return "%r: deny rule %r, intended %s" % (path, seen.get((path, False, True)),
                                                       "one 'w'" if want_deny else "none")
    return None


def parse_sections(out):
    """Split parser output into {profile: [lines]} by its 'aare: NAME' lines."""
    sections, cur = {}, None
    for line in out.split(b"\n"):
        m = re.match(rb"^aare: (vgcheck-\d+)   ->   (vgcheck-\d+)$", line)
        if m:
            cur = m.group(1).decode()
            sections[cur] = []
            continue
        if cur is not None:
            sections[cur].append(line)
    return sections


MARKER = b"/vgcheck/"


def marker_of(g):
    """Each wrapper profile carries the rule "/vgcheck/N" r, (N its index):
    -D dfa-graph prints no profile names, so a graph is told by the marker
    its DFA accepts."""
    out = {}
    for frm, to, label in g["edges"]:
        out.setdefault(frm, []).append((to, label))
    s = g["start"]
    for b in MARKER:
        nxt = [to for to, label in out.get(s, []) if single_byte(label) == b]
        if len(nxt) != 1:
            return None
        s = nxt[0]
    digits = b""
    while True:
        nxt = [(to, single_byte(label)) for to, label in out.get(s, [])
               if single_byte(label) is not None and 0x30 <= single_byte(label) <= 0x39]
        if s in g["accept"] and not nxt:
            return "vgcheck-%s" % digits.decode() if digits else None
        if len(nxt) != 1:
            return None
        s, b = nxt[0]
        digits += bytes([b])


def split_graphs(out):
    cur = None
    for line in out.split(b"\n"):
        if line == b'digraph "dfa" {':
            cur = [line]
            continue
        if cur is not None:
            cur.append(line)
            if line == b"}":
                yield cur
                cur = None


def parse_graphs(lines):
    graphs, g = [], None
    node = edge = None
    for line in lines:
        if line == b'digraph "dfa" {':
            g = {"start": None, "accept": set(), "edges": []}
            graphs.append(g)
            continue
        if g is None:
            continue
        if line == b"}":
            g = None
            continue
        m = re.match(rb'^\t"\{([0-9a-f]+)\}" -> "\{([0-9a-f]+)\}" \[$', line)
        if m:
            edge = [m.group(1), m.group(2), None]
            g["edges"].append(edge)
            node = None
            continue
        m = re.match(rb'^\t"\{([0-9a-f]+)\}" \[$', line)
        if m:
            node, edge = m.group(1), None
            continue
        if line == b"\t\tstyle=bold" and node:
            g["start"] = node
            continue
        m = re.match(rb'^\t\tlabel="(.*)"$', line)
        if m:
            if edge is not None:
                edge[2] = m.group(1)
            elif node is not None and b"(0x" in m.group(1):
                g["accept"].add(node)
    return graphs


def single_byte(label):
    if label is None or label.startswith(b"["):
        return None
    m = re.search(rb"(?:^| )0x([0-9a-f]{1,2})$", label)
    return int(m.group(1), 16) if m else None


def check_dfa(g, literals, tree_prefixes):
    # A path strictly under an intended tree's DIR/ is the tree's to accept:
    # the walk stops there, so a literal under a tree (a backing file in a
    # granted directory) shows up only as far as its first byte after DIR/,
    # and whatever the walk reaches there is in the tree's language anyway.
    def under_tree(text):
        return any(text.startswith(t) and len(text) > len(t) for t in tree_prefixes)
    out = {}
    for frm, to, label in g["edges"]:
        out.setdefault(frm, []).append((to, label))
    accepted = set()
    stack = [(g["start"], b"")]
    steps = 0
    while stack:
        s, text = stack.pop()
        steps += 1
        if steps > 200000:
            return "the DFA is too large to walk"
        if s in g["accept"]:
            accepted.add(text)
        if under_tree(text):
            continue
        for to, label in out.get(s, []):
            b = single_byte(label)
            if b is None:
                if text not in tree_prefixes:
                    return "the DFA has a class or default edge after %r, which is no intended tree" % text
                continue
            stack.append((to, text + bytes([b])))
    accepted = {a for a in accepted if not under_tree(a)}
    literals = {lit for lit in literals if not under_tree(lit)}
    if accepted != literals:
        extra = sorted(accepted - literals)[:3]
        missing = sorted(literals - accepted)[:3]
        return "the DFA accepts %r more and %r less than intended" % (extra, missing)
    return None


def check_case(name, lines, glines, text, files, trees, perms):
    problem = grammar_problem(text) or perms_problem(text, perms)
    if problem:
        return problem
    marker = MARKER + name.split("-")[1].encode()
    want = {esc_regex(p) for p in files} | {esc_regex(marker)}
    optional = set()    # the link half of a tree's rule, present with "l" only
    literals = set(files)
    prefixes = set()
    for d in trees:
        want.add(esc_regex(d + b"/"))
        want.add(esc_regex(d) + TREE_TAIL)
        optional.add(esc_regex(d) + TREE_TAIL + LINK_TAIL)
        literals.add(d + b"/")
        prefixes.add(d + b"/")
    got = set()
    for line in lines:
        if line.startswith(b"aare: "):
            m = re.match(rb"^aare: (.*)   ->   (.*)$", line)
            if not m:
                return "the parser read an expression across lines: %r" % line[:120]
            expr = m.group(2)
            if expr not in want | optional:
                return "the parser built the non-literal rule %r" % expr[:120]
            got.add(expr)
        elif line.startswith(b"rule: "):
            if not re.match(rb"^rule: .*  ->  .* \(0x[0-9a-f]+/[0-9a-f]+\)< 0x[0-9a-f]+>$", line):
                return "the parser read a rule across lines: %r" % line[:120]
            # the link half of an "l" rule shows only in the rule line
            m = re.match(rb"^rule: (.*)  ->  ", line)
            got.add(m.group(1))
        elif line == b"" or line.startswith(b"Cache read/write disabled"):
            continue
        else:
            return "unexpected parser output (an expression ran into the next line?): %r" % line[:120]
    if got - optional != want:
        return "rules differ from the intended ones: extra %r, missing %r" % (
            sorted(got - want - optional)[:3], sorted(want - got)[:3])
    if len(glines) != 1:
        return "%d DFAs (a policydb DFA means non-file rules)" % len(glines)
    return check_dfa(glines[0], literals | {marker}, prefixes)


def check_batch(parser, tmp, chunk):
    """[(case, why or None)] for one batch; a batch whose parser run fails
    or whose graphs cannot all be told apart is checked case by case."""
    wrapper = bytearray()
    texts = {}
    for i, case in enumerate(chunk):
        name = "vgcheck-%d" % i
        with open(case, "rb") as f:
            texts[name] = f.read()
        shutil.copyfile(case, os.path.join(tmp, "libvirt", name + ".virtguard"))
        wrapper += b"profile %s {\n  %s%d\" r,\n  #include if exists <libvirt/%s.virtguard>\n}\n" % (
            name.encode(), b'"' + MARKER, i, name.encode())
    wpath = os.path.join(tmp, "wrapper")
    with open(wpath, "wb") as f:
        f.write(wrapper)
    # Two runs: with both dumps in one run the parser prints the graph's
    # node ids in hex and its edge ids in decimal.
    r = subprocess.run([parser, "-Q", "-K", "-I", tmp, "-D", "rule-exprs", wpath],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    rg = subprocess.run([parser, "-Q", "-K", "-I", tmp, "-D", "dfa-graph", wpath],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    graphs = {}
    n_graphs = 0
    for g_lines in split_graphs(rg.stdout):
        n_graphs += 1
        for g in parse_graphs(g_lines):
            name = marker_of(g)
            if name:
                graphs.setdefault(name, []).append(g)
    if len(chunk) > 1 and (r.returncode != 0 or rg.returncode != 0 or n_graphs != len(chunk)
                           or len(graphs) != len(chunk)):
        results = []
        for case in chunk:
            results += check_batch(parser, tmp, [case])
        return results
    sections = parse_sections(r.stdout)
    results = []
    for i, case in enumerate(chunk):
        name = "vgcheck-%d" % i
        files, trees, perms = parse_expect(re.sub(r"\.rules$", "", case) + ".expect")
        if r.returncode != 0 or rg.returncode != 0:
            why = "apparmor_parser failed (%d): %s" % (
                r.returncode or rg.returncode, r.stdout.decode("utf-8", "replace")[-300:])
        elif name not in sections:
            why = "the parser shows no profile for this file"
        elif n_graphs != len(chunk):
            why = "%d DFAs for one profile (a policydb DFA means non-file rules)" % n_graphs
        else:
            why = check_case(name, sections[name], graphs.get(name, []), texts[name], files, trees,
                             perms)
        results.append((case, why))
    return results


def main(argv):
    parser = os.environ.get("APPARMOR_PARSER", "/sbin/apparmor_parser")
    batch = 150
    args = argv[1:]
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--parser":
            parser = args.pop(0)
        elif opt == "--batch":
            batch = int(args.pop(0))
        else:
            raise SystemExit("unknown option %s" % opt)
    if not os.access(parser, os.X_OK):
        print("SKIP: %s not found" % parser)
        return 77
    cases = args
    failed = 0
    tmp = tempfile.mkdtemp(prefix="vg-rules-check.")
    try:
        os.mkdir(os.path.join(tmp, "libvirt"))
        for start in range(0, len(cases), batch):
            for case, why in check_batch(parser, tmp, cases[start:start + batch]):
                if why:
                    failed += 1
                    print("FAIL %s: %s" % (case, why))
    finally:
        shutil.rmtree(tmp)
    print("%d rules files checked whole, %d failed" % (len(cases), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
