/* virtguard: the one JSON writer (json.h). */
#include <config.h>

#include "json.h"

void vg_json_string(vg_buf *b, const char *s)
{
    if (!s) {
        vg_buf_add(b, "null");
        return;
    }
    vg_buf_addc(b, '"');
    for (const char *p = s; *p;) {
        unsigned cp;
        size_t n = vg_utf8_seq(p, &cp);
        if (n == 0) {
            vg_buf_add(b, "\\ufffd");   /* not UTF-8: the replacement character */
            p++;
            continue;
        }
        switch (cp) {
        case '"': vg_buf_add(b, "\\\""); break;
        case '\\': vg_buf_add(b, "\\\\"); break;
        case '\n': vg_buf_add(b, "\\n"); break;
        case '\t': vg_buf_add(b, "\\t"); break;
        case '\r': vg_buf_add(b, "\\r"); break;
        default:
            if (vg_is_control_cp(cp))
                vg_buf_printf(b, "\\u%04x", cp);
            else
                vg_buf_addn(b, p, n);
        }
        p += n;
    }
    vg_buf_addc(b, '"');
}

void vg_json_key(vg_buf *b, const char *key, bool first)
{
    if (!first)
        vg_buf_addc(b, ',');
    vg_json_string(b, key);
    vg_buf_addc(b, ':');
}

void vg_json_member_string(vg_buf *b, const char *key, const char *value)
{
    vg_json_key(b, key, false);
    vg_json_string(b, value);
}

void vg_json_member_number(vg_buf *b, const char *key, long long value)
{
    vg_json_key(b, key, false);
    vg_buf_printf(b, "%lld", value);
}

void vg_json_member_bool(vg_buf *b, const char *key, bool value)
{
    vg_json_key(b, key, false);
    vg_buf_add(b, value ? "true" : "false");
}
