/* virtguard: SHA-256 (FIPS 180-4), for content-addressed caches. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* hex: 65 bytes (64 hex digits + NUL). */
void vg_sha256_hex(const void *data, size_t len, char hex[65]);
