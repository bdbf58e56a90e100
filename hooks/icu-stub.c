/* virtguard: stand-ins for the seven ICU converter functions that Debian's
 * static libxml2 references (encoding.c, for documents that declare an
 * encoding other than UTF-8/UTF-16/Latin-1/ASCII).
 *
 * The hook accepts UTF-8 only: linking real ICU for them would add its
 * 30 MB data table to every VM start (docs/BENCH.md).  ucnv_open fails, so
 * libxml2 reports "unsupported encoding" and the document is refused with
 * the usual XML error; the other functions are never reached and fail too
 * if they were.  configure defines VG_ICU_VERSION (the "_72" suffix of the
 * ICU symbols libxml2.a wants) only when it links the hook this way. */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#ifdef VG_ICU_VERSION
#include <stddef.h>

#define VG_ICU_CAT2(n, v) n##_##v
#define VG_ICU_CAT(n, v) VG_ICU_CAT2(n, v)
#define ICU(n) VG_ICU_CAT(n, VG_ICU_VERSION)

/* UErrorCode: any value > 0 is a failure; U_UNSUPPORTED_ERROR is 16. */
#define VG_U_UNSUPPORTED_ERROR 16

void *ICU(ucnv_open)(const char *name, int *err);
void ICU(ucnv_close)(void *conv);
void ICU(ucnv_convertEx)(void *to, void *from, char **target, const char *target_limit,
                         const char **source, const char *source_limit, void *pivot_start,
                         void **pivot_source, void **pivot_target, const void *pivot_limit,
                         signed char reset, signed char flush, int *err);
void ICU(ucnv_setFromUCallBack)(void *conv, void *action, const void *context,
                                void **old_action, const void **old_context, int *err);
void ICU(ucnv_setToUCallBack)(void *conv, void *action, const void *context,
                              void **old_action, const void **old_context, int *err);
void ICU(UCNV_FROM_U_CALLBACK_STOP)(void);
void ICU(UCNV_TO_U_CALLBACK_STOP)(void);

static void fail(int *err)
{
    if (err && *err <= 0)
        *err = VG_U_UNSUPPORTED_ERROR;
}

void *ICU(ucnv_open)(const char *name, int *err)
{
    (void)name;
    fail(err);
    return NULL;
}

void ICU(ucnv_close)(void *conv)
{
    (void)conv;
}

void ICU(ucnv_convertEx)(void *to, void *from, char **target, const char *target_limit,
                         const char **source, const char *source_limit, void *pivot_start,
                         void **pivot_source, void **pivot_target, const void *pivot_limit,
                         signed char reset, signed char flush, int *err)
{
    (void)to; (void)from; (void)target; (void)target_limit; (void)source;
    (void)source_limit; (void)pivot_start; (void)pivot_source; (void)pivot_target;
    (void)pivot_limit; (void)reset; (void)flush;
    fail(err);
}

void ICU(ucnv_setFromUCallBack)(void *conv, void *action, const void *context,
                                void **old_action, const void **old_context, int *err)
{
    (void)conv; (void)action; (void)context; (void)old_action; (void)old_context;
    fail(err);
}

void ICU(ucnv_setToUCallBack)(void *conv, void *action, const void *context,
                              void **old_action, const void **old_context, int *err)
{
    (void)conv; (void)action; (void)context; (void)old_action; (void)old_context;
    fail(err);
}

void ICU(UCNV_FROM_U_CALLBACK_STOP)(void)
{
}

void ICU(UCNV_TO_U_CALLBACK_STOP)(void)
{
}
#endif
