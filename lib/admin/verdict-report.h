/* virtguard: the hook's verdict rendered as an admin report. */
#pragma once

#include "checklist.h"
#include "verdict.h"

/* `virtguard check --json`: the hook's verdict as a report (the last step
 * of the flow in verdict.h).  One check per finding, with the finding's
 * severity (FAIL when it refuses the start, INFO for notices; topic = the
 * finding's kind: "not-mounted", "dac", ...), a PASS when the start is
 * allowed; summary fields verdict, domain, mode, shared_paths, probe_ms.  A
 * verdict that could not be reached (config or XML error) makes the report
 * incomplete (exit 2). */
vg_checklist *vg_checklist_from_verdict(const vg_verdict *v);

