/* vg-nop-hook: the cheapest well-behaved libvirt qemu hook, for `make bench`:
 * it reads the domain XML libvirt writes to its standard input, as every
 * hook must, and exits 0.  Linked like the real hook (statically when
 * configure links the hook statically), so the bench separates what
 * libvirt pays for running any compiled hook in qemu.d from what
 * virtguard's checks add. */
#include <config.h>

#include <errno.h>
#include <unistd.h>

int main(void)
{
    char buf[65536];
    ssize_t n;
    while ((n = read(STDIN_FILENO, buf, sizeof(buf))) != 0)
        if (n < 0 && errno != EINTR)
            return 0;
    return 0;
}
