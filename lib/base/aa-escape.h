/* virtguard: write a host path into an AppArmor rule so that it matches
 * that one path literally.
 *
 * AppArmor treats even a quoted path as a pattern (globs, alternations,
 * character classes, @{variables}), so quoting alone is not enough.  The
 * findings behind these functions, checked with apparmor_parser 3.0.8, are
 * in aa-escape.c; tests/apparmor/policy-compile.sh re-checks them on every run.
 */
#pragma once

#include "error.h"

/* Characters that must be preceded by a backslash inside a quoted path. */
#define VG_AA_SPECIAL_CHARS "*?[]{}^\"\\,"

/* The character policy for every path that can become a rule.  Returns
 * NULL when `path` may be written into a rule, else a new string saying
 * why not and where, e.g. "contains a backslash at byte 17": an empty or
 * relative path, a backslash, a double quote, any control character (C0
 * including TAB, CR and LF, DEL, the C1 range U+0080-U+009F) or bytes that
 * are not well-formed UTF-8.  Pure.  docs/SECURITY.md lists the alphabet. */
char *vg_aa_path_problem(const char *path);

/* The restricted directory `path` (absolute, normalised) lies in, or
 * NULL: "/" itself, /etc /usr /bin /sbin /lib* /boot /proc /sys /dev
 * /selinux /lost+found /vmlinuz* /initrd*, /root, /run (and the configured
 * run and config dirs), libvirt's per-domain state under
 * LOCALSTATEDIR/lib/libvirt/qemu, and virtguard's own cache and run dirs.
 * virtguard grants nothing there, and refuses them as shared mounts,
 * extra roots or path_map targets. */
const char *vg_aa_restricted_root(const char *path);

/* Punctuation allowed in rule comments, besides ASCII letters and digits. */
#define VG_AA_COMMENT_PUNCT " ._-/:;'(),+=@%~?"

/* Whether `c` may appear in a rule comment as is. */
bool vg_aa_comment_char_ok(char c);

/* Append the quoted, escaped form of `path` to `b`, followed by the
 * unescaped `glob_suffix` (e.g. "/" "**"; NULL for none) inside the
 * same quotes: "<escaped path><suffix>".  Returns 0, or -EINVAL with a
 * message when vg_aa_path_problem() objects; then `b` is unchanged. */
int vg_aa_append_path(vg_buf *b, const char *path, const char *glob_suffix, vg_error **err);

/* The same as a new string. */
int vg_aa_quote_path(const char *path, const char *glob_suffix, char **out, vg_error **err);

/* Text for a rule comment: a copy of `s` with every byte that is not an
 * ASCII letter, digit or one of VG_AA_COMMENT_PUNCT replaced by '?' (so a
 * file name in a comment can neither end the line nor carry a quote, a
 * backslash, '#', '<' or '>'). */
char *vg_aa_comment_text(const char *s);
