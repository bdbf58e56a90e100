/* virtguard: error objects carried out through `vg_error **err`.
 *
 * A message is one line: the values in it come from domain XML, image
 * headers and file names that an attacker may have written, so every
 * control character and every byte that is not UTF-8 is shown escaped
 * (vg_str_escape) as the message is made; nothing printed from an error
 * can start a new line in the virsh user's output or in syslog. */
#include <config.h>

#include "error.h"

static int set_v(vg_error **err, int code, bool with_errno, const char *fmt, va_list ap)
{
    if (code < 0)
        code = -code;
    if (code == 0)
        code = EINVAL;
    if (!err || *err)
        return -code;
    vg_error *e = vg_xcalloc(1, sizeof(*e));
    autofree char *raw = vg_xvasprintf(fmt, ap);
    char *msg = vg_str_escape(raw, false);
    e->code = code;
    if (with_errno) {
        e->msg = vg_xasprintf("%s: %s", msg, strerror(code));
        free(msg);
    } else {
        e->msg = msg;
    }
    *err = e;
    return -code;
}

int vg_error_set(vg_error **err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = set_v(err, code, false, fmt, ap);
    va_end(ap);
    return r;
}

int vg_error_set_errno(vg_error **err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = set_v(err, code, true, fmt, ap);
    va_end(ap);
    return r;
}

int vg_error_wrap(vg_error **err, const char *fmt, ...)
{
    va_list ap;
    if (!err || !*err)
        return -EINVAL;
    va_start(ap, fmt);
    autofree char *raw = vg_xvasprintf(fmt, ap);
    va_end(ap);
    autofree char *ctx = vg_str_escape(raw, false);
    char *msg = vg_xasprintf("%s: %s", ctx, (*err)->msg);
    free((*err)->msg);
    (*err)->msg = msg;
    return -(*err)->code;
}

void vg_error_free(vg_error *e)
{
    if (!e)
        return;
    free(e->msg);
    free(e);
}
