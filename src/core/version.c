/* actr — run-time version query. */
#include <actr/version.h>

const char *
actr_version_string(void)
{
  return ACTR_VERSION_STRING;
}
