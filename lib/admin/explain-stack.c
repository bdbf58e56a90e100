/* virtguard: Seatbelt, Virtualization.framework and LXC lines for
 * `virtguard explain` (see explain-stack.h). */
#include <config.h>

#include <ctype.h>

#include "aa-escape.h"
#include "explain-stack.h"

#define VZ_SERVICE "com.apple.Virtualization.VirtualMachine"
#define LOG_STREAM "log stream --style compact --predicate 'eventMessage CONTAINS \"Sandbox: \"'"

void vg_stack_log_clear(vg_stack_log *s)
{
    for (size_t i = 0; i < s->n_sb; i++) {
        free(s->sb[i].process);
        free(s->sb[i].operation);
        free(s->sb[i].argument);
        free(s->sb[i].rest);
    }
    free(s->sb);
    free(s->unconfined_file);
    memset(s, 0, sizeof(*s));
}

/* ---- Seatbelt lines -------------------------------------------------------
 *
 *   line    = [ head ] message
 *   head    = plain tokens (time, type, ids, host) then the WRITER's token
 *             (sandbox_writers[]: the kernel, as `log stream --style
 *             compact` "kernel[0:2c1a]", `log show` "kernel:" or "kernel",
 *             syslog "kernel[0]") and optionally "<Level>:" and "(Sandbox)"
 *   message = [ N " duplicate report" [ "s" ] " for " ] [ "Sandbox: " ]
 *             [ N " duplicate report" [ "s" ] " for " ]
 *             PROC [ "(" PID ")" ] [ " System Policy:" ] " deny(" N ") " OP
 *             [ " " DETAIL ]
 *
 * A line with no such head is a message from its first byte: a "Sandbox: "
 * or "deny(" quoted inside another program's message (a file name in a
 * libvirt error) is not one (PROC never holds ": "). */

static const char *const sandbox_writers[] = { "kernel[", "kernel:" };

static bool plain_token_char(char c)
{
    return isalnum((unsigned char)c) || (c && strchr(":.+-", c));
}

static bool is_writer(const char *tok, size_t n)
{
    if (n == 6 && strncmp(tok, "kernel", 6) == 0)
        return true;
    for (size_t i = 0; i < VG_N_ELEMENTS(sandbox_writers); i++)
        if (strncmp(tok, sandbox_writers[i], strlen(sandbox_writers[i])) == 0)
            return true;
    return false;
}

/* Where the message begins: after the head, or the line itself. */
static const char *message_start(const char *line)
{
    const char *p = line;
    for (;;) {
        p += strspn(p, " \t");
        size_t n = strcspn(p, " \t");
        if (!n)
            return line;
        if (is_writer(p, n)) {
            p += n;
            p += strspn(p, " \t");
            n = strcspn(p, " \t");
            if (*p == '<' && n > 2 && p[n - 1] == ':' && p[n - 2] == '>') {  /* <Notice>: */
                p += n;
                p += strspn(p, " \t");
            }
            if (vg_str_has_prefix(p, "(Sandbox) "))
                p += strlen("(Sandbox) ");
            return p;
        }
        for (size_t i = 0; i < n; i++)
            if (!plain_token_char(p[i]))
                return line;
        p += n;
    }
}

/* The " deny(N) " of the message (its first), or NULL. */
static const char *find_deny(const char *line)
{
    for (const char *p = strstr(line, " deny("); p; p = strstr(p + 1, " deny(")) {
        size_t n = strspn(p + 6, "0123456789");
        if (n && p[6 + n] == ')' && p[7 + n] == ' ')
            return p;
    }
    return NULL;
}

/* "N duplicate report(s) for " at `p`: just past it, else `p`. */
static const char *skip_duplicates(const char *p)
{
    size_t n = strspn(p, "0123456789");
    if (!n)
        return p;
    if (vg_str_has_prefix(p + n, " duplicate reports for "))
        return p + n + strlen(" duplicate reports for ");
    if (vg_str_has_prefix(p + n, " duplicate report for "))
        return p + n + strlen(" duplicate report for ");
    return p;
}

/* One Seatbelt denial line (the grammar above). */
static bool parse_seatbelt(vg_stack_log *s, const char *line, unsigned lineno)
{
    const char *p = skip_duplicates(message_start(line));
    if (vg_str_has_prefix(p, "Sandbox: "))
        p = skip_duplicates(p + strlen("Sandbox: "));
    const char *deny = find_deny(p);
    if (!deny)
        return false;
    const char *proc_end = deny;
    if ((size_t)(proc_end - p) > 15 && strncmp(proc_end - 15, " System Policy:", 15) == 0)
        proc_end -= 15;
    long pid = -1;
    if (proc_end > p && proc_end[-1] == ')') {
        const char *open = proc_end - 1;
        while (open > p && open[-1] != '(')
            open--;
        if (open > p && isdigit((unsigned char)*open)) {
            char *end;
            pid = strtol(open, &end, 10);
            if (end != proc_end - 1 || pid < 0)
                return false;               /* "x(12a)": no pid, no name */
            proc_end = open - 1;
        }
    }
    if (proc_end <= p || *p == ' ' || proc_end - p > 128)
        return false;
    for (const char *q = p; q + 1 < proc_end; q++)
        if (q[0] == ':' && q[1] == ' ')
            return false;                   /* a head this grammar does not know */
    const char *op = strchr(deny + 7, ')');
    if (!op || op[1] != ' ')
        return false;
    op += 2;
    size_t oplen = strcspn(op, " \t");
    if (!oplen)
        return false;

    vg_seatbelt_denial *d = VG_APPEND(s->sb, s->n_sb);
    d->line = lineno;
    d->process = vg_xstrndup(p, (size_t)(proc_end - p));
    d->pid = pid;
    d->operation = vg_xstrndup(op, oplen);
    const char *rest = op + oplen;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    size_t rl = strlen(rest);
    while (rl && isspace((unsigned char)rest[rl - 1]))
        rl--;
    d->rest = vg_xstrndup(rest, rl);
    if (*d->rest) {
        /* a path keeps its spaces up to a trailing "(annotation)"; a name
         * is one token */
        size_t n = rest[0] == '/' ? rl : strcspn(rest, " \t");
        if (rest[0] == '/') {
            const char *ann = NULL;
            for (const char *q = rest; (q = strstr(q, " (")) && q < rest + rl; q++)
                ann = q;
            if (ann && rest[rl - 1] == ')')
                n = (size_t)(ann - rest);
        }
        d->argument = vg_xstrndup(rest, n);
    }
    return true;
}

/* "VZErrorDomain Code=1" (and not Code=10...) */
static bool vz_code1(const char *line)
{
    const char *d = strstr(line, "VZErrorDomain");
    const char *c = d ? strstr(d, "Code=1") : NULL;
    return c && !isdigit((unsigned char)c[6]);
}

/* "[FILE:]lxc.apparmor.profile SEP unconfined", SEP ':' or '=', blanks
 * around it: the separator, 0 when the line is not that. */
static char lxc_unconfined(const char *line, char **file)
{
    static const char key[] = "lxc.apparmor.profile";
    const char *p = line + strspn(line, " \t");
    const char *k = strstr(p, key);
    if (!k)
        return 0;
    if (k != p) {                       /* grep's "FILE:" */
        if (*p != '/' || k[-1] != ':' || memchr(p, ' ', (size_t)(k - p)))
            return 0;
    }
    const char *q = k + strlen(key);
    q += strspn(q, " \t");
    char sep = *q;
    if (sep != ':' && sep != '=')
        return 0;
    q++;
    q += strspn(q, " \t");
    if (strncmp(q, "unconfined", 10) != 0 || q[10 + strspn(q + 10, " \t")] != '\0')
        return 0;
    if (k != p && !*file)
        *file = vg_xstrndup(p, (size_t)(k - 1 - p));
    return sep;
}

/* aa-status: "N processes are unconfined but have a profile defined." */
static bool aa_unconfined(const char *line, long *n)
{
    char *end;
    const char *p = line + strspn(line, " \t");
    if (!isdigit((unsigned char)*p))
        return false;
    long v = strtol(p, &end, 10);
    if (!vg_str_has_prefix(end, " processes are unconfined") &&
        !vg_str_has_prefix(end, " process is unconfined"))
        return false;
    *n = v;
    return true;
}

bool vg_stack_parse_line(vg_stack_log *s, const char *line, unsigned lineno)
{
    char sep;
    long n;
    if ((sep = lxc_unconfined(line, &s->unconfined_file))) {
        if (!s->unconfined_line) {
            s->unconfined_line = lineno;
            s->unconfined_sep = sep;
        }
        s->n_lines++;
        return true;
    }
    if (aa_unconfined(line, &n)) {
        if (n > 0 && !s->aa_unconfined_line) {
            s->aa_unconfined_line = lineno;
            s->aa_unconfined_n = n;
        }
        s->n_lines++;
        return true;
    }
    if (!s->line_from_message && parse_seatbelt(s, line, lineno)) {
        s->n_lines++;
        return true;
    }
    if (vz_code1(line)) {
        if (!s->vz_line)
            s->vz_line = lineno;
        s->n_lines++;
        return true;
    }
    if (strstr(line, "lxc.apparmor.profile overrides the following settings") &&
        strstr(line, "nesting")) {
        if (!s->lxc_line)
            s->lxc_line = lineno;
        s->n_lines++;
        return true;
    }
    return false;
}

/* ---- shown forms --------------------------------------------------------- */

static bool show_field(char **field)
{
    if (!*field || vg_str_is_shown_as_is(*field))
        return false;
    char *shown = vg_str_escape(*field, true);
    free(*field);
    *field = shown;
    return true;
}

void vg_stack_show(vg_stack_log *s)
{
    for (size_t i = 0; i < s->n_sb; i++) {
        vg_seatbelt_denial *d = &s->sb[i];
        d->unshown |= show_field(&d->process);
        d->unshown |= show_field(&d->argument);
        d->unshown |= show_field(&d->operation);
        show_field(&d->rest);
    }
}

/* ---- rules ------------------------------------------------------------- */

static bool printable(const vg_seatbelt_denial *d, const char *s)
{
    return !d->unshown && s && *s && vg_str_is_shown_as_is(s);
}

/* An SBPL string literal: '"' and '\' escaped. */
static void sbpl_string(vg_buf *b, const char *s)
{
    vg_buf_addc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            vg_buf_addc(b, '\\');
        vg_buf_addc(b, *s);
    }
    vg_buf_addc(b, '"');
}

/* macOS resolves /etc, /var and /tmp through symlinks into /private. */
static char *macos_path(const char *path)
{
    static const char *const links[] = { "/etc", "/var", "/tmp" };
    for (size_t i = 0; i < VG_N_ELEMENTS(links); i++) {
        size_t n = strlen(links[i]);
        if (strncmp(path, links[i], n) == 0 && (path[n] == '/' || path[n] == '\0'))
            return vg_xasprintf("/private%s", path);
    }
    return vg_xstrdup(path);
}

typedef enum { GRANT_NONE, GRANT_READ, GRANT_WRITE, GRANT_OTHER } grant_kind;

static grant_kind kind_of(const vg_seatbelt_denial *d)
{
    if (vg_str_has_prefix(d->operation, "file-read"))
        return GRANT_READ;
    if (vg_str_has_prefix(d->operation, "file-write"))
        return GRANT_WRITE;
    return GRANT_OTHER;
}

/* The path as a Linux-style path for the restricted-prefix check: macOS's
 * /private/etc, /private/var, /private/tmp are /etc, /var, /tmp. */
static const char *restricted_macos(const char *path)
{
    const char *p = vg_str_has_prefix(path, "/private/") ? path + strlen("/private") : path;
    return vg_aa_restricted_root(p);
}

/* For a file operation: the macOS path of the one object denied (a
 * directory's trailing '/' dropped: its literal), or NULL when no rule is
 * proposed for it. */
static char *file_target(const vg_seatbelt_denial *d)
{
    if (!d->argument || d->argument[0] != '/' || !printable(d, d->argument))
        return NULL;
    autofree char *norm = vg_path_normalize(d->argument);  /* NULL for ".." */
    size_t n = strlen(d->argument);
    size_t slash = n > 1 && d->argument[n - 1] == '/' ? 1 : 0;
    if (!norm || strlen(norm) != n - slash || strncmp(norm, d->argument, n - slash) != 0)
        return NULL;                        /* "/./", "//", "..": not the kernel's form */
    char *path = macos_path(norm);
    if (restricted_macos(norm) || restricted_macos(path)) {
        free(path);
        return NULL;
    }
    return path;
}

char *vg_seatbelt_rule(const vg_seatbelt_denial *d)
{
    vg_buf b = { 0 };
    const char *arg = d->argument;
    grant_kind k = kind_of(d);

    if (k == GRANT_READ || k == GRANT_WRITE) {
        autofree char *path = file_target(d);
        if (!path)
            return NULL;
        vg_buf_printf(&b, "(allow %s (literal ", k == GRANT_READ ? "file-read*" : "file-write*");
        sbpl_string(&b, path);
        vg_buf_add(&b, "))");
    } else if (strcmp(d->operation, "mach-lookup") == 0 || strcmp(d->operation,
                                                                  "mach-register") == 0) {
        if (!printable(d, arg))
            return NULL;
        vg_buf_printf(&b, "(allow %s (global-name ", d->operation);
        sbpl_string(&b, arg);
        vg_buf_add(&b, "))");
    } else if (strcmp(d->operation, "generic-issue-extension") == 0 ||
               strcmp(d->operation, "file-issue-extension") == 0) {
        /* "class: com.apple.app-sandbox.read-write ...", macOS's
         * "extension-class:com.apple...", "class:com.apple..." or the class
         * alone: the class without its label, which Seatbelt would not
         * match */
        const char *cls = strstr(d->rest, "class:");
        autofree char *c = NULL;
        if (cls) {
            cls += strlen("class:");
            cls += strspn(cls, " ");
            c = vg_xstrndup(cls, strcspn(cls, " \t)"));
        } else if (arg && strchr(arg, '.')) {
            c = vg_xstrdup(arg);
        }
        if (!printable(d, c))
            return NULL;
        vg_buf_printf(&b, "(allow %s (extension-class ", d->operation);
        sbpl_string(&b, c);
        vg_buf_add(&b, "))");
    } else if (strcmp(d->operation, "sysctl-read") == 0 && printable(d, arg)) {
        vg_buf_add(&b, "(allow sysctl-read (sysctl-name ");
        sbpl_string(&b, arg);
        vg_buf_add(&b, "))");
    } else if (strcmp(d->operation, "iokit-open") == 0 && printable(d, arg)) {
        vg_buf_add(&b, "(allow iokit-open (iokit-user-client-class ");
        sbpl_string(&b, arg);
        vg_buf_add(&b, "))");
    } else {
        return NULL;
    }
    return vg_buf_steal(&b);
}

/* ---- judgement ----------------------------------------------------------- */

/* A value for a title (already in its shown form, vg_stack_show): at most
 * 120 bytes, cut between two characters. */
static char *shown(const char *s)
{
    const char *p = s ? s : "?";
    size_t n = 0;
    unsigned cp;
    for (size_t k; p[n] && (k = vg_utf8_seq(p + n, &cp)) && n + k <= 120;)
        n += k;
    return vg_xstrndup(p, n);
}

/* `"key": [...]` of a nono profile; `pretty`: one line per level, as the
 * human fix shows it, else compact (the --json member). */
static void json_list(vg_buf *b, const char *key, char **v, bool *first, bool pretty)
{
    if (!v)
        return;
    vg_buf_printf(b, "%s%s", *first ? "" : ",", pretty ? "\n    " : "");
    vg_json_string(b, key);
    vg_buf_add(b, pretty ? ": [" : ":[");
    for (size_t i = 0; v[i]; i++) {
        vg_buf_add(b, i ? (pretty ? ", " : ",") : "");
        vg_json_string(b, v[i]);
    }
    vg_buf_addc(b, ']');
    *first = false;
}

/* The grants of one process's denials as a nono profile fragment, every
 * string written by the JSON writer (json.h). */
static char *nono_profile(char **read_file, char **allow_file, char **seatbelt, bool pretty)
{
    vg_buf b = { 0 };
    bool first = true;
    const char *nl = pretty ? "\n" : "";
    vg_buf_add(&b, "{");
    if (read_file || allow_file) {
        vg_buf_printf(&b, "%s%s", pretty ? "\n  " : "", pretty ? "\"filesystem\": {"
                                                                : "\"filesystem\":{");
        json_list(&b, "read_file", read_file, &first, pretty);
        json_list(&b, "allow_file", allow_file, &first, pretty);
        vg_buf_printf(&b, "%s}", pretty ? "\n  " : "");
    }
    if (seatbelt) {
        vg_buf_printf(&b, "%s%s\"unsafe_macos_seatbelt_rules\":%s[",
                      !read_file && !allow_file ? "" : ",", pretty ? "\n  " : "",
                      pretty ? " " : "");
        for (size_t i = 0; seatbelt[i]; i++) {
            vg_buf_printf(&b, "%s%s", i ? "," : "", pretty ? "\n    " : "");
            vg_json_string(&b, seatbelt[i]);
        }
        vg_buf_printf(&b, "%s]", pretty ? "\n  " : "");
    }
    vg_buf_printf(&b, "%s}", nl);
    return vg_buf_steal(&b);
}

/* mach-task-name: the one rule is broad; offered apart, after the exact
 * rules' fix, only if the process must have it. */
static void task_name_finding(vg_check *c)
{
    vg_check_detail(c, "'mach-task-name' was denied: the process asked for another "
                       "process's task name port (to watch it, as the Virtualization "
                       "framework's clients do with the VM's process). The one rule that "
                       "allows it is broad: Seatbelt's filters for it select the target "
                       "only by its relation to this sandbox (the process itself, or a "
                       "process in the same sandbox), and the process asked about runs "
                       "outside the sandbox, where no filter names it by path or pid, so "
                       "the rule lets the process get the task name port of every process "
                       "(names and pids, not control: a name port gives no memory or "
                       "thread access).");
    /* after the exact rules' fix, when there is one */
    autofree char *before = steal_pointer(&c->fix);
    vg_check_fix(c, "%s%sonly if the process must have it, %sallow, knowing it is broad:\n"
                    "  (allow mach-task-name)", before ? before : "", before ? "\n" : "",
                 before ? "also " : "");
    vg_check_attr_set(c, "broad_seatbelt_rules", "(allow mach-task-name)");
}

/* What one process's denials ask for, gathered by gather_process(). */
typedef struct process_grants {
    char **rules;           /* every SBPL rule, once */
    long long *pids;        /* every pid logged, once */
    size_t n_pids;
    char **unknown;         /* denials no narrow rule exists for (shown) */
    char **refused;         /* file denials virtguard proposes no rule for (shown) */
    char **read_file, **allow_file, **seatbelt;     /* the rules as nono groups them */
    size_t n;               /* denials */
    bool vz, task_name;
} process_grants;

static void process_grants_clear(process_grants *g)
{
    vg_strv_free(g->rules);
    free(g->pids);
    vg_strv_free(g->unknown);
    vg_strv_free(g->refused);
    vg_strv_free(g->read_file);
    vg_strv_free(g->allow_file);
    vg_strv_free(g->seatbelt);
}

static void add_pid(process_grants *g, long pid)
{
    if (pid < 0)
        return;
    for (size_t i = 0; i < g->n_pids; i++)
        if (g->pids[i] == pid)
            return;
    *VG_APPEND(g->pids, g->n_pids) = pid;
}

/* A denial with no rule: the broad task-name one, or a file object that is
 * refused (restricted, not canonical, escaped) or has no narrow filter. */
static void add_unruled(process_grants *g, const vg_seatbelt_denial *d)
{
    if (strcmp(d->operation, "mach-task-name") == 0 && !d->unshown) {
        g->task_name = true;
        return;
    }
    char ***list = kind_of(d) == GRANT_OTHER ? &g->unknown : &g->refused;
    autofree char *what = vg_xasprintf("%s %s", d->operation, d->rest);
    autofree char *w = shown(what);
    if (!vg_strv_contains(*list, w))
        vg_strv_push(list, steal_pointer(&w));
}

/* A new rule: the nono group it belongs to (file read, file write, or a raw
 * Seatbelt rule). */
static void add_rule(process_grants *g, const vg_seatbelt_denial *d, char *rule)
{
    vg_strv_push(&g->rules, rule);
    grant_kind k = kind_of(d);
    if (k != GRANT_READ && k != GRANT_WRITE) {
        vg_strv_push(&g->seatbelt, vg_xstrdup(rule));
        return;
    }
    char *path = file_target(d);
    char ***list = k == GRANT_READ ? &g->read_file : &g->allow_file;
    if (vg_strv_contains(*list, path))
        free(path);
    else
        vg_strv_push(list, path);
}

/* Every denial of the process of denial `first`, from it on. */
static void gather_process(const vg_stack_log *s, size_t first, process_grants *g)
{
    const char *proc = s->sb[first].process;
    for (size_t i = first; i < s->n_sb; i++) {
        const vg_seatbelt_denial *d = &s->sb[i];
        if (strcmp(d->process, proc) != 0)
            continue;
        g->n++;
        add_pid(g, d->pid);
        g->vz |= strcmp(d->operation, "mach-lookup") == 0 && vg_streq(d->argument, VZ_SERVICE);
        char *rule = vg_seatbelt_rule(d);
        if (!rule)
            add_unruled(g, d);
        else if (vg_strv_contains(g->rules, rule))
            free(rule);
        else
            add_rule(g, d, rule);
    }
}

/* `s` with every line after the first indented by two spaces. */
static char *indent2(const char *s)
{
    vg_buf b = { 0 };
    for (const char *q = s; *q; q++) {
        vg_buf_addc(&b, *q);
        if (*q == '\n')
            vg_buf_add(&b, "  ");
    }
    return vg_buf_steal(&b);
}

/* The exact rules, in SBPL and as a nono profile: the fix and its
 * seatbelt_rules and nono_profile (a JSON object) members. */
static void process_rules_fix(vg_check *c, const process_grants *g, const char *p)
{
    autobuf vg_buf r = { 0 };
    for (size_t i = 0; g->rules[i]; i++)
        vg_buf_printf(&r, "%s%s", i ? "\n" : "", g->rules[i]);
    autofree char *nono = nono_profile(g->read_file, g->allow_file, g->seatbelt, true);
    autofree char *indented = indent2(nono);
    autofree char *rind = indent2(r.s);
    /* "exactly": each rule allows the one object denied, and together
     * they are every denial of the process */
    vg_check_fix(c, "allow %s in the profile '%s' runs under (Seatbelt, SBPL):\n"
                    "  %s\nor, with nono, in its profile JSON:\n  %s",
                 g->unknown || g->refused || g->task_name
                     ? "these (each only the object denied; the denials named above get none)"
                     : "exactly these",
                 p, rind, indented);
    vg_check_attr_set(c, "seatbelt_rules", "%s", r.s);
    vg_check_attr_json(c, "nono_profile",
                       nono_profile(g->read_file, g->allow_file, g->seatbelt, false));
}

/* "'a', 'b'" */
static char *quoted_list(char **v)
{
    vg_buf b = { 0 };
    for (size_t i = 0; v[i]; i++)
        vg_buf_printf(&b, "%s'%s'", i ? ", " : "", v[i]);
    return vg_buf_steal(&b);
}

/* The denials that get no rule, named in the detail. */
static void process_unruled_detail(vg_check *c, const process_grants *g)
{
    if (g->unknown) {
        autofree char *u = quoted_list(g->unknown);
        vg_check_detail(c, "No narrow rule is proposed for %s: virtguard knows no filter for "
                           "it that would not allow more.", u);
    }
    if (g->refused) {
        autofree char *u = quoted_list(g->refused);
        vg_check_detail(c, "No rule is proposed for %s: virtguard proposes none for a path "
                           "under a restricted prefix (/, /etc, /usr, /var/run, /dev...: the "
                           "list its AppArmor rules use), with '.' or '..' components, or "
                           "holding characters it shows escaped (docs/SECURITY.md, \"What "
                           "explain trusts\"); allow such a path yourself only if the process "
                           "should have it.", u);
    }
}

/* A finding of `explain` about line `line` of the input, titled "line N: "
 * and `fmt`: added to `out` with its "line" and its "cause" (the JSON
 * attributes every finding of the stack carries); the caller adds detail and
 * fix. */
static vg_check *line_finding(vg_checklist *out, vg_check_status st, unsigned line,
                              const char *cause, const char *fmt, ...) VG_FORMAT(5, 6);
static vg_check *line_finding(vg_checklist *out, vg_check_status st, unsigned line,
                              const char *cause, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    autofree char *title = vg_xvasprintf(fmt, ap);
    va_end(ap);
    vg_check *c = vg_checklist_add(out, st, "explain", "line %u: %s", line, title);
    vg_check_attr_number(c, "line", line);
    vg_check_attr_set(c, "cause", "%s", cause);
    return c;
}

/* One finding for every denial of the process of denial `first`. */
static void judge_process(const vg_stack_log *s, size_t first, vg_checklist *out)
{
    process_grants g = { 0 };
    gather_process(s, first, &g);

    autofree char *p = shown(s->sb[first].process);
    autobuf vg_buf pidtext = { 0 };
    for (size_t i = 0; i < g.n_pids; i++)
        vg_buf_printf(&pidtext, "%s%lld", i ? ", " : "", g.pids[i]);
    if (!g.n_pids)
        vg_buf_add(&pidtext, "not logged");
    vg_check *c = line_finding(out, VG_CHECK_FAIL, s->sb[first].line, "seatbelt",
                               "macOS Seatbelt denied '%s' (pid %s) %zu time(s)", p,
                               pidtext.s, g.n);
    vg_check_attr_set(c, "process", "%s", p);
    vg_check_attr_numbers(c, "pids", g.pids, g.n_pids);
    vg_check_detail(c, "The process runs under a macOS sandbox (Seatbelt) profile, such as a "
                       "sandboxed agent's, that does not allow %s.",
                    g.vz ? "the Virtualization framework's XPC service '" VZ_SERVICE "': "
                           "limactl then fails with VZErrorDomain Code=1 \"Internal "
                           "Virtualization error\"" : "these operations");
    if (g.rules)
        process_rules_fix(c, &g, p);
    if (g.task_name)
        task_name_finding(c);
    process_unruled_detail(c, &g);
    process_grants_clear(&g);
}

/* The fix for a container that runs unconfined, in the syntax of its
 * config line. */
static void unconfined_fix(vg_check *c, char sep, const char *file)
{
    const char *eq = sep == '=' ? " = " : ": ";
    vg_check_fix(c, "give the container a named AppArmor profile instead, in %s:\n"
                    "  lxc.apparmor.profile%sgenerated\n"
                    "(LXC's profile generated for the container; add 'lxc.apparmor.allow_nesting%s1' "
                    "or, on Proxmox, 'features: nesting=1' when it runs libvirt or containers), "
                    "or a profile of your own, e.g. 'lxc.apparmor.profile%slxc-container-default-"
                    "with-nesting' or one you wrote in /etc/apparmor.d/. Check a profile of your "
                    "own before loading it: 'apparmor_parser -Q /etc/apparmor.d/FILE' (parses and "
                    "compiles, loads nothing), then 'apparmor_parser -r /etc/apparmor.d/FILE'. "
                    "Restart the container ('pct reboot ID' on Proxmox, 'lxc-stop -n NAME && "
                    "lxc-start -n NAME' otherwise).",
                 file ? file : sep == '=' ? "the container's config (/var/lib/lxc/NAME/config)"
                                          : "the container's config (/etc/pve/lxc/ID.conf)",
                 eq, eq, eq);
}

static void judge_unconfined(const vg_stack_log *s, vg_checklist *out)
{
    if (s->unconfined_line) {
        vg_check *c = line_finding(out, VG_CHECK_FAIL, s->unconfined_line, "lxc-unconfined",
                                   "LXC container configured 'lxc.apparmor.profile%sunconfined'"
                                   ": it runs without AppArmor confinement",
                                   s->unconfined_sep == '=' ? " = " : ": ");
        vg_check_detail(c, "Every process of the container, libvirtd and QEMU included, runs "
                           "unconfined on the host: no profile limits what its root may do to "
                           "the host's files and kernel interfaces, and a compromised guest "
                           "process escapes with the container's rights.");
        unconfined_fix(c, s->unconfined_sep, s->unconfined_file);
        if (s->unconfined_file)
            vg_check_attr_set(c, "file", "%s", s->unconfined_file);
    }
    if (s->aa_unconfined_line) {
        vg_check *c = line_finding(out, VG_CHECK_WARN, s->aa_unconfined_line, "aa-unconfined",
                                   "aa-status: %ld process(es) run unconfined although a "
                                   "loaded profile matches their program", s->aa_unconfined_n);
        vg_check_detail(c, "A profile attaches to a process when it executes its program. These "
                           "were started before their profile was loaded (or replaced), or were "
                           "started unconfined on purpose: by a container configured "
                           "'lxc.apparmor.profile: unconfined', or by a parent whose profile "
                           "runs them with 'ux'. aa-status lists them under that line.");
        vg_check_fix(c, "restart each listed process (e.g. 'systemctl restart libvirtd') so that "
                        "its profile applies; in an LXC/Proxmox container that is configured "
                        "'lxc.apparmor.profile: unconfined', give the container a named profile "
                        "instead ('lxc.apparmor.profile: generated', or a profile of your own "
                        "checked with 'apparmor_parser -Q FILE' before 'apparmor_parser -r "
                        "FILE') and restart it.");
    }
}

void vg_stack_judge(const vg_stack_log *s, vg_checklist *out)
{
    bool vz_denial = false;
    unsigned vz_denial_line = 0;

    for (size_t i = 0; i < s->n_sb; i++) {
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(s->sb[k].process, s->sb[i].process) == 0;
        if (!seen)
            judge_process(s, i, out);
        if (!vz_denial && strcmp(s->sb[i].operation, "mach-lookup") == 0 &&
            vg_streq(s->sb[i].argument, VZ_SERVICE)) {
            vz_denial = true;
            vz_denial_line = s->sb[i].line;
        }
    }
    if (s->vz_line) {
        vg_check *c;
        if (vz_denial) {
            c = line_finding(out, VG_CHECK_INFO, s->vz_line, "vz-error",
                             "VZErrorDomain Code=1 (Internal Virtualization error) is the "
                             "Seatbelt denial of '" VZ_SERVICE "' on line %u", vz_denial_line);
            vg_check_detail(c, "The sandbox kept the process from reaching the Virtualization "
                               "framework; the rules above allow it.");
        } else {
            c = line_finding(out, VG_CHECK_FAIL, s->vz_line, "vz-error",
                             "VZErrorDomain Code=1 (Internal Virtualization error) from "
                             "Apple's Virtualization framework");
            vg_check_detail(c, "The usual cause when limactl runs inside a sandboxed agent is a "
                               "macOS Seatbelt denial of 'mach-lookup' for "
                               "'" VZ_SERVICE "', which the unified log records but this "
                               "input does not contain.");
            vg_check_fix(c, "run on the Mac, before starting the instance again:\n  "
                            LOG_STREAM "\nthen give its output to 'virtguard explain', which "
                            "turns the Sandbox lines into the narrowest allow rules (e.g. "
                            "(allow mach-lookup (global-name \"" VZ_SERVICE "\"))).");
        }
    }
    if (s->lxc_line) {
        vg_check *c = line_finding(out, VG_CHECK_WARN, s->lxc_line, "lxc-nesting",
                                   "LXC container: an explicitly configured "
                                   "lxc.apparmor.profile replaces the nesting rules that "
                                   "features:nesting asks for");
        vg_check_detail(c, "features:nesting (Proxmox) runs the container under LXC's generated "
                           "AppArmor profile with lxc.apparmor.allow_nesting = 1: the rules that "
                           "let it mount /proc and /sys again and stack profiles, which a "
                           "container running libvirt or containers needs. A custom "
                           "lxc.apparmor.profile replaces that profile and its rules, so nesting "
                           "stays off although the setting says on.");
        vg_check_fix(c, "remove the lxc.apparmor.profile line from the container's config "
                        "(e.g. /etc/pve/lxc/ID.conf) so features:nesting applies; or keep a "
                        "custom profile that includes the nesting rules, as LXC's "
                        "'lxc-container-default-with-nesting' does; or set "
                        "'lxc.apparmor.profile = generated' with "
                        "'lxc.apparmor.allow_nesting = 1'. Do not use 'unconfined'.");
    }
    judge_unconfined(s, out);
}
