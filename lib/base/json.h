/* virtguard: the one JSON writer every --json output goes through.
 *
 * Strings keep valid UTF-8 as it is ("démo.iso" stays "démo.iso"); the
 * quote, the backslash and every code point the one escaper shows escaped
 * (vg_buf_add_shown: controls C0, DEL, C1, Unicode format characters such
 * as bidi overrides and zero-width ones) are written as \uXXXX escapes; a
 * byte that is not part of valid UTF-8 becomes U+FFFD, so the output is
 * always valid JSON whatever a log or a file name held.  The human
 * renderings show such bytes as \xNN (vg_str_escape). */
#pragma once

#include "util.h"

/* Append the JSON string literal of `s` to `b`; "null" when `s` is NULL. */
void vg_json_string(vg_buf *b, const char *s);
/* Append `"key":`, preceded by a comma unless `first`. */
void vg_json_key(vg_buf *b, const char *key, bool first);
/* Append `,"key":"value"` (value NULL: null). */
void vg_json_member_string(vg_buf *b, const char *key, const char *value);
/* Append `,"key":N`: counts, line numbers and ids are JSON numbers. */
void vg_json_member_number(vg_buf *b, const char *key, long long value);
/* Append `,"key":true|false`. */
void vg_json_member_bool(vg_buf *b, const char *key, bool value);
/* Append `,"key":JSON` where `json` is a value this writer produced
 * (an object or array built with the functions above): copied as it is. */
void vg_json_member_raw(vg_buf *b, const char *key, const char *json);
