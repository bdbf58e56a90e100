/* virtguard: syslog wrapper.  Never fails, never blocks the caller for long:
 * syslog(3) drops the message when no daemon listens. */
#include <config.h>

#include "log.h"

static bool log_opened;

void vg_log_open(const char *ident)
{
    openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
    log_opened = true;
}

void vg_log(int prio, const char *fmt, ...)
{
    va_list ap;
    if (!log_opened)
        vg_log_open("virtguard");
    va_start(ap, fmt);
    autofree char *raw = vg_xvasprintf(fmt, ap);
    va_end(ap);
    /* One record, one line: names in it are hostile (error.c). */
    autofree char *line = vg_str_escape(raw, false);
    syslog(prio, "%s", line);
}
