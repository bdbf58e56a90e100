/* virtguard: one line per decision to syslog (facility daemon). */
#pragma once

#include <syslog.h>

#include "util.h"

void vg_log_open(const char *ident);
void vg_log(int prio, const char *fmt, ...) VG_FORMAT(2, 3);
