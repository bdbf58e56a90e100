# VG_TRY_HOOK_LINK(WHAT, RESULT, LIBS, LINK-LDFLAGS, HOOK-LDFLAGS, EXTRA-CFLAGS, PROLOGUE)
# One attempt at linking the qemu hook statically (configure.ac, "the hook
# runs on every VM start"), skipped once an earlier attempt worked, that is
# once hook_link is no longer "dynamic".  Prints "checking whether WHAT",
# links a program that parses a document with libxml2 and asks libapparmor
# (PROLOGUE declares both) with LIBS and LINK-LDFLAGS before the saved
# vg_save_LIBS/vg_save_LDFLAGS and EXTRA-CFLAGS after the saved CFLAGS and
# LIBXML_CFLAGS.  If it links: hook_link=RESULT, HOOK_XML_LIBS=LIBS,
# HOOK_LDFLAGS=HOOK-LDFLAGS.  Leaves CFLAGS as "$vg_save_CFLAGS $LIBXML_CFLAGS";
# the caller restores LIBS, LDFLAGS and CFLAGS after the last attempt.
AC_DEFUN([VG_TRY_HOOK_LINK], [
AS_IF([test "x$hook_link" = xdynamic], [
  AC_MSG_CHECKING([whether $1])
  LIBS="$3 $vg_save_LIBS"; LDFLAGS="$4 $vg_save_LDFLAGS"
  CFLAGS="$vg_save_CFLAGS $LIBXML_CFLAGS m4_normalize([$6])"
  AC_LINK_IFELSE([AC_LANG_PROGRAM([$7],
      [[xmlFreeDoc(xmlReadMemory("<a/>", 4, "x", NULL, 0)); return aa_is_enabled();]])],
    [hook_link="$2"; HOOK_XML_LIBS="$3"; HOOK_LDFLAGS="$5"; AC_MSG_RESULT([yes])],
    [AC_MSG_RESULT([no])])
  CFLAGS="$vg_save_CFLAGS $LIBXML_CFLAGS"
])])

# The prologue of the two attempts that use libxml2's and libapparmor's headers.
m4_define([VG_HOOK_LINK_HEADERS], [[#include <libxml/parser.h>
#include <sys/apparmor.h>]])
