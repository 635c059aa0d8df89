/* actrd — the server object.  Contract: actrd-server.h. */
#include "actrd-server.h"

#include <errno.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <actr/identity.h>
#include <actr/version.h>

#include "actrd-ais.h"
#include "actrd-signaling.h"

#define ADMIN_TOKEN_FILE  "admin.token"
#define LISTEN_BACKLOG    4096 /* the kernel caps it at net.core.somaxconn */
#define KEY_CHECK_SECS    60
#define DEV_REALM         1
#define PENDING_MAX_AGE_S (12 * 3600)

gint64
actrd_now(void)
{
  return g_get_real_time() / G_USEC_PER_SEC;
}

/* ---- admin token ------------------------------------------------------------ */

char *
actrd_admin_token_load(const char *data_dir, GError **error)
{
  g_autofree char *path = g_build_filename(data_dir, ADMIN_TOKEN_FILE, NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *token = NULL;
  g_autofree char *line = NULL;
  int fd;
  gboolean ok;

  if (g_file_get_contents(path, &contents, NULL, &local)) {
    g_strstrip(contents);
    if (contents[0] == '\0') {
      g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_CONFIG, "%s: empty admin token file", path);
      return NULL;
    }
    return g_steal_pointer(&contents);
  }
  if (!g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
    g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_DB, "%s", local->message);
    return NULL;
  }
  /* "rs_" + 24 random bytes from OpenSSL's CSPRNG, relabelled. */
  token = actr_realm_secret_generate();
  line = g_strdup_printf("adm_%s\n", token + 3);
  fd = g_open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    int saved = errno;
    g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_DB, "%s: %s", path, g_strerror(saved));
    return NULL;
  }
  ok = write(fd, line, strlen(line)) == (gssize)strlen(line) && fsync(fd) == 0;
  close(fd);
  if (!ok) {
    g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_DB, "%s: could not write", path);
    return NULL;
  }
  g_strstrip(line);
  return g_steal_pointer(&line);
}

/* ---- --dev ---------------------------------------------------------------- */

gboolean
actrd_server_apply_dev(ActrdDb *db, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(ActrdRealm) realm = NULL;
  g_autoptr(GPtrArray) rules = NULL;
  ActrdAclRule open = {0, DEV_REALM, FALSE, DEV_REALM, (char *)"*", (char *)"*", TRUE};

  if (!actrd_db_realm_get(db, DEV_REALM, &realm, &local)) {
    if (!g_error_matches(local, ACTRD_ERROR, ACTRD_ERROR_NOT_FOUND)) {
      g_propagate_error(error, g_steal_pointer(&local));
      return FALSE;
    }
    if (!actrd_db_realm_create(db, DEV_REALM, "dev", NULL, error))
      return FALSE;
  }
  rules = actrd_db_acl_list(db, DEV_REALM, error);
  if (rules == NULL)
    return FALSE;
  for (guint i = 0; i < rules->len; i++) {
    const ActrdAclRule *r = g_ptr_array_index(rules, i);

    if (!r->any_source && r->source_realm_id == DEV_REALM && strcmp(r->from_type, "*") == 0 &&
        strcmp(r->to_type, "*") == 0 && r->allow)
      return TRUE;
  }
  return actrd_db_acl_add(db, &open, NULL, error);
}

/* ---- plain routes --------------------------------------------------------- */

/* One descriptor per connected node: lift the soft limit to the hard one
 * (typically 1024 -> 1M) so thousands of nodes can connect without the
 * operator tuning ulimit; the hard limit still needs LimitNOFILE/ulimit. */
static void
raise_fd_limit(void)
{
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    rlim_t before = lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) == 0)
      g_debug("file descriptor limit raised from %lu to %lu", (unsigned long)before,
              (unsigned long)lim.rlim_max);
  }
}

static void
healthz_handler(SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
                gpointer user_data)
{
  soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response(msg, "text/plain", SOUP_MEMORY_STATIC, "ok\n", 3);
}

static void
metrics_handler(SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
                gpointer user_data)
{
  ActrdServer *server = user_data;
  char *page = actrd_metrics_render(server->metrics);

  soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response(msg, "text/plain; version=0.0.4", SOUP_MEMORY_TAKE, page,
                                   strlen(page));
}

static void
default_handler(SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
                gpointer user_data)
{
  soup_server_message_set_status(msg, SOUP_STATUS_NOT_FOUND, NULL);
  soup_server_message_set_response(msg, "text/plain", SOUP_MEMORY_STATIC, "not found\n", 10);
}

/* libsoup 3.2 leaks the socket (and its file descriptor) of every idle
 * keep-alive connection that the client closes (fixed upstream in 3.3, GNOME
 * libsoup commit d20c6601).  Plain HTTP requests therefore get
 * "Connection: close"; WebSocket upgrades (/signaling/) are left alone. */
static void
on_request_started(SoupServer *soup, SoupServerMessage *msg, gpointer user_data)
{
  soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Connection",
                               "close");
}

static void
on_request_read(SoupServer *soup, SoupServerMessage *msg, gpointer user_data)
{
  const char *path = g_uri_get_path(soup_server_message_get_uri(msg));

  if (g_str_has_prefix(path, "/signaling/"))
    soup_message_headers_remove(soup_server_message_get_response_headers(msg), "Connection");
}

static gboolean
key_timer_cb(gpointer user_data)
{
  ActrdServer *server = user_data;
  g_autoptr(GError) error = NULL;

  if (!actrd_keys_maintain(server->keys, &error))
    g_warning("signing key maintenance failed: %s", error->message);
  actrd_db_pending_purge(server->db, actrd_now() - PENDING_MAX_AGE_S);
  return G_SOURCE_CONTINUE;
}

/* ---- lifecycle ------------------------------------------------------------ */

ActrdServer *
actrd_server_new(ActrdConfig *config, GError **error)
{
  g_autoptr(ActrdServer) server = g_new0(ActrdServer, 1);

  server->config = config;
  server->context = g_main_context_ref_thread_default();
  server->started_at_us = g_get_monotonic_time();
  server->metrics = actrd_metrics_new();
  server->ais_limiter = actrd_ip_limiter_new(config->ais_rate_per_sec, config->ais_burst);

  server->db = actrd_db_open(config->data_dir, error);
  if (server->db == NULL)
    return NULL;
  if (config->dev && !actrd_server_apply_dev(server->db, error))
    return NULL;
  if (!actrd_config_resolve_turn_secret(config, error))
    return NULL;
  server->admin_token = actrd_admin_token_load(config->data_dir, error);
  if (server->admin_token == NULL)
    return NULL;
  server->keys = actrd_keys_new(server->db, config->key_ttl_secs, config->key_tolerance_secs,
                                config->key_rotate_lead_secs, error);
  if (server->keys == NULL)
    return NULL;

  server->soup = soup_server_new("server-header", "actrd/" ACTR_VERSION_STRING, NULL);
  /* No permessage-deflate: a node never asks for it (nor does the
   * reference), and accepting it cost ~107 MB per 1,000 connections (each
   * connection keeps two zlib streams) against ~6 MB without. */
  soup_server_remove_websocket_extension(server->soup, SOUP_TYPE_WEBSOCKET_EXTENSION_DEFLATE);
  raise_fd_limit();
  g_signal_connect(server->soup, "request-started", G_CALLBACK(on_request_started), server);
  g_signal_connect(server->soup, "request-read", G_CALLBACK(on_request_read), server);
  soup_server_add_handler(server->soup, NULL, default_handler, server, NULL);
  soup_server_add_handler(server->soup, "/healthz", healthz_handler, server, NULL);
  soup_server_add_handler(server->soup, "/metrics", metrics_handler, server, NULL);
  actrd_ais_add_handlers(server);
  server->signaling = actrd_signaling_new(server, error);
  if (server->signaling == NULL)
    return NULL;
  server->key_timer_id = g_timeout_add_seconds(KEY_CHECK_SECS, key_timer_cb, server);
  return g_steal_pointer(&server);
}

gboolean
actrd_server_listen(ActrdServer *server, GError **error)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string(server->config->listen_host);
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autoptr(GError) local = NULL;
  GSList *listeners;

  if (address == NULL) {
    /* A host name ("localhost"): resolve it once, synchronously. */
    g_autoptr(GResolver) resolver = g_resolver_get_default();
    GList *list = g_resolver_lookup_by_name(resolver, server->config->listen_host, NULL, &local);

    if (list == NULL) {
      g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_LISTEN, "cannot resolve %s: %s",
                  server->config->listen_host, local->message);
      return FALSE;
    }
    address = g_object_ref(list->data);
    g_resolver_free_addresses(list);
  }
  socket_address = g_inet_socket_address_new(address, server->config->listen_port);
  /* Our own socket, for the listen backlog: soup_server_listen() keeps
   * GSocket's default of 10, and a reconnect storm (or 64 concurrent
   * registrations) overflowed it, stalling handshakes for seconds. */
  g_autoptr(GSocket) sock = g_socket_new(g_inet_address_get_family(address), G_SOCKET_TYPE_STREAM,
                                         G_SOCKET_PROTOCOL_TCP, &local);
  if (sock != NULL) {
    g_socket_set_listen_backlog(sock, LISTEN_BACKLOG);
    if (!g_socket_bind(sock, socket_address, TRUE, &local) || !g_socket_listen(sock, &local))
      g_clear_object(&sock);
  }
  if (sock == NULL || !soup_server_listen_socket(server->soup, sock, 0, &local)) {
    g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_LISTEN, "cannot listen on %s:%u: %s",
                server->config->listen_host, server->config->listen_port, local->message);
    return FALSE;
  }
  /* The port from the listening socket (soup_server_get_uris() leaks the
   * socket address in libsoup 3.2). */
  listeners = soup_server_get_listeners(server->soup);
  if (listeners != NULL) {
    g_autoptr(GSocketAddress) local_address = g_socket_get_local_address(listeners->data, NULL);

    if (G_IS_INET_SOCKET_ADDRESS(local_address))
      server->bound_port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local_address));
  }
  g_slist_free(listeners);
  if (server->bound_port == 0) {
    g_set_error(error, ACTRD_ERROR, ACTRD_ERROR_LISTEN, "cannot find the listening port");
    return FALSE;
  }
  return TRUE;
}

void
actrd_server_free(ActrdServer *server)
{
  if (server == NULL)
    return;
  g_clear_handle_id(&server->key_timer_id, g_source_remove);
  if (server->signaling != NULL)
    actrd_signaling_free(server->signaling);
  server->signaling = NULL;
  if (server->soup != NULL) {
    soup_server_disconnect(server->soup);
    g_clear_object(&server->soup);
  }
  actrd_keys_free(server->keys);
  actrd_db_close(server->db);
  actrd_ip_limiter_free(server->ais_limiter);
  actrd_metrics_free(server->metrics);
  if (server->admin_token != NULL)
    memset(server->admin_token, 0, strlen(server->admin_token));
  g_free(server->admin_token);
  actrd_config_free(server->config);
  if (server->context != NULL)
    g_main_context_unref(server->context);
  g_free(server);
}
