/* actr — receiver-side ACL evaluation (runtime.md §4, wire.md §5.7).
 * Internal to libactr (not exported).
 *
 * An ActrAcl is compiled once from the loaded configuration's [acl] rules
 * (config.h: acl_present, acl_rules, n_acl_rules) and consulted for every
 * inbound request before dedup.  Evaluation order, exactly runtime.md §4:
 *   1. no caller (local / in-process call)      -> allow
 *   2. no ACL configured (present = FALSE)      -> allow
 *   3. ACL present with zero rules              -> deny
 *   4. any matching DENY rule, wherever it is   -> deny (deny overrides allow)
 *   5. any matching ALLOW rule                  -> allow
 *   6. nothing matched                          -> deny
 * A rule matches when the caller's ActrType equals the rule's type exactly
 * (manufacturer, name AND version, byte-wise) and its realm selector
 * matches: REALM_ANY matches every realm; REALM_ID and REALM_SELF match
 * when the caller's realm equals the rule's realm_id (for REALM_SELF the
 * config loader already stored its own realm_id there).  The target id is
 * not consulted.
 *
 * Cost: actr_acl_new() groups the rules by type in an open-addressing
 * table, DENY rules first within each group.  actr_acl_check() hashes the
 * caller's type once, probes the table and scans only the rules of that
 * type; the first realm match decides.  It allocates nothing unless it
 * denies and the caller asked for a reason.
 *
 * Thread-safety: an ActrAcl is immutable after actr_acl_new(); any number
 * of threads may call actr_acl_check() on it at once.  Free it only when no
 * check is running.
 */
#ifndef ACTR_NODE_ACL_H
#define ACTR_NODE_ACL_H

#include <actr/config.h>
#include <actr/types.h>
#include <glib.h>

G_BEGIN_DECLS

/* Outcome of an ACL check; on deny, *reason (transfer full) says which rule or "no rule matched".
 */
typedef enum {
  ACTR_ACL_DECISION_ALLOW,
  ACTR_ACL_DECISION_DENY,
} ActrAclDecision;

typedef struct _ActrAcl ActrAcl;

/* Compiled from the config's rules; present=FALSE means "no ACL configured"
 * (allow all, @rules ignored).  Rules are copied: @rules (transfer none;
 * may be NULL when @n_rules is 0) need not outlive the call.  Returns
 * (transfer full): free with actr_acl_free(). */
ActrAcl *actr_acl_new(gboolean present, const ActrAclRule *rules, guint n_rules);

/* Frees @acl (nullable). */
void actr_acl_free(ActrAcl *acl);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ActrAcl, actr_acl_free)

/* Evaluates @acl (not NULL) for @caller (nullable: NULL = local or
 * in-process caller).  @reason (nullable) is always written when given: NULL
 * on allow; on deny a message (transfer full, free with g_free()) such as
 *   "ACL denied: acme:client:1.0.0 in realm 5 matches DENY rule at line 12"
 *   "ACL denied: no rule allows acme:x:1 from realm 3"
 *   "ACL denied: no rule allows acme:x:1 from realm 3 (the ACL has no rules)"
 * Passing a NULL @acl is a programming error: it logs a critical and denies
 * (with *reason NULL). */
ActrAclDecision actr_acl_check(const ActrAcl *acl, const ActrId *caller, char **reason);

G_END_DECLS

#endif /* ACTR_NODE_ACL_H */
