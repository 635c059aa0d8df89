/* Corpus replay driver: runs LLVMFuzzerTestOneInput once per file, so that
 * every committed fuzz input is exercised by `make test` without libFuzzer
 * (and under ASan/UBSan in the sanitizer build).
 *
 * Usage: fuzz-NAME-replay PATH...  (files, or directories read one level).
 * Exits 0 when every input ran without crashing, 1 on an unreadable path or
 * when no input was found. */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gboolean
run_file(const char *path, guint *count)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr(GError) error = NULL;
  if (!g_file_get_contents(path, &data, &len, &error)) {
    fprintf(stderr, "replay: %s\n", error->message);
    return FALSE;
  }
  LLVMFuzzerTestOneInput((const uint8_t *)data, len);
  (*count)++;
  return TRUE;
}

int
main(int argc, char **argv)
{
  guint count = 0;
  for (int i = 1; i < argc; i++) {
    if (g_file_test(argv[i], G_FILE_TEST_IS_DIR)) {
      g_autoptr(GError) error = NULL;
      g_autoptr(GDir) dir = g_dir_open(argv[i], 0, &error);
      if (dir == NULL) {
        fprintf(stderr, "replay: %s\n", error->message);
        return 1;
      }
      const char *name;
      while ((name = g_dir_read_name(dir)) != NULL) {
        g_autofree char *path = g_build_filename(argv[i], name, NULL);
        if (g_file_test(path, G_FILE_TEST_IS_REGULAR) && !run_file(path, &count))
          return 1;
      }
    } else if (!run_file(argv[i], &count)) {
      return 1;
    }
  }
  if (count == 0) {
    fprintf(stderr, "replay: no inputs found\n");
    return 1;
  }
  printf("replayed %u inputs\n", count);
  return 0;
}
