/* Unit tests for the node configuration (src/core/config.c). */
#include <actr/config.h>

#include <glib/gstdio.h>

#include <string.h>
#include <unistd.h>

#define ORIGIN "test.toml"

/* The required keys plus an explicit trust anchor, so that only the
 * sections a test adds vary.  Four lines. */
#define BASE                                                                                       \
  "[signaling]\nurl = \"ws://sig.example:8081/signaling/ws\"\n"                                    \
  "[ais_endpoint]\nurl = \"http://sig.example:8081/ais\"\n"                                        \
  "[deployment]\nrealm_id = 7\n"                                                                   \
  "[hyper.trust]\nkind = \"dev_only\"\n"
#define BASE_LINES 8

static ActrConfig *
load_ok(const char *text)
{
  g_autoptr(GError) error = NULL;
  ActrConfig *config = actr_config_load_data(text, strlen(text), ORIGIN, &error);
  g_assert_no_error(error);
  g_assert_nonnull(config);
  return config;
}

/* Asserts that @text is rejected with @code and a message that starts with
 * "test.toml:LINE: " and contains @fragment. */
static void
assert_error(const char *text, gint code, guint line, const char *fragment)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrConfig) config = actr_config_load_data(text, strlen(text), ORIGIN, &error);
  g_autofree char *prefix = g_strdup_printf(ORIGIN ":%u: ", line);
  if (config != NULL)
    g_error("accepted: %s", text);
  g_assert_error(error, ACTR_CONFIG_ERROR, code);
  if (!g_str_has_prefix(error->message, prefix) || strstr(error->message, fragment) == NULL)
    g_error("input <<%s>>\ngot \"%s\", want prefix \"%s\" and \"%s\"", text, error->message, prefix,
            fragment);
}

static void
assert_invalid(const char *text, guint line, const char *fragment)
{
  assert_error(text, ACTR_CONFIG_ERROR_INVALID, line, fragment);
}

static void
assert_type(const ActrType *type, const char *m, const char *n, const char *v)
{
  g_assert_cmpstr(type->manufacturer, ==, m);
  g_assert_cmpstr(type->name, ==, n);
  g_assert_cmpstr(type->version, ==, v);
}

/* The minimal actr.toml of runtime.md §16.2, verbatim. */
static const char minimal_reference[] =
    "edition = 1\n"
    "[signaling]\n"
    "url = \"ws://host:8081/signaling/ws\"\n"
    "[ais_endpoint]\n"
    "url = \"http://host:8081/ais\"\n"
    "[deployment]\n"
    "realm_id = 1001\n"
    "realm_secret = \"...\"        # optional\n"
    "[websocket]                 # optional direct-connect server\n"
    "listen_port = 9001\n"
    "advertised_host = \"192.168.1.10\"\n"
    "[acl]\n"
    "rules = [ { permission = \"ALLOW\", type = \"acme:client:1.0.0\", realm = \"*\" } ]\n"
    "[hyper]\n"
    "data_dir = \"./actr-data\"   # relative to the working directory\n"
    "[hyper.trust]\n"
    "kind = \"dev_only\"\n";

static void
test_minimal_reference(void)
{
  g_autoptr(ActrConfig) config = load_ok(minimal_reference);
  g_assert_cmpint(config->edition, ==, 1);
  g_assert_cmpstr(config->origin, ==, ORIGIN);
  g_assert_null(config->config_dir);
  g_assert_cmpstr(config->signaling_url, ==, "ws://host:8081/signaling/ws");
  g_assert_cmpstr(config->ais_endpoint, ==, "http://host:8081/ais");
  g_assert_cmpuint(config->realm_id, ==, 1001);
  g_assert_cmpstr(config->realm_secret, ==, "...");
  g_assert_true(config->websocket.enabled);
  g_assert_cmpuint(config->websocket.listen_port, ==, 9001);
  g_assert_cmpstr(config->websocket.advertised_host, ==, "192.168.1.10");
  g_assert_true(config->acl_present);
  g_assert_cmpuint(config->n_acl_rules, ==, 1);
  g_assert_cmpint(config->acl_rules[0].permission, ==, ACTR_ACL_ALLOW);
  assert_type(&config->acl_rules[0].type, "acme", "client", "1.0.0");
  g_assert_cmpint(config->acl_rules[0].realm, ==, ACTR_ACL_REALM_ANY);
  g_assert_cmpuint(config->acl_rules[0].line, ==, 13);
  g_assert_cmpstr(config->hyper.data_dir, ==, "./actr-data");
  g_assert_cmpint(config->trust_source, ==, ACTR_TRUST_SOURCE_HYPER);
  g_assert_cmpuint(config->n_trust, ==, 1);
  g_assert_cmpint(config->trust[0].kind, ==, ACTR_TRUST_DEV_ONLY);
  g_assert_cmpuint(config->trust[0].line, ==, 16);
}

static void
test_defaults(void)
{
  static const char text[] = "[signaling]\nurl = \"wss://s\"\n"
                             "[ais_endpoint]\nurl = \"https://a\"\n"
                             "[deployment]\nrealm_id = 0\n";
  g_test_expect_message("actr-core", G_LOG_LEVEL_INFO, "*no trust anchor*dev_only*");
  g_autoptr(ActrConfig) config = load_ok(text);
  g_test_assert_expected_messages();

  g_assert_cmpint(config->edition, ==, 1);
  g_assert_null(config->package.name);
  g_assert_false(config->package.has_actr_type);
  g_assert_null(config->package.path);
  g_assert_cmpuint(config->realm_id, ==, 0);
  g_assert_null(config->realm_secret);
  g_assert_true(config->visible_in_discovery);
  g_assert_false(config->acl_present);
  g_assert_cmpuint(config->n_acl_rules, ==, 0);
  g_assert_null(config->storage.mailbox_path);
  g_assert_cmpint(config->storage.durability, ==, ACTR_DURABILITY_NORMAL);
  g_assert_cmpuint(config->storage.max_delivery_attempts, ==, 3);
  g_assert_cmpuint(config->storage.dedup_ttl_secs, ==, 600);
  g_assert_cmpuint(config->storage.dedup_max_entries, ==, 100000);
  g_assert_nonnull(config->webrtc.stun_urls);
  g_assert_null(config->webrtc.stun_urls[0]);
  g_assert_nonnull(config->webrtc.turn_urls);
  g_assert_null(config->webrtc.turn_urls[0]);
  g_assert_nonnull(config->webrtc.public_ips);
  g_assert_null(config->webrtc.public_ips[0]);
  g_assert_false(config->webrtc.force_relay);
  g_assert_true(config->webrtc.enabled);
  g_assert_nonnull(config->webrtc.host_addresses);
  g_assert_null(config->webrtc.host_addresses[0]);
  g_assert_false(config->webrtc.has_port_range);
  g_assert_cmpuint(config->webrtc.ice_host_acceptance_min_wait_ms, ==, 0);
  g_assert_cmpuint(config->webrtc.ice_srflx_acceptance_min_wait_ms, ==, 20);
  g_assert_cmpuint(config->webrtc.ice_prflx_acceptance_min_wait_ms, ==, 40);
  g_assert_cmpuint(config->webrtc.ice_relay_acceptance_min_wait_ms, ==, 100);
  g_assert_false(config->websocket.enabled);
  g_assert_cmpstr(config->websocket.advertised_host, ==, "127.0.0.1");
  g_assert_cmpstr(config->observability.filter_level, ==, "info");
  g_assert_false(config->observability.tracing_enabled);
  g_assert_cmpstr(config->observability.tracing_endpoint, ==, "http://localhost:4317");
  g_assert_cmpstr(config->observability.tracing_service_name, ==, "actr");
  g_assert_cmpint(config->trust_source, ==, ACTR_TRUST_SOURCE_DEFAULT);
  g_assert_cmpuint(config->n_trust, ==, 1);
  g_assert_cmpint(config->trust[0].kind, ==, ACTR_TRUST_DEV_ONLY);
  g_autofree char *data_dir = g_build_filename(g_get_home_dir(), ".actr", "hyper", NULL);
  g_assert_cmpstr(config->hyper.data_dir, ==, data_dir);
  g_assert_cmpstr(config->hyper.storage_path_template, ==, "{data_dir}/{actr_type}");
  g_assert_cmpuint(config->hyper.mailbox_backpressure_threshold, ==, 1024);
  g_assert_null(config->hyper.instance_id);
  g_assert_cmpuint(g_hash_table_size(config->scripts), ==, 0);
}

static void
test_every_key(void)
{
  static const char text[] =
      "edition = 1\n"
      "[package]\n"
      "name = \"echo-svc\"\n"
      "actr_type = \"acme:echo:1.0.0\"\n"
      "path = \"dist/echo.wasm\"\n"
      "[signaling]\n"
      "url = \"wss://sig.example/signaling/ws\"\n"
      "[ais_endpoint]\n"
      "url = \"https://sig.example/ais\"\n"
      "[deployment]\n"
      "realm_id = 4294967295\n"
      "realm_secret = \"\"\n"
      "ais_endpoint = \"http://unused\"\n"
      "[discovery]\n"
      "visible = false\n"
      "[storage]\n"
      "mailbox_path = \"/var/lib/actr/mbox.db\"\n"
      "durability = \"full\"\n"
      "max_delivery_attempts = 1\n"
      "dedup_ttl_secs = 30\n"
      "dedup_max_entries = 5\n"
      "[webrtc]\n"
      "stun_urls = [\"stun:stun.example:3478\", \"stuns:s2.example\"]\n"
      "turn_urls = [\"turn:turn.example:3478?transport=udp\", \"turns:t2.example\"]\n"
      "force_relay = true\n"
      "enabled = false\n"
      "host_addresses = [\"127.0.0.1\", \"10.0.0.2\"]\n"
      "port_range_start = 50000\n"
      "port_range_end = 50100\n"
      "public_ips = [\"203.0.113.7\", \"2001:db8::1\"]\n"
      "ice_host_acceptance_min_wait = 1\n"
      "ice_srflx_acceptance_min_wait = 2\n"
      "ice_prflx_acceptance_min_wait = 3\n"
      "ice_relay_acceptance_min_wait = 4\n"
      "[websocket]\n"
      "listen_port = 0\n"
      "[observability]\n"
      "filter_level = \"debug,actr=trace\"\n"
      "tracing_enabled = true\n"
      "tracing_endpoint = \"http://otel:4317\"\n"
      "[hyper]\n"
      "data_dir = \"/srv/actr\"\n"
      "storage_path_template = \"{data_dir}/{realm_id}/{actr_name}\"\n"
      "mailbox_backpressure_threshold = 10\n"
      "[hyper.trust]\n"
      "kind = \"registry\"\n"
      "endpoint = \"http://mfr.example:8081/ais\"\n"
      "[scripts]\n"
      "build = \"make\"\n"
      "count = 3\n"
      "[capabilities]\n"
      "anything = [1, \"x\"]\n"
      "[web]\n"
      "port = 8080\n"
      "host = \"0.0.0.0\"\n"
      "static_dir = \"public\"\n";
  g_autoptr(ActrConfig) config = load_ok(text);
  g_assert_cmpstr(config->package.name, ==, "echo-svc");
  g_assert_true(config->package.has_actr_type);
  assert_type(&config->package.actr_type, "acme", "echo", "1.0.0");
  g_assert_cmpstr(config->package.path, ==, "dist/echo.wasm");
  g_assert_cmpstr(config->signaling_url, ==, "wss://sig.example/signaling/ws");
  g_assert_cmpstr(config->ais_endpoint, ==, "https://sig.example/ais");
  g_assert_cmpuint(config->realm_id, ==, G_MAXUINT32);
  g_assert_cmpstr(config->realm_secret, ==, "");
  g_assert_false(config->visible_in_discovery);
  g_assert_cmpstr(config->storage.mailbox_path, ==, "/var/lib/actr/mbox.db");
  g_assert_cmpint(config->storage.durability, ==, ACTR_DURABILITY_FULL);
  g_assert_cmpuint(config->storage.max_delivery_attempts, ==, 1);
  g_assert_cmpuint(config->storage.dedup_ttl_secs, ==, 30);
  g_assert_cmpuint(config->storage.dedup_max_entries, ==, 5);
  g_assert_cmpuint(g_strv_length(config->webrtc.stun_urls), ==, 2);
  g_assert_cmpstr(config->webrtc.stun_urls[1], ==, "stuns:s2.example");
  g_assert_cmpuint(g_strv_length(config->webrtc.turn_urls), ==, 2);
  g_assert_cmpstr(config->webrtc.turn_urls[0], ==, "turn:turn.example:3478?transport=udp");
  g_assert_true(config->webrtc.force_relay);
  g_assert_false(config->webrtc.enabled);
  g_assert_cmpstr(config->webrtc.host_addresses[0], ==, "127.0.0.1");
  g_assert_cmpstr(config->webrtc.host_addresses[1], ==, "10.0.0.2");
  g_assert_null(config->webrtc.host_addresses[2]);
  g_assert_true(config->webrtc.has_port_range);
  g_assert_cmpuint(config->webrtc.port_range_start, ==, 50000);
  g_assert_cmpuint(config->webrtc.port_range_end, ==, 50100);
  g_assert_cmpuint(g_strv_length(config->webrtc.public_ips), ==, 2);
  g_assert_cmpstr(config->webrtc.public_ips[1], ==, "2001:db8::1");
  g_assert_cmpuint(config->webrtc.ice_host_acceptance_min_wait_ms, ==, 1);
  g_assert_cmpuint(config->webrtc.ice_srflx_acceptance_min_wait_ms, ==, 2);
  g_assert_cmpuint(config->webrtc.ice_prflx_acceptance_min_wait_ms, ==, 3);
  g_assert_cmpuint(config->webrtc.ice_relay_acceptance_min_wait_ms, ==, 4);
  g_assert_true(config->websocket.enabled);
  g_assert_cmpuint(config->websocket.listen_port, ==, 0);
  g_assert_cmpstr(config->websocket.advertised_host, ==, "127.0.0.1");
  g_assert_cmpstr(config->observability.filter_level, ==, "debug,actr=trace");
  g_assert_true(config->observability.tracing_enabled);
  g_assert_cmpstr(config->observability.tracing_endpoint, ==, "http://otel:4317");
  g_assert_cmpstr(config->observability.tracing_service_name, ==, "echo-svc");
  g_assert_cmpstr(config->hyper.data_dir, ==, "/srv/actr");
  g_assert_cmpstr(config->hyper.storage_path_template, ==, "{data_dir}/{realm_id}/{actr_name}");
  g_assert_cmpuint(config->hyper.storage_path_template_line, ==, 43);
  g_assert_cmpuint(config->hyper.mailbox_backpressure_threshold, ==, 10);
  g_assert_cmpint(config->trust_source, ==, ACTR_TRUST_SOURCE_HYPER);
  g_assert_cmpint(config->trust[0].kind, ==, ACTR_TRUST_REGISTRY);
  g_assert_cmpstr(config->trust[0].endpoint, ==, "http://mfr.example:8081/ais");
  g_assert_cmpuint(g_hash_table_size(config->scripts), ==, 1);
  g_assert_cmpstr(g_hash_table_lookup(config->scripts, "build"), ==, "make");
}

static void
test_acl_forms(void)
{
  static const char text[] =
      BASE "[acl]\n"
           "rules = [\n"
           "  { permission = \"ALLOW\", type = \"a:b:1\" },\n"
           "  { permission = \"allow\", type = \"a:b:2\", realm = \"self\" },\n"
           "  { permission = \"Deny\", type = \"c:d:3\", realm = \"*\" },\n"
           "  { permission = \"deny\", type = \"e:f:4\", realm = 42 },\n"
           "  { permission = \"ALLOW\", type = \"e:f:4\", realm = 0 },\n"
           "]\n";
  g_autoptr(ActrConfig) config = load_ok(text);
  g_assert_true(config->acl_present);
  g_assert_cmpuint(config->n_acl_rules, ==, 5);
  const ActrAclRule *r = config->acl_rules;
  g_assert_cmpint(r[0].permission, ==, ACTR_ACL_ALLOW);
  g_assert_cmpint(r[0].realm, ==, ACTR_ACL_REALM_SELF);
  g_assert_cmpuint(r[0].realm_id, ==, 7);
  assert_type(&r[0].type, "a", "b", "1");
  g_assert_cmpuint(r[0].line, ==, BASE_LINES + 3);
  g_assert_cmpint(r[1].permission, ==, ACTR_ACL_ALLOW);
  g_assert_cmpint(r[1].realm, ==, ACTR_ACL_REALM_SELF);
  g_assert_cmpuint(r[1].realm_id, ==, 7);
  g_assert_cmpint(r[2].permission, ==, ACTR_ACL_DENY);
  g_assert_cmpint(r[2].realm, ==, ACTR_ACL_REALM_ANY);
  g_assert_cmpint(r[3].permission, ==, ACTR_ACL_DENY);
  g_assert_cmpint(r[3].realm, ==, ACTR_ACL_REALM_ID);
  g_assert_cmpuint(r[3].realm_id, ==, 42);
  assert_type(&r[3].type, "e", "f", "4");
  g_assert_cmpint(r[4].realm, ==, ACTR_ACL_REALM_ID);
  g_assert_cmpuint(r[4].realm_id, ==, 0);

  /* [acl] with no rules, or an empty list: present with zero rules. */
  g_autoptr(ActrConfig) empty = load_ok(BASE "[acl]\n");
  g_assert_true(empty->acl_present);
  g_assert_cmpuint(empty->n_acl_rules, ==, 0);
  g_autoptr(ActrConfig) empty2 = load_ok(BASE "[acl]\nrules = []\n");
  g_assert_true(empty2->acl_present);
  g_assert_cmpuint(empty2->n_acl_rules, ==, 0);

  /* Rules written as an array of tables work too. */
  g_autoptr(ActrConfig) aot = load_ok(BASE "[[acl.rules]]\npermission = \"DENY\"\n"
                                           "type = \"x:y:z\"\nrealm = \"*\"\n");
  g_assert_cmpuint(aot->n_acl_rules, ==, 1);
  g_assert_cmpint(aot->acl_rules[0].permission, ==, ACTR_ACL_DENY);
  g_assert_cmpuint(aot->acl_rules[0].line, ==, BASE_LINES + 1);
}

static void
test_acl_errors(void)
{
  const guint l = BASE_LINES + 2;
  assert_invalid(BASE "[acl]\nrules = [{ permission = \"MAYBE\", type = \"a:b:1\" }]\n", l,
                 "[acl] rules[0].permission: must be \"ALLOW\" or \"DENY\", not \"MAYBE\"");
  assert_invalid(BASE "[acl]\nrules = [{ permission = 1, type = \"a:b:1\" }]\n", l,
                 "[acl] rules[0].permission: must be a string, not an integer");
  assert_invalid(BASE "[acl]\nrules = [{ type = \"a:b:1\" }]\n", l,
                 "[acl] rules[0].permission: missing required key");
  assert_invalid(BASE "[acl]\nrules = [{ permission = \"ALLOW\" }]\n", l,
                 "[acl] rules[0].type: missing required key");
  assert_invalid(BASE "[acl]\nrules = [\n{ permission = \"ALLOW\", type = \"a:b:1\" },\n"
                      "{ permission = \"ALLOW\", type = \"a:b\" }]\n",
                 l + 2, "[acl] rules[1].type: ");
  assert_invalid(BASE "[acl]\nrules = [{ permission = \"ALLOW\", type = 5 }]\n", l,
                 "[acl] rules[0].type: must be a string, not an integer");
  assert_invalid(BASE "[acl]\nrules = [{ permission = \"ALLOW\", type = \"a:b:1\", "
                      "realm = \"other\" }]\n",
                 l, "[acl] rules[0].realm: must be \"self\", \"*\" or a realm id");
  assert_invalid(BASE "[acl]\nrules = [{ permission = \"ALLOW\", type = \"a:b:1\", "
                      "realm = -1 }]\n",
                 l, "[acl] rules[0].realm: must be between 0 and 4294967295");
  assert_invalid(BASE "[acl]\nrules = [{ permission = \"ALLOW\", type = \"a:b:1\", "
                      "realm = 4294967296 }]\n",
                 l, "must be between 0 and 4294967295");
  assert_invalid(BASE "[acl]\nrules = [{ permission = \"ALLOW\", type = \"a:b:1\", "
                      "realm = 1.5 }]\n",
                 l, "[acl] rules[0].realm: must be");
  assert_invalid(BASE "[acl]\nrules = [\"ALLOW a:b:1\"]\n", l,
                 "[acl] rules[0]: must be a table, not a string");
  assert_invalid(BASE "[acl]\nrules = { permission = \"ALLOW\" }\n", l,
                 "[acl] rules: must be an array, not a table");
  assert_invalid("acl = true\n" BASE, 1, "acl: must be a table, not a boolean");
}

static void
test_missing_required(void)
{
  /* Missing sections: line 1. */
  assert_invalid("[ais_endpoint]\nurl = \"http://a\"\n[deployment]\nrealm_id = 1\n", 1,
                 "[signaling] url: missing required key");
  assert_invalid("[signaling]\nurl = \"ws://s\"\n[deployment]\nrealm_id = 1\n", 1,
                 "[ais_endpoint] url: missing required key");
  assert_invalid("[signaling]\nurl = \"ws://s\"\n[ais_endpoint]\nurl = \"http://a\"\n", 1,
                 "[deployment] realm_id: missing required key");
  assert_invalid("", 1, "[signaling] url: missing required key");
  /* Present sections without the key: the header's line. */
  assert_invalid("\n\n[signaling]\n# no url\n", 3, "[signaling] url: missing required key");
  assert_invalid("[signaling]\nurl = \"ws://s\"\n[ais_endpoint]\nurl = \"http://a\"\n"
                 "\n[deployment]\nrealm_secret = \"s\"\n",
                 6, "[deployment] realm_id: missing required key");
}

static void
test_wrong_types(void)
{
  const guint l = BASE_LINES + 2;
  assert_invalid("[signaling]\nurl = 5\n", 2, "[signaling] url: must be a string, not an integer");
  assert_invalid("[signaling]\nurl = \"ws://s\"\n[ais_endpoint]\nurl = \"http://a\"\n"
                 "[deployment]\nrealm_id = \"1001\"\n",
                 6, "[deployment] realm_id: must be an integer, not a string");
  assert_invalid("signaling = \"ws://x\"\n", 1, "signaling: must be a table, not a string");
  assert_invalid(BASE "[discovery]\nvisible = \"yes\"\n", l,
                 "[discovery] visible: must be a boolean, not a string");
  assert_invalid(BASE "[websocket]\nlisten_port = \"9001\"\n", l,
                 "[websocket] listen_port: must be an integer, not a string");
  assert_invalid(BASE "[websocket]\nlisten_port = 9001.0\n", l,
                 "[websocket] listen_port: must be an integer, not a float");
  assert_invalid(BASE "[webrtc]\nstun_urls = \"stun:x\"\n", l,
                 "[webrtc] stun_urls: must be an array, not a string");
  assert_invalid(BASE "[webrtc]\nstun_urls = [\"stun:x\",\n 5]\n", l + 1,
                 "[webrtc] stun_urls[1]: must be a string, not an integer");
  assert_invalid(BASE "[webrtc]\nforce_relay = 1\n", l, "[webrtc] force_relay: must be a boolean");
  assert_invalid(BASE "[storage]\nmax_delivery_attempts = \"3\"\n", l,
                 "[storage] max_delivery_attempts: must be an integer, not a string");
  assert_invalid(BASE "[hyper]\ndata_dir = [\"x\"]\n", l,
                 "[hyper] data_dir: must be a string, not an array");
  assert_invalid(BASE "[package]\nname = false\n", l, "[package] name: must be a string");
  assert_invalid(BASE "[observability]\ntracing_enabled = \"true\"\n", l,
                 "[observability] tracing_enabled: must be a boolean");
  /* Top-level keys go before BASE (after it they would belong to [hyper.trust]). */
  assert_invalid("edition = \"1\"\n" BASE, 1, "edition: must be an integer, not a string");
  assert_invalid("edition = 2\n" BASE, 1, "edition: unsupported edition 2");
  assert_invalid(BASE "[deployment.ais_endpoint]\n", BASE_LINES + 1,
                 "[deployment] ais_endpoint: must be a string, not a table");
}

static void
test_ranges_and_values(void)
{
  const guint l = BASE_LINES + 2;
  assert_invalid("[signaling]\nurl = \"ws://s\"\n[ais_endpoint]\nurl = \"http://a\"\n"
                 "[deployment]\nrealm_id = -1\n",
                 6, "[deployment] realm_id: must be between 0 and 4294967295");
  assert_invalid("[signaling]\nurl = \"ws://s\"\n[ais_endpoint]\nurl = \"http://a\"\n"
                 "[deployment]\nrealm_id = 4294967296\n",
                 6, "must be between 0 and 4294967295");
  assert_invalid(BASE "[websocket]\nlisten_port = 65536\n", l,
                 "[websocket] listen_port: must be between 0 and 65535");
  assert_invalid(BASE "[websocket]\nadvertised_host = \"\"\n", l,
                 "[websocket] advertised_host: must not be empty");
  assert_invalid(BASE "[webrtc]\nport_range_start = 6000\nport_range_end = 6000\n", l + 1,
                 "[webrtc] port_range_end: must be greater than port_range_start (6000)");
  assert_invalid(BASE "[webrtc]\nport_range_start = 7000\nport_range_end = 6000\n", l + 1,
                 "must be greater than port_range_start");
  assert_invalid(BASE "[webrtc]\nport_range_start = 6000\n", l, "[webrtc] port_range_end: missing");
  assert_invalid(BASE "[webrtc]\nport_range_end = 6000\n", l, "[webrtc] port_range_start: missing");
  assert_invalid(BASE "[webrtc]\nport_range_start = 0\nport_range_end = 10\n", l,
                 "[webrtc] port_range_start: must be between 1 and 65535");
  assert_invalid(BASE "[webrtc]\nstun_urls = [\"turn:x\"]\n", l,
                 "[webrtc] stun_urls[0]: must start with \"stun:\" or \"stuns:\"");
  assert_invalid(BASE "[webrtc]\nturn_urls = [\"stun:x\"]\n", l,
                 "[webrtc] turn_urls[0]: must start with \"turn:\" or \"turns:\"");
  assert_invalid(BASE "[webrtc]\npublic_ips = [\"example.com\"]\n", l,
                 "[webrtc] public_ips[0]: must be an IPv4 or IPv6 address");
  assert_invalid(BASE "[webrtc]\nhost_addresses = [\"127.0.0.1\", \"::1\"]\n", l,
                 "[webrtc] host_addresses[1]: must be an IPv4 address");
  assert_invalid(BASE "[webrtc]\npublic_ips = [\"\"]\n", l,
                 "[webrtc] public_ips[0]: must not be empty");
  assert_invalid(BASE "[webrtc]\nice_relay_acceptance_min_wait = -5\n", l,
                 "[webrtc] ice_relay_acceptance_min_wait: must be between 0 and");
  assert_invalid(BASE "[storage]\nmax_delivery_attempts = 0\n", l,
                 "[storage] max_delivery_attempts: must be between 1 and 4294967295");
  assert_invalid(BASE "[storage]\ndedup_ttl_secs = 0\n", l, "[storage] dedup_ttl_secs: must be");
  assert_invalid(BASE "[storage]\ndedup_max_entries = 0\n", l,
                 "[storage] dedup_max_entries: must be");
  assert_invalid(BASE "[hyper]\nmailbox_backpressure_threshold = 0\n", l,
                 "[hyper] mailbox_backpressure_threshold: must be between 1 and");
  assert_invalid(BASE "[package]\nactr_type = \"acme:echo\"\n", l, "[package] actr_type: ");
  assert_invalid(BASE "[package]\nname = \"\"\n", l, "[package] name: must not be empty");
  /* URLs: scheme and host are checked; the URL is not quoted. */
  assert_invalid("[signaling]\nurl = \"http://s/x\"\n", 2,
                 "[signaling] url: not a valid ws:// or wss:// URL");
  assert_invalid("[signaling]\nurl = \"not a url\"\n", 2, "[signaling] url: not a valid");
  assert_invalid("[signaling]\nurl = \"ws:///path-only\"\n", 2, "[signaling] url: not a valid");
  assert_invalid("[signaling]\nurl = \"ws://s\"\n[ais_endpoint]\nurl = \"ws://a\"\n", 4,
                 "[ais_endpoint] url: not a valid http:// or https:// URL");
  /* Upper-case schemes are fine. */
  g_autoptr(ActrConfig) upper = load_ok("[signaling]\nurl = \"WSS://S\"\n[ais_endpoint]\n"
                                        "url = \"HTTPS://A\"\n[deployment]\nrealm_id = 1\n"
                                        "[hyper.trust]\nkind = \"dev_only\"\n");
  g_assert_cmpstr(upper->signaling_url, ==, "WSS://S");
}

static void
test_durability(void)
{
  g_autoptr(ActrConfig) normal = load_ok(BASE "[storage]\ndurability = \"normal\"\n");
  g_assert_cmpint(normal->storage.durability, ==, ACTR_DURABILITY_NORMAL);
  g_autoptr(ActrConfig) full = load_ok(BASE "[storage]\ndurability = \"full\"\n");
  g_assert_cmpint(full->storage.durability, ==, ACTR_DURABILITY_FULL);
  assert_invalid(BASE "[storage]\ndurability = \"FULL\"\n", BASE_LINES + 2,
                 "[storage] durability: must be \"normal\" or \"full\", not \"FULL\"");
  assert_invalid(BASE "[storage]\ndurability = \"off\"\n", BASE_LINES + 2,
                 "must be \"normal\" or \"full\"");
  assert_invalid(BASE "[storage]\ndurability = true\n", BASE_LINES + 2,
                 "[storage] durability: must be a string, not a boolean");
}

static void
test_trust(void)
{
  /* 32 zero bytes in base64. */
  const char *key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  g_autofree char *text = g_strdup_printf(BASE "[[trust]]\nkind = \"static\"\npubkey_b64 = \"%s\"\n"
                                               "[[trust]]\nkind = \"static\"\n"
                                               "pubkey_file = \"keys/mfr.json\"\n"
                                               "[[trust]]\nkind = \"registry\"\n"
                                               "endpoint = \"https://mfr.example/ais\"\n",
                                          key);
  /* BASE has [hyper.trust]: the [[trust]] entries are checked but unused. */
  g_test_expect_message("actr-core", G_LOG_LEVEL_MESSAGE, "*[[trust]] entries ignored*");
  g_autoptr(ActrConfig) both = load_ok(text);
  g_test_assert_expected_messages();
  g_assert_cmpint(both->trust_source, ==, ACTR_TRUST_SOURCE_HYPER);
  g_assert_cmpuint(both->n_trust, ==, 1);

  /* Without [hyper.trust]: the chain, in order. */
  const char *base_no_trust = "[signaling]\nurl = \"ws://s\"\n[ais_endpoint]\n"
                              "url = \"http://a\"\n[deployment]\nrealm_id = 1\n";
  g_autofree char *chain_text = g_strconcat(base_no_trust, strstr(text, "[[trust]]"), NULL);
  g_autoptr(ActrConfig) chain = load_ok(chain_text);
  g_assert_cmpint(chain->trust_source, ==, ACTR_TRUST_SOURCE_ARRAY);
  g_assert_cmpuint(chain->n_trust, ==, 3);
  g_assert_cmpint(chain->trust[0].kind, ==, ACTR_TRUST_STATIC);
  g_assert_cmpstr(chain->trust[0].pubkey_b64, ==, key);
  g_assert_null(chain->trust[0].pubkey_file);
  g_assert_cmpuint(chain->trust[0].line, ==, 7);
  g_assert_cmpstr(chain->trust[1].pubkey_file, ==, "keys/mfr.json");
  g_assert_cmpint(chain->trust[2].kind, ==, ACTR_TRUST_REGISTRY);
  g_assert_cmpstr(chain->trust[2].endpoint, ==, "https://mfr.example/ais");

  /* [hyper.trust] static. */
  g_autofree char *hyper_static = g_strdup_printf(
      "%s[hyper.trust]\nkind = \"static\"\npubkey_b64 = \"%s\"\n", base_no_trust, key);
  g_autoptr(ActrConfig) hs = load_ok(hyper_static);
  g_assert_cmpint(hs->trust[0].kind, ==, ACTR_TRUST_STATIC);

  /* Errors. */
  g_autofree char *t1 = g_strconcat(base_no_trust, "[hyper.trust]\nkind = \"magic\"\n", NULL);
  assert_invalid(t1, 8, "[hyper.trust] kind: must be \"dev_only\", \"static\" or \"registry\"");
  g_autofree char *t2 = g_strconcat(base_no_trust, "[hyper.trust]\nother = 1\n", NULL);
  g_test_expect_message("actr-core", G_LOG_LEVEL_WARNING, "*[hyper.trust] unknown key other*");
  assert_invalid(t2, 7, "[hyper.trust] kind: missing required key");
  g_test_assert_expected_messages();
  g_autofree char *t3 = g_strconcat(base_no_trust, "[[trust]]\nkind = \"dev_only\"\n", NULL);
  assert_invalid(t3, 8, "[[trust]] kind: must be \"static\" or \"registry\"");
  g_autofree char *t4 = g_strconcat(base_no_trust, "[hyper.trust]\nkind = \"static\"\n", NULL);
  assert_invalid(t4, 7, "needs exactly one of pubkey_file or pubkey_b64");
  g_autofree char *t5 = g_strdup_printf("%s[hyper.trust]\nkind = \"static\"\npubkey_b64 = \"%s\"\n"
                                        "pubkey_file = \"k.json\"\n",
                                        base_no_trust, key);
  assert_invalid(t5, 7, "needs exactly one of pubkey_file or pubkey_b64");
  g_autofree char *t6 =
      g_strconcat(base_no_trust, "[hyper.trust]\nkind = \"static\"\npubkey_b64 = \"AAAA\"\n", NULL);
  assert_invalid(t6, 9, "[hyper.trust] pubkey_b64: must be the base64 encoding of a 32-byte key");
  g_autofree char *t7 = g_strconcat(base_no_trust, "[hyper.trust]\nkind = \"registry\"\n", NULL);
  assert_invalid(t7, 7, "[hyper.trust] endpoint: missing");
  g_autofree char *t8 = g_strconcat(
      base_no_trust, "[hyper.trust]\nkind = \"registry\"\nendpoint = \"ftp://x\"\n", NULL);
  assert_invalid(t8, 9, "[hyper.trust] endpoint: not a valid http:// or https:// URL");
  g_autofree char *t9 = g_strconcat("trust = [1]\n", base_no_trust, NULL);
  assert_invalid(t9, 1, "trust[0]: must be a table, not an integer");
  g_autofree char *t10 = g_strconcat(base_no_trust, "[trust]\nkind = \"static\"\n", NULL);
  assert_invalid(t10, 7, "trust: must be an array, not a table");

  /* Keys that do not apply to the kind are ignored with a warning. */
  g_autofree char *t11 = g_strconcat(
      base_no_trust, "[hyper.trust]\nkind = \"dev_only\"\nendpoint = \"http://x\"\n", NULL);
  g_test_expect_message("actr-core", G_LOG_LEVEL_WARNING,
                        "*[hyper.trust] endpoint is ignored for kind \"dev_only\"*");
  g_autoptr(ActrConfig) ignored = load_ok(t11);
  g_test_assert_expected_messages();
  g_assert_null(ignored->trust[0].endpoint);
}

static void
test_unknown_keys(void)
{
  /* Warnings come section by section, the root first. */
  g_test_expect_message("actr-core", G_LOG_LEVEL_WARNING,
                        "test.toml:1: unknown key colour ignored");
  g_test_expect_message("actr-core", G_LOG_LEVEL_WARNING,
                        "test.toml:11: unknown section [dependencies] ignored");
  g_test_expect_message("actr-core", G_LOG_LEVEL_WARNING,
                        "test.toml:4: [signaling] unknown key timeout ignored");
  g_test_expect_message("actr-core", G_LOG_LEVEL_WARNING,
                        "test.toml:14: [acl] rules[0] unknown key note ignored");
  g_test_expect_message("actr-core", G_LOG_LEVEL_WARNING,
                        "test.toml:16: [storage] unknown key \"odd key\" ignored");
  g_autoptr(ActrConfig) config =
      load_ok("colour = \"blue\"\n"
              "[signaling]\nurl = \"ws://s\"\ntimeout = 5\n"
              "[ais_endpoint]\nurl = \"http://a\"\n"
              "[deployment]\nrealm_id = 1\n"
              "[hyper.trust]\nkind = \"dev_only\"\n"
              "[dependencies]\necho = \"x\"\n"
              "[acl]\nrules = [{permission = \"ALLOW\", type = \"a:b:1\", note = 1}]\n"
              "[storage]\n\"odd key\" = 1\n");
  g_test_assert_expected_messages();
  g_assert_cmpuint(config->n_acl_rules, ==, 1);
}

static ActrType
make_type(const char *m, const char *n, const char *v)
{
  ActrType type = {g_strdup(m), g_strdup(n), g_strdup(v)};
  return type;
}

static void
test_storage_dir(void)
{
  g_autoptr(ActrConfig) config =
      load_ok(BASE "[hyper]\ndata_dir = \"/data\"\n"
                   "storage_path_template = \"{data_dir}/{hostname}/{manufacturer}/{actr_name}/"
                   "{version}/{actr_type}/{realm_id}/{instance_id}/{env.ACTR_TEST_VAR}\"\n");
  g_auto(ActrType) type = make_type("acme", "echo", "1.0.0");
  g_setenv("ACTR_TEST_VAR", "from-env", TRUE);

  g_autoptr(GError) error = NULL;
  g_autofree char *dir = actr_config_storage_dir(config, &type, &error);
  g_assert_no_error(error);
  g_autofree char *want =
      g_strdup_printf("/data/%s/acme/echo/1.0.0/acme/echo/1.0.0/7//from-env", g_get_host_name());
  g_assert_cmpstr(dir, ==, want);

  config->hyper.instance_id = g_strdup("uid-1");
  g_autofree char *dir2 = actr_config_storage_dir(config, &type, &error);
  g_assert_no_error(error);
  g_assert_true(g_str_has_suffix(dir2, "/7/uid-1/from-env"));

  /* Unset environment variable: an error with the template's line. */
  g_unsetenv("ACTR_TEST_VAR");
  g_autofree char *none = actr_config_storage_dir(config, &type, &error);
  g_assert_null(none);
  g_assert_error(error, ACTR_CONFIG_ERROR, ACTR_CONFIG_ERROR_INVALID);
  g_assert_cmpstr(error->message, ==,
                  "test.toml:11: [hyper] storage_path_template: unresolved variable "
                  "{env.ACTR_TEST_VAR}: not set in the environment");
  g_clear_error(&error);

  /* The default template and mailbox path. */
  g_autoptr(ActrConfig) def = load_ok(BASE "[hyper]\ndata_dir = \"rel/dir\"\n");
  g_autofree char *d = actr_config_storage_dir(def, &type, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(d, ==, "rel/dir/acme/echo/1.0.0");
  g_autofree char *mbox = actr_config_mailbox_path(def, &type, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(mbox, ==, "rel/dir/acme/echo/1.0.0/mailbox.db");

  /* mailbox_path wins, without needing a type. */
  g_autoptr(ActrConfig) explicit_mbox = load_ok(BASE "[storage]\nmailbox_path = \"/m/box.db\"\n");
  g_autofree char *m2 = actr_config_mailbox_path(explicit_mbox, NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(m2, ==, "/m/box.db");

  /* NULL type: [package] actr_type, or an error. */
  g_autoptr(ActrConfig) pkg =
      load_ok(BASE "[package]\nactr_type = \"m:n:v\"\n[hyper]\ndata_dir = \"/d\"\n");
  g_autofree char *p = actr_config_storage_dir(pkg, NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(p, ==, "/d/m/n/v");
  g_autofree char *q = actr_config_storage_dir(def, NULL, &error);
  g_assert_null(q);
  g_assert_error(error, ACTR_CONFIG_ERROR, ACTR_CONFIG_ERROR_INVALID);
  g_assert_true(strstr(error->message, "no actor type") != NULL);
  g_clear_error(&error);
  g_autofree char *q2 = actr_config_mailbox_path(def, NULL, &error);
  g_assert_null(q2);
  g_assert_error(error, ACTR_CONFIG_ERROR, ACTR_CONFIG_ERROR_INVALID);
  g_clear_error(&error);

  /* A type field that cannot be a path component. */
  g_auto(ActrType) slashy = make_type("acme", "echo", "1.0/../../x");
  g_autofree char *bad = actr_config_storage_dir(def, &slashy, &error);
  g_assert_null(bad);
  g_assert_error(error, ACTR_CONFIG_ERROR, ACTR_CONFIG_ERROR_INVALID);
  g_assert_true(strstr(error->message, "not usable in a path") != NULL);
  g_clear_error(&error);

  /* "~/" is expanded in data_dir and mailbox_path. */
  g_autoptr(ActrConfig) home =
      load_ok(BASE "[hyper]\ndata_dir = \"~/x\"\n[storage]\nmailbox_path = \"~/m.db\"\n");
  g_autofree char *hx = g_build_filename(g_get_home_dir(), "x", NULL);
  g_autofree char *hm = g_build_filename(g_get_home_dir(), "m.db", NULL);
  g_assert_cmpstr(home->hyper.data_dir, ==, hx);
  g_assert_cmpstr(home->storage.mailbox_path, ==, hm);
}

static void
test_storage_template_errors(void)
{
  /* Unknown variables and syntax errors are found at load time. */
  const guint l = BASE_LINES + 2;
  assert_invalid(BASE "[hyper]\nstorage_path_template = \"{data_dir}/{nope}\"\n", l,
                 "[hyper] storage_path_template: unknown variable {nope}");
  assert_invalid(BASE "[hyper]\nstorage_path_template = \"{data_dir}/{actr_type\"\n", l,
                 "[hyper] storage_path_template: unterminated '{'");
  assert_invalid(BASE "[hyper]\nstorage_path_template = \"{}\"\n", l, "unknown variable {}");
  assert_invalid(BASE "[hyper]\nstorage_path_template = \"{env.}\"\n", l,
                 "unknown variable {env.}");
  assert_invalid(BASE "[hyper]\nstorage_path_template = \"\"\n", l, "must not be empty");
}

static void
test_secrets_never_shown(void)
{
  const char *secret = "S3cr3tV4lue";
  const char *key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  const char *base = "[signaling]\nurl = \"ws://s\"\n[ais_endpoint]\nurl = \"http://a\"\n";
  const char *templates[] = {
      /* TOML errors inside and around the secret. */
      "%s[deployment]\nrealm_id = 1\nrealm_secret = \"%s\\q\"\n",
      "%s[deployment]\nrealm_id = 1\nrealm_secret = \"%s\x01\"\n",
      "%s[deployment]\nrealm_id = 1\nrealm_secret = \"%s\n",
      "%s[deployment]\nrealm_id = 1\nrealm_secret = %s\n",
      "%s[deployment]\nrealm_id = 1\nrealm_secret = \"%s\" junk\n",
      "%s[deployment]\nrealm_id = 1\nrealm_secret = \"%s\"\nrealm_secret = \"%s\"\n",
      /* Configuration errors next to the secret. */
      "%s[deployment]\nrealm_id = \"x\"\nrealm_secret = \"%s\"\n",
      "%s[deployment]\nrealm_id = 1\nrealm_secret = [\"%s\"]\n",
      "%s[deployment]\nrealm_secret = \"%s\"\n",
      "%s[deployment]\nrealm_id = 1\n[hyper.trust]\nkind = \"static\"\npubkey_b64 = \"%s\"\n",
      "%s[deployment]\nrealm_id = 1\n[hyper.trust]\nkind = \"static\"\npubkey_b64 = \"%s%%\"\n",
      ("%s[deployment]\nrealm_id = 1\n[hyper.trust]\nkind = \"static\"\npubkey_b64 = \"%s\"\n"
       "pubkey_file = \"x\"\n"),
  };
  for (guint i = 0; i < G_N_ELEMENTS(templates); i++) {
    const char *value = i == 10 ? key : secret;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    g_autofree char *text = g_strdup_printf(templates[i], base, value, value);
#pragma GCC diagnostic pop
    g_autoptr(GError) error = NULL;
    g_autoptr(ActrConfig) config = actr_config_load_data(text, strlen(text), ORIGIN, &error);
    g_assert_null(config);
    g_assert_nonnull(error);
    if (strstr(error->message, secret) != NULL || strstr(error->message, "AAAAAAAA") != NULL)
      g_error("secret leaked: %s", error->message);
  }
}

static void
test_load_file(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp("actr-config-XXXXXX", &error);
  g_assert_no_error(error);
  g_autofree char *path = g_build_filename(dir, "actr.toml", NULL);
  g_assert_true(g_file_set_contents(path, minimal_reference, -1, &error));
  g_autoptr(ActrConfig) config = actr_config_load_file(path, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(config->origin, ==, path);
  g_assert_cmpstr(config->config_dir, ==, dir);
  g_assert_cmpuint(config->realm_id, ==, 1001);

  /* Messages name the file as given. */
  g_assert_true(g_file_set_contents(path, "[signaling]\nurl = 1\n", -1, &error));
  g_autoptr(ActrConfig) bad = actr_config_load_file(path, &error);
  g_assert_null(bad);
  g_assert_error(error, ACTR_CONFIG_ERROR, ACTR_CONFIG_ERROR_INVALID);
  g_autofree char *prefix = g_strdup_printf("%s:2: [signaling] url:", path);
  g_assert_true(g_str_has_prefix(error->message, prefix));
  g_clear_error(&error);

  g_assert_true(g_file_set_contents(path, "[signaling\n", -1, &error));
  g_autoptr(ActrConfig) bad2 = actr_config_load_file(path, &error);
  g_assert_null(bad2);
  g_assert_error(error, ACTR_CONFIG_ERROR, ACTR_CONFIG_ERROR_PARSE);
  g_clear_error(&error);

  g_unlink(path);
  g_autoptr(ActrConfig) missing = actr_config_load_file(path, &error);
  g_assert_null(missing);
  g_assert_error(error, ACTR_CONFIG_ERROR, ACTR_CONFIG_ERROR_IO);
  g_assert_true(g_str_has_prefix(error->message, path));
  g_clear_error(&error);

  g_autoptr(ActrConfig) directory = actr_config_load_file(dir, &error);
  g_assert_null(directory);
  g_assert_error(error, ACTR_CONFIG_ERROR, ACTR_CONFIG_ERROR_IO);
  g_rmdir(dir);
}

static void
test_parse_errors_are_parse(void)
{
  assert_error(BASE "realm = 1979-05-27\n", ACTR_CONFIG_ERROR_PARSE, BASE_LINES + 1,
               "dates and times are not supported");
  assert_error(BASE "[deployment]\n", ACTR_CONFIG_ERROR_PARSE, BASE_LINES + 1, "defined twice");
  /* NULL origin and NULL error are allowed. */
  g_assert_null(actr_config_load_data("x", 1, NULL, NULL));
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrConfig) config = actr_config_load_data("x", 1, NULL, &error);
  g_assert_null(config);
  g_assert_true(g_str_has_prefix(error->message, "<config>:1: "));
}

static void
test_store_options(void)
{
  static const char text[] = "[signaling]\nurl = \"ws://127.0.0.1:8081/signaling/ws\"\n"
                             "[ais_endpoint]\nurl = \"http://127.0.0.1:8081/ais\"\n"
                             "[deployment]\nrealm_id = 1\n"
                             "[storage]\ndurability = \"full\"\nmax_delivery_attempts = 5\n"
                             "dedup_ttl_secs = 30\ndedup_max_entries = 7\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(ActrConfig) config = actr_config_load_data(text, sizeof text - 1, "t.toml", &error);
  g_assert_no_error(error);
  ActrStoreOptions options;
  actr_config_get_store_options(config, &options);
  g_assert_cmpint(options.durability, ==, ACTR_STORE_DURABILITY_FULL);
  g_assert_cmpuint(options.max_delivery_attempts, ==, 5);
  g_assert_cmpuint(options.dedup_ttl_ms, ==, 30000);
  g_assert_cmpuint(options.dedup_max_entries, ==, 7);
  g_assert_false(options.read_only);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/config/minimal-reference", test_minimal_reference);
  g_test_add_func("/config/defaults", test_defaults);
  g_test_add_func("/config/every-key", test_every_key);
  g_test_add_func("/config/acl/forms", test_acl_forms);
  g_test_add_func("/config/acl/errors", test_acl_errors);
  g_test_add_func("/config/errors/missing-required", test_missing_required);
  g_test_add_func("/config/errors/wrong-types", test_wrong_types);
  g_test_add_func("/config/errors/ranges-and-values", test_ranges_and_values);
  g_test_add_func("/config/errors/parse", test_parse_errors_are_parse);
  g_test_add_func("/config/durability", test_durability);
  g_test_add_func("/config/trust", test_trust);
  g_test_add_func("/config/unknown-keys", test_unknown_keys);
  g_test_add_func("/config/storage-dir", test_storage_dir);
  g_test_add_func("/config/storage-dir/template-errors", test_storage_template_errors);
  g_test_add_func("/config/secrets-never-shown", test_secrets_never_shown);
  g_test_add_func("/config/load-file", test_load_file);
  g_test_add_func("/config/store-options", test_store_options);
  return g_test_run();
}
