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
    vsyslog(prio, fmt, ap);
    va_end(ap);
}
