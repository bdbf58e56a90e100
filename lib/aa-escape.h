/* virtguard: write a host path into an AppArmor rule so that it matches
 * that one path literally.
 *
 * AppArmor treats even a quoted path as a pattern (globs, alternations,
 * character classes, @{variables}), so quoting alone is not enough.  The
 * findings behind these functions, checked with apparmor_parser 3.0.8, are
 * in aa-escape.c; tests/policy-compile.sh re-checks them on every run.
 */
#pragma once

#include "error.h"

/* Characters that must be preceded by a backslash inside a quoted path. */
#define VG_AA_SPECIAL_CHARS "*?[]{}^\"\\,"

/* Why a path cannot be written literally, or NULL when it can: an empty
 * path, a relative one, or one holding a control character (0x01-0x1f,
 * 0x7f; a newline would end the rule and start a new one).  Pure. */
const char *vg_aa_path_problem(const char *path);

/* Append the quoted, escaped form of `path` to `b`, followed by the
 * unescaped `glob_suffix` (e.g. "/" "**"; NULL for none) inside the
 * same quotes: "<escaped path><suffix>".  Returns 0, or -EINVAL with a
 * message when vg_aa_path_problem() objects; then `b` is unchanged. */
int vg_aa_append_path(vg_buf *b, const char *path, const char *glob_suffix, vg_error **err);

/* The same as a new string. */
int vg_aa_quote_path(const char *path, const char *glob_suffix, char **out, vg_error **err);

/* A rule comment cannot carry a newline: copy `s` with every control
 * character replaced by '?'. */
char *vg_aa_comment_text(const char *s);
