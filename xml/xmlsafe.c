/* virtguard: the only way virtguard parses XML.
 *
 * libxml2 is driven with XML_PARSE_NONET and nothing else: no entity
 * substitution (NOENT), no DTD loading, defaulting or validation, no
 * XInclude, no XML_PARSE_HUGE (so libxml2's own limits stay on).  On top of
 * that a document is refused, with a message naming input, line and column,
 * when it
 *   - is larger than VG_XML_MAX_BYTES or contains a NUL byte,
 *   - holds a raw TAB, LF or CR inside an attribute value: XML reads each
 *     as a space (attribute-value normalisation), but libvirt writes a
 *     file name holding one that way, and QEMU opens the real name -- the
 *     path read here would not be the file QEMU opens,
 *   - declares any entity or names an external DTD (the SAX callbacks stop
 *     the parser at the declaration: nothing is expanded or fetched),
 *   - still contains an entity reference node or nests deeper than
 *     VG_XML_MAX_DEPTH elements (checked by walking the tree),
 *   - is not well-formed (including invalid UTF-8 and &#0;).
 * libxml2 never prints: errors go to a per-context structured handler and
 * the generic handler is silenced.
 */
#include <config.h>

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include <stdint.h>

#include "xmlsafe.h"

typedef struct {
    const char *name;
    /* first error libxml2 reported */
    bool have_error;
    int line, col, code;
    char *message;
    /* our own refusal, decided in a SAX callback */
    char *refusal;
} parse_state;

static char *refusal_msg(const char *name, int line, const char *fmt, ...) VG_FORMAT(3, 4);

static char *refusal_msg(const char *name, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    autofree char *why = vg_xvasprintf(fmt, ap);
    va_end(ap);
    if (line > 0)
        return vg_xasprintf("XML document '%s' refused at line %d: %s", name, line, why);
    return vg_xasprintf("XML document '%s' refused: %s", name, why);
}

static void silent_generic_error(void *ctx VG_UNUSED, const char *msg VG_UNUSED, ...)
{
}

static parse_state *state_of(void *ctx)
{
    xmlParserCtxtPtr ctxt = ctx;
    return ctxt->_private;
}

static int current_line(void *ctx)
{
    xmlParserCtxtPtr ctxt = ctx;
    return ctxt->input ? ctxt->input->line : 0;
}

/* Trim the trailing newline and any "\nBytes: ..." detail lines into one
 * line: "Input is not proper UTF-8, indicate encoding ! (Bytes: 0xFF ...)". */
static char *one_line(const char *msg)
{
    vg_buf b = { 0 };
    bool pending_sep = false;

    for (const char *p = msg ? msg : "unknown error"; *p; p++) {
        if (*p == '\n' || *p == '\r') {
            pending_sep = true;
            continue;
        }
        if (pending_sep) {
            vg_buf_add(&b, "; ");
            pending_sep = false;
        }
        vg_buf_addc(&b, *p);
    }
    return vg_buf_steal(&b);
}

static void structured_error(void *ctx, xmlErrorPtr e)
{
    parse_state *st = state_of(ctx);

    if (!st || !e || e->level < XML_ERR_ERROR || st->have_error)
        return;
    st->have_error = true;
    st->line = e->line;
    st->col = e->int2;
    st->code = e->code;
    st->message = one_line(e->message);
}

static void refuse(void *ctx, char *msg_owned)
{
    parse_state *st = state_of(ctx);

    if (!st->refusal)
        st->refusal = msg_owned;
    else
        free(msg_owned);
    xmlStopParser(ctx);
}

static void on_entity_decl(void *ctx, const xmlChar *name, int type,
                           const xmlChar *public_id VG_UNUSED, const xmlChar *system_id,
                           xmlChar *content VG_UNUSED)
{
    parse_state *st = state_of(ctx);
    bool parameter = type == XML_INTERNAL_PARAMETER_ENTITY ||
                     type == XML_EXTERNAL_PARAMETER_ENTITY;

    refuse(ctx, refusal_msg(st->name, current_line(ctx),
                                   "it declares the %s entity '%s'%s%s%s; documents with entity "
                                   "declarations are refused (entity expansion and external "
                                   "entities are not allowed)",
                                   parameter ? "parameter" : "general", (const char *)name,
                                   system_id ? " with SYSTEM '" : "",
                                   system_id ? (const char *)system_id : "",
                                   system_id ? "'" : ""));
}

static void on_internal_subset(void *ctx, const xmlChar *name, const xmlChar *external_id,
                               const xmlChar *system_id)
{
    parse_state *st = state_of(ctx);

    if (external_id || system_id) {
        refuse(ctx, refusal_msg(st->name, current_line(ctx),
                                       "its DOCTYPE names the external DTD '%s'; external DTDs "
                                       "are refused (virtguard never loads them)",
                                       system_id ? (const char *)system_id
                                                 : (const char *)external_id));
        return;
    }
    xmlSAX2InternalSubset(ctx, name, external_id, system_id);
}

/* Walk the tree without recursion; refuse entity references and too deep
 * nesting.  Returns NULL or an allocated message. */
static char *check_tree(xmlDoc *doc, const char *name)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    xmlNode *n = root;
    int depth = 1;

    while (n) {
        if (n->type == XML_ENTITY_REF_NODE || n->type == XML_ENTITY_NODE ||
            n->type == XML_ENTITY_DECL)
            return refusal_msg(name, (int)xmlGetLineNo(n),
                                      "it references the entity '%s'; entity references "
                                      "are refused", n->name ? (const char *)n->name : "?");
        if (n->type == XML_ELEMENT_NODE && depth > VG_XML_MAX_DEPTH)
            return refusal_msg(name, (int)xmlGetLineNo(n),
                                      "elements are nested more than %d deep", VG_XML_MAX_DEPTH);
        if (n->type == XML_ELEMENT_NODE && n->children) {
            n = n->children;
            depth++;
            continue;
        }
        while (n && n != root && !n->next) {
            n = n->parent;
            depth--;
        }
        if (!n || n == root)
            break;
        n = n->next;
    }
    return NULL;
}

/* Line and 1-based column of byte offset `off` in text. */
static void line_col(const char *text, size_t off, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* Offset of the first raw TAB, LF or CR inside an attribute value, or
 * SIZE_MAX.  A small scanner over the markup: comments, CDATA sections,
 * processing instructions, declarations and <metadata> are skipped,
 * quotes tracked only inside tags. */
static size_t raw_space_in_attribute(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (text[i] != '<') {
            i++;
            continue;
        }
        static const struct { const char *open, *close; } skip[] = {
            { "<!--", "-->" }, { "<![CDATA[", "]]>" }, { "<?", "?>" }, { "<!", ">" },
        };
        bool skipped = false;
        for (size_t k = 0; k < VG_N_ELEMENTS(skip) && !skipped; k++) {
            size_t n = strlen(skip[k].open);
            if (len - i >= n && memcmp(text + i, skip[k].open, n) == 0) {
                const char *end = memmem(text + i + n, len - i - n, skip[k].close,
                                         strlen(skip[k].close));
                i = end ? (size_t)(end - text) + strlen(skip[k].close) : len;
                skipped = true;
            }
        }
        if (skipped)
            continue;
        /* <metadata> holds applications' own XML, kept verbatim by libvirt
         * and never read as paths: its attributes are theirs */
        if (len - i > 10 && memcmp(text + i, "<metadata", 9) == 0 &&
            (text[i + 9] == '>' || text[i + 9] == ' ' || text[i + 9] == '\n' || text[i + 9] == '\t')) {
            const char *end = memmem(text + i, len - i, "</metadata>", 11);
            i = end ? (size_t)(end - text) + 11 : len;
            continue;
        }
        /* a tag: up to its '>', attribute values in quotes */
        char quote = 0;
        for (i++; i < len; i++) {
            char c = text[i];
            if (quote) {
                if (c == quote)
                    quote = 0;
                else if (c == '\t' || c == '\n' || c == '\r')
                    return i;
            } else if (c == '"' || c == '\'') {
                quote = c;
            } else if (c == '>') {
                i++;
                break;
            }
        }
    }
    return SIZE_MAX;
}

int vg_xml_parse(const char *text, size_t len, const char *name, xmlDoc **out, vg_error **err)
{
    parse_state st = { .name = name ? name : "-" };
    xmlParserCtxtPtr ctxt = NULL;
    xmlDoc *doc = NULL;
    const char *nul;
    char *why = NULL;
    int ret = 0;

    *out = NULL;
    name = st.name;
    if (len > VG_XML_MAX_BYTES)
        return vg_error_set(err, EFBIG, "XML document '%s' refused: it is %zu bytes, more than "
                            "the limit of %u bytes", name, len, VG_XML_MAX_BYTES);
    if (len == 0 || !text)
        return vg_error_set(err, EINVAL, "XML document '%s' is empty", name);
    if ((nul = memchr(text, '\0', len))) {
        int line, col;
        line_col(text, (size_t)(nul - text), &line, &col);
        return vg_error_set(err, EINVAL, "XML document '%s' refused at line %d, column %d: "
                            "it contains a NUL byte", name, line, col);
    }

    size_t raw = raw_space_in_attribute(text, len);
    if (raw != SIZE_MAX) {
        int line, col;
        line_col(text, raw, &line, &col);
        return vg_error_set(err, EINVAL, "XML document '%s' refused at line %d, column %d: an "
                            "attribute value holds a raw %s, which XML reads as a space, so a "
                            "file name there would not be the file QEMU opens (libvirt writes "
                            "names with control characters this way); rename the file",
                            name, line, col,
                            text[raw] == '\t' ? "tab" : text[raw] == '\n' ? "newline (LF)"
                                                                             : "carriage return (CR)");
    }

    xmlInitParser();
    /* Belt and braces: anything libxml2 reports outside our context's
     * structured handler goes nowhere instead of stderr. */
    xmlSetGenericErrorFunc(NULL, silent_generic_error);
    xmlSetStructuredErrorFunc(NULL, NULL);

    if (!(ctxt = xmlNewParserCtxt()))
        vg_oom();
    ctxt->sax->serror = structured_error;
    ctxt->sax->entityDecl = on_entity_decl;
    ctxt->sax->internalSubset = on_internal_subset;
    ctxt->sax->externalSubset = NULL;       /* never load an external subset */
    ctxt->sax->resolveEntity = NULL;
    ctxt->_private = &st;

    doc = xmlCtxtReadMemory(ctxt, text, (int)len, name, NULL, XML_PARSE_NONET);

    if (st.refusal) {
        ret = vg_error_set(err, EINVAL, "%s", st.refusal);
    } else if (st.have_error || !doc || !ctxt->wellFormed) {
        if (!st.have_error) {
            xmlErrorPtr e = xmlCtxtGetLastError(ctxt);
            if (e)
                structured_error(ctxt, e);
        }
        if (st.message && st.code == XML_ERR_INTERNAL_ERROR &&
            strstr(st.message, "Excessive depth")) {
            ret = vg_error_set(err, EINVAL, "XML document '%s' refused at line %d, column %d: "
                               "elements are nested more than %d deep",
                               name, st.line, st.col, VG_XML_MAX_DEPTH);
        } else {
            ret = vg_error_set(err, EINVAL, "XML document '%s' is malformed at line %d, "
                               "column %d: %s", name, st.line, st.col,
                               st.message ? st.message : "the parser gave up");
        }
    } else if (!xmlDocGetRootElement(doc)) {
        ret = vg_error_set(err, EINVAL, "XML document '%s' has no root element", name);
    } else if ((why = check_tree(doc, name))) {
        ret = vg_error_set(err, EINVAL, "%s", why);
    }

    free(why);
    free(st.message);
    free(st.refusal);
    ctxt->_private = NULL;
    xmlFreeParserCtxt(ctxt);
    if (ret < 0) {
        if (doc)
            xmlFreeDoc(doc);
        return ret;
    }
    *out = doc;
    return 0;
}

char *vg_xml_attr(const xmlNode *n, const char *name)
{
    if (!n)
        return NULL;
    xmlChar *v = xmlGetNoNsProp(n, BAD_CAST name);
    if (!v)
        return NULL;
    char *r = vg_xstrdup((const char *)v);
    xmlFree(v);
    return r;
}
