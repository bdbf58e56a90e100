/* placeholder: being implemented */
#include <config.h>
