/* virtguard: the reports of the admin commands (doctor, explain, audit, and
 * `check --json` from the hook's verdict: verdict.h) as data: a list of
 * checks, each PASS / WARN / FAIL (or INFO: vg_check_status, exitcode.h),
 * with a title, whole-sentence details and the exact fix.  Two renderings: lines like
 * virt-host-validate's for humans (colour only when asked), and JSON.
 *
 * Exit status of every admin command (virtguard(8)):
 *   0  all fine (PASS, INFO and WARN only)
 *   1  problems found (at least one FAIL)
 *   2  could not run (usage, unreadable input, no answer from libvirt), or
 *      the report is incomplete: a file it needs could not be read */
#pragma once

#include "exitcode.h"
#include "json.h"
#include "util.h"

typedef enum vg_attr_kind {
    VG_ATTR_STRING,         /* a JSON string in --json */
    VG_ATTR_NUMBER,         /* a decimal number: a JSON number in --json */
    VG_ATTR_JSON,           /* a JSON value (array, object) written by json.h */
} vg_attr_kind;

typedef struct vg_check_attr {
    char *key;
    char *value;
    vg_attr_kind kind;
} vg_check_attr;

typedef struct vg_check {
    vg_check_status status;
    char *topic;            /* short word: "hook", "mount", "qemu.conf", "apparmor" ... */
    char *title;            /* one line: what was checked */
    char *detail;           /* whole sentences; may be NULL */
    char *fix;              /* the exact fix; may be NULL (may span lines) */
    vg_check_attr *attrs;   /* extra machine-readable fields for --json */
    size_t n_attrs;
} vg_check;

typedef struct vg_checklist {
    char *command;          /* "doctor", "explain", "audit" */
    vg_check *v;
    size_t n;
    vg_check_attr *summary; /* extra top-level fields for --json (counts...) */
    size_t n_summary;
    char **unread;          /* NULL, or why the report is incomplete (whole sentences) */
} vg_checklist;

vg_checklist *vg_checklist_new(const char *command);
/* Append a check; returns it so attrs and detail can be added. */
vg_check *vg_checklist_add(vg_checklist *l, vg_check_status st, const char *topic,
                           const char *fmt, ...) VG_FORMAT(4, 5);
void vg_check_detail(vg_check *c, const char *fmt, ...) VG_FORMAT(2, 3);
void vg_check_fix(vg_check *c, const char *fmt, ...) VG_FORMAT(2, 3);
void vg_check_attr_set(vg_check *c, const char *key, const char *fmt, ...) VG_FORMAT(3, 4);
/* The value of attribute `key` of `c`, or NULL. */
const char *vg_check_attr_get(const vg_check *c, const char *key);
void vg_checklist_summary(vg_checklist *l, const char *key, const char *fmt, ...) VG_FORMAT(3, 4);
/* The same for numbers (counts, line numbers, ids): JSON numbers in --json. */
void vg_check_attr_number(vg_check *c, const char *key, long long value);
void vg_checklist_summary_number(vg_checklist *l, const char *key, long long value);
/* A JSON array of numbers (pids...) in --json (vg_check_attr_get: its JSON text). */
void vg_check_attr_numbers(vg_check *c, const char *key, const long long *v, size_t n);
/* A nested JSON value in --json.  `json` must have been written by json.h's
 * writer (vg_json_*: every string escaped there), never spliced by hand
 * from other text: it is copied into the document as it is.  Takes it. */
void vg_check_attr_json(vg_check *c, const char *key, char *json);
/* The report is incomplete: a whole sentence naming what could not be read
 * and what to do (e.g. run as root).  Shown before the summary line, listed
 * as "incomplete" in JSON, and the exit status becomes 2. */
void vg_checklist_incomplete(vg_checklist *l, const char *fmt, ...) VG_FORMAT(2, 3);

/* Counts per status; the worst status (PASS for an empty list). */
size_t vg_checklist_count(const vg_checklist *l, vg_check_status st);
vg_check_status vg_checklist_worst(const vg_checklist *l);
/* 0, 1 or 2 (see above). */
int vg_checklist_exit_status(const vg_checklist *l);
/* The first check with this topic and status, or NULL (tests use it). */
const vg_check *vg_checklist_find(const vg_checklist *l, const char *topic, vg_check_status st);

const char *vg_check_status_name(vg_check_status st);  /* "PASS", "WARN", ... */

/* Human form:
 *   TOPIC: TITLE ...................................... : STATUS
 *         detail, wrapped as written
 *         fix: ...
 * then one "incomplete:" line per file that could not be read, then one
 * summary line.  `colour`: ANSI colours for the status words
 * (callers pass isatty(STDOUT_FILENO) && no NO_COLOR). */
char *vg_checklist_format(const vg_checklist *l, bool colour);
/* JSON (json.h): {"command":..., "status":"pass|warn|fail", "exit":N,
 *        "passed":N, "warnings":N, "failures":N, <summary>, ["incomplete":[...],]
 *        "checks":[{"status","topic","title","detail","fix", <attrs>}...]} */
char *vg_checklist_json(const vg_checklist *l);

void vg_checklist_free(vg_checklist *l);
static inline void vg_checklist_freep(vg_checklist **l) { vg_checklist_free(*l); }
#define autochecklist _cleanup_(vg_checklist_freep)
