/* virtguard: `virtguard explain`'s input as people paste it → logical
 * lines for the per-format parsers (explain.c, explain-stack.c).  Pure.
 *
 * Three repairs, each on structural evidence only:
 *  - a JSON document (a line whose first non-blank byte is '{' or '[')
 *    wrapped over several lines is joined until the value closes, and then
 *    replaced by the lines of its string values, decoded (\n, \", \\, \/,
 *    \t, \uXXXX with surrogate pairs); keys, numbers and the rest dropped;
 *  - a JSON-style string in value position ('"' at the line's start or
 *    after '=' or ':') holding a \n, \" or \u escape (a Go log's msg="...",
 *    a JSON fragment) is replaced by its decoded lines, joined first when a
 *    terminal cut it;
 *  - a line a terminal cut at its width is joined with what follows
 *    (nothing added between): line k is at least VG_INPUT_MIN_WIDTH bytes
 *    and ends in a non-blank byte, line k+1 is not longer (and, after the
 *    second part, every cut part is as long as the first), begins with a
 *    byte that starts no line of its own (not blank, not an upper-case
 *    letter, '[', '{', '<', '(' or '#', no timestamp, no "PROGRAM: " or
 *    "error: " tag, no "type=", "audit", "time=", "level=", "msg=",
 *    "starting ", "lxc.", no Seatbelt " deny(": continuation_start()).
 *
 * A logical line built by any of these is `from_message`: its text came
 * from a message (an error body, a wrapped paste), so a parser of kernel
 * records (AppArmor audit records) must never read it as one — a record
 * is one physical line exactly as the kernel or auditd wrote it.  Bounds:
 * a join stops at VG_INPUT_MAX_JOIN lines or VG_INPUT_MAX_BYTES bytes; a
 * document or string that does not close within them is left as it was. */
#pragma once

#include "util.h"

#define VG_INPUT_MIN_WIDTH 40
#define VG_INPUT_MAX_JOIN 64
#define VG_INPUT_MAX_BYTES (64u << 10)

typedef struct vg_input_line {
    char *text;             /* no '\n', no trailing '\r', stops at a NUL */
    unsigned line;          /* 1-based physical line it starts on */
    unsigned n_physical;    /* physical lines it was built from */
    bool from_message;      /* joined or unwrapped: never a kernel record */
} vg_input_line;

typedef struct vg_input {
    vg_input_line *v;
    size_t n;
    size_t n_physical;      /* physical lines read */
} vg_input;

/* Split `text` (len bytes; not NUL-terminated necessarily) into logical
 * lines as described above.  Never fails on content. */
void vg_input_split(const char *text, size_t len, vg_input *out);
void vg_input_clear(vg_input *in);

/* Decode the JSON string whose opening '"' is at `s` (the text ends at a
 * NUL).  On success returns the decoded text (NUL bytes and invalid
 * escapes refuse the string) and sets *end just past the closing '"';
 * NULL when `s` holds no complete valid JSON string. */
char *vg_json_string_decode(const char *s, const char **end);
