/* Integration test: `actr keygen`, `actr pack` and `actr verify` as real
 * processes on the real echo workload, and verification against a real
 * actrd's /mfr/... key endpoint; the package's manifest and signature are
 * also accepted by actrd for a PACKAGE registration (wire.md §3.3 path 2).
 *
 * Usage: test-cli-package ACTR ACTRD ECHO_SO [--tap] */
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>
#include <glib/gstdio.h>

#include "actr.pb-c.h"
#include "../../actrd/actrd-harness.h"
#include "codec.h"
#include "package.h"

static const char *actr_path, *actrd_path, *echo_path;

/* ---- Running actr ------------------------------------------------------------- */

typedef struct {
  int status;
  char *out;
  char *err;
} Run;

static void
run_clear(Run *run)
{
  g_clear_pointer(&run->out, g_free);
  g_clear_pointer(&run->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Run, run_clear)

static void run_actr(Run *run, const char *first, ...) G_GNUC_NULL_TERMINATED;

static void
run_actr(Run *run, const char *first, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new();
  g_auto(GStrv) env = g_environ_setenv(g_get_environ(), "LC_ALL", "C", TRUE);
  g_autoptr(GError) error = NULL;
  g_autofree char *joined = NULL;
  int wait_status = 0;
  va_list ap;

  g_ptr_array_add(argv, (gpointer)actr_path);
  va_start(ap, first);
  for (const char *arg = first; arg != NULL; arg = va_arg(ap, const char *))
    g_ptr_array_add(argv, (gpointer)arg);
  va_end(ap);
  g_ptr_array_add(argv, NULL);
  joined = g_strjoinv(" ", (char **)argv->pdata + 1);
  env = g_environ_unsetenv(env, "G_MESSAGES_DEBUG");

  run_clear(run);
  g_spawn_sync(NULL, (char **)argv->pdata, env, G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL, &run->out,
               &run->err, &wait_status, &error);
  g_assert_no_error(error);
  if (!WIFEXITED(wait_status))
    g_error("'actr %s' died by a signal; stderr: %s", joined, run->err);
  run->status = WEXITSTATUS(wait_status);
  g_test_message("actr %s -> %d\nstdout: %s\nstderr: %s", joined, run->status, run->out, run->err);
}

/* Exit 1 (or 2) with exactly one "actr: " line on stderr containing
 * @fragment. */
static void
assert_failed(const Run *run, int status, const char *fragment)
{
  const char *newline = strchr(run->err, '\n');

  g_assert_cmpint(run->status, ==, status);
  g_assert_true(g_str_has_prefix(run->err, "actr: "));
  g_assert_nonnull(newline);
  g_assert_cmpstr(newline + 1, ==, "");
  if (fragment != NULL)
    g_assert_nonnull(strstr(run->err, fragment));
}

/* The "kind" of a failed `verify --json`. */
static void
assert_json_failure(const Run *run, const char *kind)
{
  g_autofree char *pattern = g_strdup_printf("\"kind\": \"%s\"", kind);

  g_assert_cmpint(run->status, ==, 1);
  g_assert_nonnull(strstr(run->out, "\"verified\": false"));
  g_assert_nonnull(strstr(run->out, pattern));
}

/* ---- Fixture: a temp directory with a key, its public key and a package ---- */

typedef struct {
  char *dir;
  char *key;     /* acme.key */
  char *pub;     /* acme.pub (JSON) */
  char *pub_b64; /* the public key's base64 */
  char *key_id;
  char *package; /* echo.actr */
} Fixture;

static char *
path_in(const Fixture *f, const char *name)
{
  return g_build_filename(f->dir, name, NULL);
}

static void
remove_tree(const char *path)
{
  g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
  const char *name;

  if (dir != NULL) {
    while ((name = g_dir_read_name(dir)) != NULL) {
      g_autofree char *child = g_build_filename(path, name, NULL);

      remove_tree(child);
    }
  }
  g_remove(path);
}

static void
fixture_set_up(Fixture *f, gconstpointer data)
{
  g_auto(Run) run = {0};
  g_autoptr(GError) error = NULL;
  guint8 pub[32];

  f->dir = g_dir_make_tmp("test-cli-package-XXXXXX", &error);
  g_assert_no_error(error);
  f->key = path_in(f, "acme.key");
  f->pub = path_in(f, "acme.pub");
  f->package = path_in(f, "echo.actr");
  run_actr(&run, "keygen", "--manufacturer", "acme", "-o", f->key, "--public-out", f->pub, "--json",
           NULL);
  g_assert_cmpint(run.status, ==, 0);
  g_assert_true(actr_mfr_public_key_load(f->pub, pub, &f->key_id, &error));
  g_assert_no_error(error);
  f->pub_b64 = g_base64_encode(pub, 32);
  g_assert_nonnull(strstr(run.out, f->pub_b64));
  run_actr(&run, "pack", "--workload", echo_path, "--key", f->key, "-o", f->package, NULL);
  g_assert_cmpint(run.status, ==, 0);
  g_assert_cmpstr(run.err, ==, "");
  g_assert_nonnull(strstr(run.out, "acme:echo:1.0.0"));
}

static void
fixture_tear_down(Fixture *f, gconstpointer data)
{
  remove_tree(f->dir);
  g_free(f->dir);
  g_free(f->key);
  g_free(f->pub);
  g_free(f->pub_b64);
  g_free(f->key_id);
  g_free(f->package);
}

/* ---- Tests ------------------------------------------------------------------------ */

static void
test_help(void)
{
  const char *commands[] = {"pack", "verify", "keygen"};

  for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
    g_auto(Run) run = {0};
    g_autofree char *usage = g_strdup_printf("actr %s", commands[i]);

    run_actr(&run, commands[i], "--help", NULL);
    g_assert_cmpint(run.status, ==, 0);
    g_assert_nonnull(strstr(run.out, usage));
    g_assert_nonnull(strstr(run.out, "EXIT STATUS"));
    run_actr(&run, "help", commands[i], NULL);
    g_assert_cmpint(run.status, ==, 0);
  }
  {
    g_auto(Run) run = {0};

    run_actr(&run, "--help", NULL);
    g_assert_nonnull(strstr(run.out, "actr pack     --workload"));
    g_assert_nonnull(strstr(run.out, "actr verify   PACKAGE"));
    g_assert_nonnull(strstr(run.out, "actr keygen   -o"));
  }
}

static void
test_usage_errors(Fixture *f, gconstpointer data)
{
  g_auto(Run) run = {0};
  g_autofree char *out = path_in(f, "x.actr");
  g_autofree char *k2 = path_in(f, "k2.key");

  run_actr(&run, "verify", f->package, NULL);
  assert_failed(&run, 2, "exactly one of --pubkey");
  run_actr(&run, "verify", f->package, "--pubkey", f->pub_b64, "--pubkey-file", f->pub, NULL);
  assert_failed(&run, 2, "exactly one of --pubkey");
  run_actr(&run, "verify", "--pubkey", f->pub_b64, NULL);
  assert_failed(&run, 2, "missing PACKAGE");
  run_actr(&run, "verify", f->package, "--pubkey", "AAAA", NULL);
  assert_failed(&run, 2, "--pubkey");
  run_actr(&run, "verify", f->package, "--mfr-url", "ftp://x", NULL);
  assert_failed(&run, 2, "--mfr-url");
  run_actr(&run, "pack", "--workload", echo_path, "--key", f->key, NULL);
  assert_failed(&run, 2, "missing -o");
  run_actr(&run, "pack", "--key", f->key, "-o", out, NULL);
  assert_failed(&run, 2, "missing --workload");
  run_actr(&run, "pack", "--workload", echo_path, "--key", f->key, "--type", "bad", "-o", out,
           NULL);
  assert_failed(&run, 2, "invalid --type");
  run_actr(&run, "pack", "--workload", echo_path, "--key", f->key, "-o", out, "--bogus", NULL);
  assert_failed(&run, 2, NULL);
  run_actr(&run, "keygen", NULL);
  assert_failed(&run, 2, "missing -o");
  run_actr(&run, "keygen", "-o", k2, "--key-id", "has space", NULL);
  assert_failed(&run, 2, "key id");
  g_assert_false(g_file_test(out, G_FILE_TEST_EXISTS));
  g_assert_false(g_file_test(k2, G_FILE_TEST_EXISTS));
}

static void
test_pack_and_verify(Fixture *f, gconstpointer data)
{
  g_auto(Run) run = {0};
  g_autofree char *again = path_in(f, "again.actr");
  g_autofree char *a = NULL, *b = NULL;
  gsize a_len = 0, b_len = 0;

  run_actr(&run, "verify", f->package, "--pubkey-file", f->pub, NULL);
  g_assert_cmpint(run.status, ==, 0);
  g_assert_cmpstr(run.err, ==, "");
  g_assert_nonnull(strstr(run.out, "verified"));
  g_assert_nonnull(strstr(run.out, "acme:echo:1.0.0"));

  run_actr(&run, "verify", f->package, "--pubkey", f->pub_b64, "--json", NULL);
  g_assert_cmpint(run.status, ==, 0);
  g_assert_nonnull(strstr(run.out, "\"verified\": true"));
  g_assert_nonnull(strstr(run.out, "\"type\": \"acme:echo:1.0.0\""));
  g_assert_nonnull(strstr(run.out, "\"path\": \"bin/libecho.so\""));
  g_assert_nonnull(strstr(run.out, f->key_id));

  /* Deterministic: packing again gives the same bytes. */
  run_actr(&run, "pack", "-w", echo_path, "-k", f->key, "-o", again, "--json", NULL);
  g_assert_cmpint(run.status, ==, 0);
  g_assert_nonnull(strstr(run.out, "\"sha256\": "));
  g_assert_true(g_file_get_contents(f->package, &a, &a_len, NULL));
  g_assert_true(g_file_get_contents(again, &b, &b_len, NULL));
  g_assert_cmpmem(a, a_len, b, b_len);

  /* keygen never replaces a key. */
  run_actr(&run, "keygen", "-o", f->key, NULL);
  assert_failed(&run, 1, "file exists");
}

static void
test_rejections(Fixture *f, gconstpointer data)
{
  g_auto(Run) run = {0};
  g_autofree char *other_key = path_in(f, "other.key");
  g_autofree char *other_pub = path_in(f, "other.pub");
  g_autofree char *tampered = path_in(f, "tampered.actr");
  g_autofree char *garbage = path_in(f, "garbage.actr");
  g_autofree char *arm = path_in(f, "arm.actr");
  g_autofree char *contents = NULL;
  gsize len = 0;
  char *hit;

  /* Wrong key: a signature error, naming both key ids. */
  run_actr(&run, "keygen", "-o", other_key, "--public-out", other_pub, NULL);
  g_assert_cmpint(run.status, ==, 0);
  run_actr(&run, "verify", f->package, "--pubkey-file", other_pub, NULL);
  assert_failed(&run, 1, "signature does not verify");
  g_assert_nonnull(strstr(run.err, f->key_id));
  run_actr(&run, "verify", f->package, "--pubkey-file", other_pub, "--json", NULL);
  assert_json_failure(&run, "signature");

  /* Tampered binary: a hash error. */
  g_assert_true(g_file_get_contents(f->package, &contents, &len, NULL));
  hit = memmem(contents, len, "echo.Echo.Echo", 14);
  g_assert_nonnull(hit);
  hit[0] ^= 0x20;
  g_assert_true(g_file_set_contents(tampered, contents, (gssize)len, NULL));
  run_actr(&run, "verify", tampered, "--pubkey-file", f->pub, NULL);
  assert_failed(&run, 1, "was modified");
  g_assert_nonnull(strstr(run.err, tampered));
  run_actr(&run, "verify", tampered, "--pubkey-file", f->pub, "--json", NULL);
  assert_json_failure(&run, "hash");

  /* Not a package at all: a format error. */
  g_assert_true(g_file_set_contents(garbage, "not a zip", -1, NULL));
  run_actr(&run, "verify", garbage, "--pubkey-file", f->pub, "--json", NULL);
  assert_json_failure(&run, "format");
  run_actr(&run, "verify", "/nonexistent.actr", "--pubkey-file", f->pub, NULL);
  assert_failed(&run, 1, "/nonexistent.actr");

  /* Another target: verifies with --any-target only. */
  run_actr(&run, "pack", "-w", echo_path, "-k", f->key, "--type", "acme:echo:1.0.0", "--target",
           g_str_has_prefix(actr_package_host_target(), "aarch64") ? "x86_64-unknown-linux-gnu"
                                                                   : "aarch64-unknown-linux-gnu",
           "-o", arm, NULL);
  g_assert_cmpint(run.status, ==, 0);
  run_actr(&run, "verify", arm, "--pubkey-file", f->pub, "--json", NULL);
  assert_json_failure(&run, "target");
  run_actr(&run, "verify", arm, "--pubkey-file", f->pub, "--any-target", NULL);
  g_assert_cmpint(run.status, ==, 0);

  /* A key of another manufacturer does not sign. */
  run_actr(&run, "pack", "-w", echo_path, "-k", f->key, "--type", "other:echo:1", "-o", arm, NULL);
  assert_failed(&run, 1, "manufacturer 'acme'");
}

static void
test_lock_file(Fixture *f, gconstpointer data)
{
  g_auto(Run) run = {0};
  g_autofree char *lock = path_in(f, "deps.toml");
  g_autofree char *bad = path_in(f, "bad.toml");
  g_autofree char *out = path_in(f, "locked.actr");

  g_assert_true(g_file_set_contents(lock,
                                    "[[dependency]]\nname = \"counter\"\n"
                                    "actr_type = \"acme:counter:1.0.0\"\n"
                                    "fingerprint = \"service_semantic:abc\"\n",
                                    -1, NULL));
  run_actr(&run, "pack", "-w", echo_path, "-k", f->key, "--lock", lock, "-o", out, NULL);
  g_assert_cmpint(run.status, ==, 0);
  run_actr(&run, "verify", out, "--pubkey-file", f->pub, "--json", NULL);
  g_assert_cmpint(run.status, ==, 0);
  g_assert_nonnull(strstr(run.out, "\"lock_dependencies\": 1"));

  g_assert_true(g_file_set_contents(bad, "[[dependency]]\nname = \"x\"\n", -1, NULL));
  run_actr(&run, "pack", "-w", echo_path, "-k", f->key, "--lock", bad, "-o", out, NULL);
  assert_failed(&run, 1, bad);
  g_assert_nonnull(strstr(run.err, "actr_type"));
}

/* A PACKAGE RegisterRequest carrying the package's manifest and signature. */
static GBytes *
package_register_request(const char *package_path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrPackage) p = actr_package_load(package_path, &error);
  const ActrPackageManifest *m;
  Actr__RegisterRequest req = ACTR__REGISTER_REQUEST__INIT;
  Actr__ActrType t = ACTR__ACTR_TYPE__INIT;
  Actr__Realm r = ACTR__REALM__INIT;
  GBytes *manifest, *sig;

  g_assert_no_error(error);
  m = actr_package_get_manifest(p);
  manifest = actr_package_get_manifest_raw(p);
  sig = actr_package_get_signature(p);
  t.manufacturer = m->manufacturer;
  t.name = m->name;
  t.version = m->version;
  r.realm_id = 1;
  req.actr_type = &t;
  req.realm = &r;
  req.has_manifest_raw = TRUE;
  req.manifest_raw.data = (guint8 *)g_bytes_get_data(manifest, &req.manifest_raw.len);
  req.has_mfr_signature = TRUE;
  req.mfr_signature.data = (guint8 *)g_bytes_get_data(sig, &req.mfr_signature.len);
  req.target = m->binary_target;
  req.has_auth_mode = TRUE;
  req.auth_mode = ACTR__REGISTER_AUTH_MODE__PACKAGE;
  return actr_proto_message_encode(&req.base);
}

static void
test_actrd(Fixture *f, gconstpointer data)
{
  g_autoptr(ActrdHarness) h = actrd_harness_new(actrd_path);
  g_auto(ActrdRun) admin = {0};
  g_auto(Run) run = {0};
  g_autofree char *ais = NULL;
  g_autofree char *rogue_key = path_in(f, "rogue.key");
  g_autofree char *rogue = path_in(f, "rogue.actr");

  actrd_harness_admin(h, &admin, "mfr", "add", "acme", "--key-id", f->key_id, "--public-key",
                      f->pub_b64, NULL);
  g_assert_cmpint(admin.exit_code, ==, 0);
  actrd_harness_start(h, "--dev", NULL);
  ais = g_strconcat(actrd_harness_url(h), "/ais", NULL);

  run_actr(&run, "verify", f->package, "--mfr-url", actrd_harness_url(h), NULL);
  g_assert_cmpint(run.status, ==, 0);
  g_assert_nonnull(strstr(run.out, "/mfr/acme/verifying_key?key_id="));
  run_actr(&run, "verify", f->package, "--mfr-url", ais, "--json", NULL);
  g_assert_cmpint(run.status, ==, 0);
  g_assert_nonnull(strstr(run.out, "\"verified\": true"));

  /* actrd accepts the package's exact manifest and signature (path 2). */
  {
    g_autoptr(GBytes) body = package_register_request(f->package);
    Actr__RegisterResponse *resp = actrd_harness_register(h, body, NULL);

    g_assert_cmpint(resp->result_case, ==, ACTR__REGISTER_RESPONSE__RESULT_SUCCESS);
    g_assert_cmpstr(resp->success->actr_id->type->name, ==, "echo");
    actr_proto_message_free(&resp->base);
  }

  /* A key actrd does not know: untrusted (404), for the CLI and for AIS. */
  run_actr(&run, "keygen", "-m", "acme", "-o", rogue_key, NULL);
  g_assert_cmpint(run.status, ==, 0);
  run_actr(&run, "pack", "-w", echo_path, "-k", rogue_key, "-o", rogue, NULL);
  g_assert_cmpint(run.status, ==, 0);
  run_actr(&run, "verify", rogue, "--mfr-url", actrd_harness_url(h), "--json", NULL);
  assert_json_failure(&run, "untrusted");
  {
    g_autoptr(GBytes) body = package_register_request(rogue);

    actrd_assert_register_error(actrd_harness_register(h, body, NULL), 403, NULL);
  }

  /* Revoked: untrusted from then on. */
  actrd_harness_admin(h, &admin, "mfr", "revoke", "acme", f->key_id, NULL);
  g_assert_cmpint(admin.exit_code, ==, 0);
  run_actr(&run, "verify", f->package, "--mfr-url", actrd_harness_url(h), NULL);
  assert_failed(&run, 1, "no trusted key");

  /* A server that is not there: a network error. */
  actrd_harness_stop(h);
  run_actr(&run, "verify", f->package, "--mfr-url", actrd_harness_url(h), "--json", NULL);
  assert_json_failure(&run, "network");
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  if (argc < 4) {
    g_printerr("usage: %s ACTR ACTRD ECHO_SO [--tap]\n", argv[0]);
    return 2;
  }
  actr_path = argv[1];
  actrd_path = argv[2];
  echo_path = argv[3];

  g_test_add_func("/cli-package/help", test_help);
  g_test_add("/cli-package/usage-errors", Fixture, NULL, fixture_set_up, test_usage_errors,
             fixture_tear_down);
  g_test_add("/cli-package/pack-verify", Fixture, NULL, fixture_set_up, test_pack_and_verify,
             fixture_tear_down);
  g_test_add("/cli-package/rejections", Fixture, NULL, fixture_set_up, test_rejections,
             fixture_tear_down);
  g_test_add("/cli-package/lock-file", Fixture, NULL, fixture_set_up, test_lock_file,
             fixture_tear_down);
  g_test_add("/cli-package/actrd", Fixture, NULL, fixture_set_up, test_actrd, fixture_tear_down);
  return g_test_run();
}
