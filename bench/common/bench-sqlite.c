/* actr benchmarks — the raw SQLite baseline.  See bench-sqlite.h. */
#include "bench-sqlite.h"
#include "bench-util.h"

#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>

static gboolean
rawdb_check(BenchRawDb *r, int rc, const char *what)
{
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW)
    return TRUE;
  fprintf(stderr, "\n%s: sqlite %s on %s: %s\n", g_get_prgname(), what, r->path,
          r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
  return FALSE;
}

void
bench_rawdb_clear(BenchRawDb *r)
{
  const char *suffixes[] = {"", "-wal", "-shm"};

  sqlite3_finalize(r->insert);
  sqlite3_finalize(r->delete);
  sqlite3_close(r->db);
  if (r->path != NULL) {
    for (guint i = 0; i < G_N_ELEMENTS(suffixes); i++) {
      g_autofree char *p = g_strconcat(r->path, suffixes[i], NULL);

      g_unlink(p);
    }
  }
  g_free(r->row);
  g_free(r->path);
  memset(r, 0, sizeof *r);
}

/* Opens DIR/baseline.db (WAL, synchronous=NORMAL).  FALSE (reason
 * printed) on failure; bench_rawdb_clear() in both cases. */
gboolean
bench_rawdb_init(BenchRawDb *r, const char *dir, gsize row_len)
{
  memset(r, 0, sizeof *r);
  r->path = g_build_filename(dir, "baseline.db", NULL);
  r->row_len = row_len;
  r->row = g_malloc(row_len);
  for (gsize i = 0; i < row_len; i++)
    r->row[i] = (guint8)(i * 31 + 7);
  return rawdb_check(r, sqlite3_open(r->path, &r->db), "open") &&
         rawdb_check(r, sqlite3_exec(r->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), "wal") &&
         rawdb_check(r, sqlite3_exec(r->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL),
                     "synchronous") &&
         rawdb_check(r,
                     sqlite3_exec(r->db,
                                  "CREATE TABLE raw(id INTEGER PRIMARY KEY, payload BLOB NOT NULL)",
                                  NULL, NULL, NULL),
                     "create") &&
         rawdb_check(r,
                     sqlite3_prepare_v2(r->db, "INSERT INTO raw(payload) VALUES (?1)", -1,
                                        &r->insert, NULL),
                     "prepare") &&
         rawdb_check(
             r, sqlite3_prepare_v2(r->db, "DELETE FROM raw WHERE id = ?1", -1, &r->delete, NULL),
             "prepare");
}

/* @n iterations of INSERT commit + DELETE commit, each recorded in
 * @samples (nullable: a warm-up).  FALSE (reason printed) on failure. */
gboolean
bench_rawdb_run(BenchRawDb *r, guint n, GArray *samples, const char *label)
{
  for (guint i = 0; i < n && !bench_aborted; i++) {
    gint64 t0 = bench_now_ns();
    double us;

    sqlite3_bind_blob(r->insert, 1, r->row, (int)r->row_len, SQLITE_STATIC);
    if (!rawdb_check(r, sqlite3_step(r->insert), "insert"))
      return FALSE;
    sqlite3_reset(r->insert);
    sqlite3_bind_int64(r->delete, 1, sqlite3_last_insert_rowid(r->db));
    if (!rawdb_check(r, sqlite3_step(r->delete), "delete"))
      return FALSE;
    sqlite3_reset(r->delete);
    us = (double)(bench_now_ns() - t0) / 1000.0;
    if (samples != NULL) {
      g_array_append_val(samples, us);
      bench_progress("%s %u/%u", label, i + 1, n);
    }
  }
  return !bench_aborted;
}