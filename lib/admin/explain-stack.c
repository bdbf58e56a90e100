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
    memset(s, 0, sizeof(*s));
}

/* Who writes Seatbelt denials: the kernel, as `log stream --style compact`
 * ("kernel[0:2c1a]") and `log show` ("kernel:") name it. */
static const char *const sandbox_writers[] = { "kernel[", "kernel:" };

static bool plain_token_char(char c)
{
    return isalnum((unsigned char)c) || (c && strchr(":.+-", c));
}

/* The line's own "Sandbox: " message, by the log's grammar: at the line's
 * start, or after "WRITER (Sandbox) " preceded only by plain tokens (the
 * time, the type, ids).  A "Sandbox: " quoted inside another program's
 * message (a file name in a libvirt error) is not one.  NULL when none. */
static const char *sandbox_message(const char *line)
{
    static const char tag[] = "(Sandbox) Sandbox: ";
    if (vg_str_has_prefix(line, "Sandbox: "))
        return line;
    const char *t = strstr(line, tag);
    if (!t)
        return NULL;
    const char *w = t;                      /* the writer's token before it */
    while (w > line && w[-1] == ' ')
        w--;
    const char *end = w;
    while (w > line && w[-1] != ' ')
        w--;
    bool writer = false;
    for (size_t i = 0; i < VG_N_ELEMENTS(sandbox_writers); i++)
        writer |= vg_str_has_prefix(w, sandbox_writers[i]) && end > w;
    if (!writer || end == t)
        return NULL;
    for (const char *q = line; q < w; q++)
        if (*q != ' ' && !plain_token_char(*q))
            return NULL;
    return t + strlen("(Sandbox) ");
}

/* "Sandbox: PROCESS(PID) deny(N) OPERATION ARGS" as the line's message. */
static bool parse_seatbelt(vg_stack_log *s, const char *line, unsigned lineno)
{
    const char *p = sandbox_message(line);
    if (!p)
        return false;
    p += strlen("Sandbox: ");
    const char *deny = strstr(p, ") deny(");
    if (!deny)
        return false;
    const char *open = deny;
    while (open > p && open[-1] != '(')
        open--;
    if (open <= p + 1 || open == deny)
        return false;
    char *end;
    long pid = strtol(open, &end, 10);
    if (end != deny || pid < 0)
        return false;
    const char *op = strchr(deny + 7, ')');
    if (!op || op[1] != ' ')
        return false;
    op += 2;
    size_t oplen = strcspn(op, " \t");
    if (!oplen)
        return false;

    vg_seatbelt_denial *d = VG_APPEND(s->sb, s->n_sb);
    d->line = lineno;
    d->process = vg_xstrndup(p, (size_t)(open - 1 - p));
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

bool vg_stack_parse_line(vg_stack_log *s, const char *line, unsigned lineno)
{
    if (parse_seatbelt(s, line, lineno)) {
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
        /* "class: com.apple.app-sandbox.read-write ..." or the class first */
        const char *cls = strstr(d->rest, "class: ");
        autofree char *c = NULL;
        if (cls)
            c = vg_xstrndup(cls + 7, strcspn(cls + 7, " \t)"));
        else if (arg && strchr(arg, '.'))
            c = vg_xstrdup(arg);
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

static void json_list(vg_buf *b, const char *key, char **v, bool *first)
{
    if (!v)
        return;
    vg_buf_printf(b, "%s\n    ", *first ? "" : ",");
    vg_json_string(b, key);
    vg_buf_add(b, ": [");
    for (size_t i = 0; v[i]; i++) {
        vg_buf_add(b, i ? ", " : "");
        vg_json_string(b, v[i]);
    }
    vg_buf_addc(b, ']');
    *first = false;
}

/* The grants of one process's denials as a nono profile fragment. */
static char *nono_profile(char **read_file, char **allow_file, char **seatbelt)
{
    vg_buf b = { 0 };
    bool first = true;
    vg_buf_add(&b, "{");
    if (read_file || allow_file) {
        vg_buf_add(&b, "\n  \"filesystem\": {");
        json_list(&b, "read_file", read_file, &first);
        json_list(&b, "allow_file", allow_file, &first);
        vg_buf_add(&b, "\n  }");
    }
    if (seatbelt) {
        vg_buf_printf(&b, "%s\n  \"unsafe_macos_seatbelt_rules\": [",
                      !read_file && !allow_file ? "" : ",");
        for (size_t i = 0; seatbelt[i]; i++) {
            vg_buf_add(&b, i ? ",\n    " : "\n    ");
            vg_json_string(&b, seatbelt[i]);
        }
        vg_buf_add(&b, "\n  ]");
    }
    vg_buf_add(&b, "\n}");
    return vg_buf_steal(&b);
}

static void judge_process(const vg_stack_log *s, size_t first, vg_checklist *out)
{
    const char *proc = s->sb[first].process;
    autostrv char **rules = NULL, **pids = NULL, **unknown = NULL, **refused = NULL;
    autostrv char **read_file = NULL, **allow_file = NULL;
    autostrv char **seatbelt = NULL;
    size_t n = 0;
    bool vz = false;

    for (size_t i = first; i < s->n_sb; i++) {
        const vg_seatbelt_denial *d = &s->sb[i];
        if (strcmp(d->process, proc) != 0)
            continue;
        n++;
        autofree char *pid = vg_xasprintf("%ld", d->pid);
        if (!vg_strv_contains(pids, pid))
            vg_strv_push(&pids, steal_pointer(&pid));
        vz |= strcmp(d->operation, "mach-lookup") == 0 && vg_streq(d->argument, VZ_SERVICE);
        char *rule = vg_seatbelt_rule(d);
        if (!rule) {
            /* a file object: refused (restricted, not canonical, escaped) */
            char ***list = kind_of(d) == GRANT_OTHER ? &unknown : &refused;
            autofree char *what = vg_xasprintf("%s %s", d->operation, d->rest);
            autofree char *w = shown(what);
            if (!vg_strv_contains(*list, w))
                vg_strv_push(list, steal_pointer(&w));
            continue;
        }
        if (vg_strv_contains(rules, rule)) {
            free(rule);
            continue;
        }
        vg_strv_push(&rules, rule);
        grant_kind k = kind_of(d);
        if (k == GRANT_READ || k == GRANT_WRITE) {
            char *path = file_target(d);
            char ***list = k == GRANT_READ ? &read_file : &allow_file;
            if (vg_strv_contains(*list, path))
                free(path);
            else
                vg_strv_push(list, path);
        } else {
            vg_strv_push(&seatbelt, vg_xstrdup(rule));
        }
    }

    autofree char *p = shown(proc);
    autobuf vg_buf pidtext = { 0 };
    for (size_t i = 0; pids && pids[i]; i++)
        vg_buf_printf(&pidtext, "%s%s", i ? ", " : "", pids[i]);
    vg_check *c = vg_checklist_add(out, VG_CHECK_FAIL, "explain", "line %u: macOS Seatbelt "
                                   "denied '%s' (pid %s) %zu time(s)", s->sb[first].line, p,
                                   pidtext.s, n);
    vg_check_attr_set(c, "line", "%u", s->sb[first].line);
    vg_check_attr_set(c, "cause", "seatbelt");
    vg_check_attr_set(c, "process", "%s", p);
    vg_check_attr_set(c, "pids", "%s", pidtext.s);
    vg_check_detail(c, "The process runs under a macOS sandbox (Seatbelt) profile, such as a "
                       "sandboxed agent's, that does not allow %s.",
                    vz ? "the Virtualization framework's XPC service '" VZ_SERVICE "': limactl "
                         "then fails with VZErrorDomain Code=1 \"Internal Virtualization "
                         "error\"" : "these operations");
    if (rules) {
        autobuf vg_buf r = { 0 };
        for (size_t i = 0; rules[i]; i++)
            vg_buf_printf(&r, "%s%s", i ? "\n" : "", rules[i]);
        autofree char *nono = nono_profile(read_file, allow_file, seatbelt);
        autobuf vg_buf indented = { 0 };
        for (const char *q = nono; *q; q++) {
            vg_buf_addc(&indented, *q);
            if (*q == '\n')
                vg_buf_add(&indented, "  ");
        }
        autobuf vg_buf rind = { 0 };
        for (const char *q = r.s; *q; q++) {
            vg_buf_addc(&rind, *q);
            if (*q == '\n')
                vg_buf_add(&rind, "  ");
        }
        /* "exactly": each rule allows the one object denied, and together
         * they are every denial of the process */
        vg_check_fix(c, "allow %s in the profile '%s' runs under (Seatbelt, SBPL):\n"
                        "  %s\nor, with nono, in its profile JSON:\n  %s",
                     unknown || refused ? "these (each only the object denied; the denials "
                                          "named above get none)" : "exactly these",
                     p, rind.s, indented.s);
        vg_check_attr_set(c, "seatbelt_rules", "%s", r.s);
        vg_check_attr_set(c, "nono_profile", "%s", nono);
    }
    if (unknown) {
        autobuf vg_buf u = { 0 };
        for (size_t i = 0; unknown[i]; i++)
            vg_buf_printf(&u, "%s'%s'", i ? ", " : "", unknown[i]);
        vg_check_detail(c, "No narrow rule is proposed for %s: virtguard knows no filter for "
                           "it that would not allow more.", u.s);
    }
    if (refused) {
        autobuf vg_buf u = { 0 };
        for (size_t i = 0; refused[i]; i++)
            vg_buf_printf(&u, "%s'%s'", i ? ", " : "", refused[i]);
        vg_check_detail(c, "No rule is proposed for %s: virtguard proposes none for a path "
                           "under a restricted prefix (/, /etc, /usr, /var/run, /dev...: the "
                           "list its AppArmor rules use), with '.' or '..' components, or "
                           "holding characters it shows escaped (docs/SECURITY.md, \"What "
                           "explain trusts\"); allow such a path yourself only if the process "
                           "should have it.", u.s);
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
            c = vg_checklist_add(out, VG_CHECK_INFO, "explain", "line %u: VZErrorDomain Code=1 "
                                 "(Internal Virtualization error) is the Seatbelt denial of "
                                 "'" VZ_SERVICE "' on line %u", s->vz_line, vz_denial_line);
            vg_check_detail(c, "The sandbox kept the process from reaching the Virtualization "
                               "framework; the rules above allow it.");
        } else {
            c = vg_checklist_add(out, VG_CHECK_FAIL, "explain", "line %u: VZErrorDomain Code=1 "
                                 "(Internal Virtualization error) from Apple's Virtualization "
                                 "framework", s->vz_line);
            vg_check_detail(c, "The usual cause when limactl runs inside a sandboxed agent is a "
                               "macOS Seatbelt denial of 'mach-lookup' for "
                               "'" VZ_SERVICE "', which the unified log records but this "
                               "input does not contain.");
            vg_check_fix(c, "run on the Mac, before starting the instance again:\n  "
                            LOG_STREAM "\nthen give its output to 'virtguard explain', which "
                            "turns the Sandbox lines into the narrowest allow rules (e.g. "
                            "(allow mach-lookup (global-name \"" VZ_SERVICE "\"))).");
        }
        vg_check_attr_set(c, "line", "%u", s->vz_line);
        vg_check_attr_set(c, "cause", "vz-error");
    }
    if (s->lxc_line) {
        vg_check *c = vg_checklist_add(out, VG_CHECK_WARN, "explain", "line %u: LXC container: "
                                       "an explicitly configured lxc.apparmor.profile replaces "
                                       "the nesting rules that features:nesting asks for",
                                       s->lxc_line);
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
        vg_check_attr_set(c, "line", "%u", s->lxc_line);
        vg_check_attr_set(c, "cause", "lxc-nesting");
    }
}
