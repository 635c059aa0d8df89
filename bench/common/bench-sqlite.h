/* actr benchmarks — the raw SQLite baseline: one connection to a file in
 * the benchmark's directory, WAL, synchronous=NORMAL (the node store's
 * default durability); a sample is the INSERT of one row (its own
 * transaction) plus the DELETE of that row (its own transaction).
 *
 * Thread: the benchmark's main thread. */
#ifndef ACTR_BENCH_SQLITE_H
#define ACTR_BENCH_SQLITE_H

#include <glib.h>
#include <sqlite3.h>

G_BEGIN_DECLS

typedef struct {
  sqlite3 *db;
  sqlite3_stmt *insert, *delete;
  guint8 *row;
  gsize row_len;
  char *path;
} BenchRawDb;

/* Opens DIR/baseline.db with a table of @row_len-byte rows.  FALSE (reason
 * printed) on failure; bench_rawdb_clear() in both cases. */
gboolean bench_rawdb_init(BenchRawDb *r, const char *dir, gsize row_len);

/* @n iterations of INSERT commit + DELETE commit, each recorded in
 * @samples in us (nullable: a warm-up); @label for the progress line.
 * FALSE (reason printed) on failure or an abort. */
gboolean bench_rawdb_run(BenchRawDb *r, guint n, GArray *samples, const char *label);

/* Closes the database and removes its files. */
void bench_rawdb_clear(BenchRawDb *r);

G_END_DECLS

#endif /* ACTR_BENCH_SQLITE_H */
