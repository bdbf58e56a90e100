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
    vg_buf_add_shown(b, s, VG_SHOW_JSON);
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

void vg_json_member_raw(vg_buf *b, const char *key, const char *json)
{
    vg_json_key(b, key, false);
    vg_buf_add(b, json ? json : "null");
}
