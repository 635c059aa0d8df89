/* actr — store internals shared with tests (not installed). */
#ifndef ACTR_STORE_PRIVATE_H
#define ACTR_STORE_PRIVATE_H

#include <actr/store.h>

/* Runs @sql on the store's connection under its lock, between group commits.
 * For fault-injection tests only (e.g. "PRAGMA max_page_count = N" to
 * simulate a full disk). */
gboolean actr_store_exec_for_test(ActrStore *store, const char *sql, GError **error);

#endif /* ACTR_STORE_PRIVATE_H */
