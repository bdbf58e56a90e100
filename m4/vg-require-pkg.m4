# VG_REQUIRE_PKG(VARIABLE-PREFIX, MODULES, DEBIAN-PACKAGE)
# Like PKG_CHECK_MODULES, but a missing module stops configure with the
# Debian package that provides it, so the admin knows what to apt-get.
AC_DEFUN([VG_REQUIRE_PKG], [
  PKG_CHECK_MODULES([$1], [$2], [],
    [AC_MSG_ERROR([$2 not found by pkg-config. On Debian/Ubuntu install it with: apt-get install $3])])
])
