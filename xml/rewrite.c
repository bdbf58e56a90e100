/* virtguard: path_map rewriting of a domain XML.
 *
 * The document is parsed with vg_xml_parse, the path model tells which
 * attributes and element texts are host paths, those are edited in place
 * and only the root element is serialised again: the text before it (XML
 * declaration, comments, DOCTYPE) and after it is copied byte for byte.
 * Inside the root, libxml2 normalises what it always normalises (attribute
 * quotes, empty-element tags, character references).
 */
#include <config.h>

#include <strings.h>

#include <libxml/tree.h>

#include "domain-paths.h"
#include "rewrite.h"
#include "xmlsafe.h"

int vg_path_map_apply(const vg_path_map *map, size_t n, const char *path, char **out)
{
    const vg_path_map *best = NULL;
    size_t best_len = 0;

    *out = NULL;
    if (!path)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const char *from = map[i].from;
        size_t fl;

        if (!from || !map[i].to || !vg_path_is_under(path, from))
            continue;
        fl = strlen(from);
        while (fl > 0 && from[fl - 1] == '/')
            fl--;               /* "/" becomes 0: every absolute path */
        if (!best || fl > best_len) {
            best = &map[i];
            best_len = fl;
        }
    }
    if (!best)
        return 0;

    const char *rest = path + best_len;     /* "" or "/..." */
    size_t tl = strlen(best->to);
    while (tl > 0 && best->to[tl - 1] == '/')
        tl--;
    if (tl == 0)
        *out = vg_xstrdup(*rest ? rest : "/");
    else
        *out = vg_xasprintf("%.*s%s", (int)tl, best->to, rest);
    return 1;
}

/* ---- locating the root element in the original text ------------------ */

static bool xml_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool at(const char *t, size_t len, size_t i, const char *lit)
{
    size_t n = strlen(lit);
    return i <= len && len - i >= n && memcmp(t + i, lit, n) == 0;
}

/* Index just after the first `lit` at or after i, or 0 when none. */
static size_t skip_past(const char *t, size_t len, size_t i, const char *lit)
{
    size_t n = strlen(lit);
    for (; i + n <= len; i++)
        if (memcmp(t + i, lit, n) == 0)
            return i + n;
    return 0;
}

/* Offset of the root element's '<': skips BOM, XML declaration, comments,
 * processing instructions, whitespace and a DOCTYPE (with internal subset). */
static bool find_root_start(const char *t, size_t len, const xmlNode *root, size_t *pos)
{
    size_t i = at(t, len, 0, "\xEF\xBB\xBF") ? 3 : 0;

    for (;;) {
        while (i < len && xml_ws(t[i]))
            i++;
        if (i >= len || t[i] != '<')
            return false;
        if (at(t, len, i, "<?")) {
            if (!(i = skip_past(t, len, i + 2, "?>")))
                return false;
        } else if (at(t, len, i, "<!--")) {
            if (!(i = skip_past(t, len, i + 4, "-->")))
                return false;
        } else if (at(t, len, i, "<!DOCTYPE")) {
            int depth = 0;
            char quote = 0;
            size_t j = i + 9;
            for (;; j++) {
                if (j >= len)
                    return false;
                char c = t[j];
                if (quote) {
                    if (c == quote)
                        quote = 0;
                } else if (at(t, len, j, "<!--")) {
                    if (!(j = skip_past(t, len, j + 4, "-->")))
                        return false;
                    j--;
                } else if (at(t, len, j, "<?")) {
                    if (!(j = skip_past(t, len, j + 2, "?>")))
                        return false;
                    j--;
                } else if (c == '"' || c == '\'') {
                    quote = c;
                } else if (c == '[') {
                    depth++;
                } else if (c == ']') {
                    depth--;
                } else if (c == '>' && depth <= 0) {
                    break;
                }
            }
            i = j + 1;
        } else {
            /* must be the root's start tag */
            const char *name = (const char *)root->name;
            size_t nl = strlen(name);
            size_t k = i + 1;
            if (root->ns && root->ns->prefix) {
                size_t pl = strlen((const char *)root->ns->prefix);
                if (!at(t, len, k, (const char *)root->ns->prefix) || !at(t, len, k + pl, ":"))
                    return false;
                k += pl + 1;
            }
            if (!at(t, len, k, name) || k + nl >= len ||
                !(xml_ws(t[k + nl]) || t[k + nl] == '>' || t[k + nl] == '/'))
                return false;
            *pos = i;
            return true;
        }
    }
}

/* Offset just after the root element's last '>': walks back over the
 * comments and processing instructions that follow it (the only content
 * XML allows there), checking each against the parsed document. */
static bool find_root_end(const char *t, size_t len, const xmlDoc *doc, const xmlNode *root,
                          size_t *end)
{
    size_t e = len;

    for (const xmlNode *n = doc->last; n && n != root; n = n->prev) {
        while (e > 0 && xml_ws(t[e - 1]))
            e--;
        if (n->type == XML_COMMENT_NODE) {
            /* "--" cannot occur inside a comment, so the last "<!--" is its start */
            if (e < 7 || memcmp(t + e - 3, "-->", 3) != 0)
                return false;
            size_t s = e - 3;
            while (s >= 4 && memcmp(t + s - 4, "<!--", 4) != 0)
                s--;
            if (s < 4)
                return false;
            e = s - 4;
        } else if (n->type == XML_PI_NODE) {
            if (e < 4 || memcmp(t + e - 2, "?>", 2) != 0)
                return false;
            size_t nl = strlen((const char *)n->name);
            size_t s;               /* where the PI's target name starts */
            bool found = false;
            for (s = e - 2; s >= 2; s--) {
                if (t[s - 2] == '<' && t[s - 1] == '?' && s + nl <= e - 2 &&
                    memcmp(t + s, n->name, nl) == 0) {
                    found = true;
                    break;
                }
            }
            if (!found)
                return false;
            e = s - 2;
        } else {
            return false;
        }
    }
    while (e > 0 && xml_ws(t[e - 1]))
        e--;
    if (e == 0 || t[e - 1] != '>')
        return false;
    *end = e;
    return true;
}

static void set_text(xmlNode *node, const char *value)
{
    xmlNode *c = node->children;
    while (c) {
        xmlNode *next = c->next;
        xmlUnlinkNode(c);
        xmlFreeNode(c);
        c = next;
    }
    xmlNode *tn = xmlNewDocText(node->doc, BAD_CAST value);
    if (!tn || !xmlAddChild(node, tn))
        vg_oom();
}

int vg_rewrite_xml(const vg_path_map *map, size_t n, const char *text, size_t len,
                   const char *name, char **out, size_t *n_changed, vg_error **err)
{
    autoxmldoc xmlDoc *doc = NULL;
    autodomain vg_domain *d = NULL;
    size_t changed = 0, start = 0, end = 0;
    xmlBuffer *buf = NULL;
    int r;

    *out = NULL;
    if (n_changed)
        *n_changed = 0;
    if (!name)
        name = "-";
    if ((r = vg_xml_parse(text, len, name, &doc, err)) < 0)
        return r;
    if ((r = vg_domain_from_doc(doc, &d, err)) < 0)
        return vg_error_wrap(err, "XML document '%s'", name);

    for (size_t i = 0; i < d->n_paths; i++) {
        vg_domain_path *p = &d->paths[i];
        autofree char *mapped = NULL;

        if (!p->xml_node || vg_path_map_apply(map, n, p->path, &mapped) <= 0 ||
            strcmp(mapped, p->path) == 0)
            continue;
        if (p->xml_attr) {
            if (!xmlSetProp(p->xml_node, BAD_CAST p->xml_attr, BAD_CAST mapped))
                vg_oom();
        } else {
            set_text(p->xml_node, mapped);
        }
        changed++;
    }

    if (changed == 0) {
        *out = vg_xstrndup(text, len);
        return 0;
    }

    xmlNode *root = xmlDocGetRootElement(doc);
    if (doc->encoding && strcasecmp((const char *)doc->encoding, "UTF-8") != 0 &&
        strcasecmp((const char *)doc->encoding, "UTF8") != 0)
        return vg_error_set(err, EINVAL, "XML document '%s' declares encoding '%s'; virtguard "
                            "rewrites only UTF-8 documents (libvirt writes UTF-8)",
                            name, (const char *)doc->encoding);
    if (!find_root_start(text, len, root, &start) ||
        !find_root_end(text, len, doc, root, &end) || end <= start)
        return vg_error_set(err, EINVAL, "XML document '%s': cannot locate the <%s> element "
                            "in the text to rewrite it", name, (const char *)root->name);

    if (!(buf = xmlBufferCreate()))
        vg_oom();
    if (xmlNodeDump(buf, doc, root, 0, 0) < 0) {
        xmlBufferFree(buf);
        return vg_error_set(err, EIO, "XML document '%s': serialising the rewritten <%s> "
                            "element failed", name, (const char *)root->name);
    }

    vg_buf b = { 0 };
    vg_buf_addn(&b, text, start);
    vg_buf_addn(&b, (const char *)xmlBufferContent(buf), (size_t)xmlBufferLength(buf));
    vg_buf_addn(&b, text + end, len - end);
    xmlBufferFree(buf);
    *out = vg_buf_steal(&b);
    if (n_changed)
        *n_changed = changed;
    return 0;
}
