/* actr — receiver-side ACL evaluation.  Contract: acl.h. */
#include "acl.h"

#include <string.h>

/* One compiled rule.  Its type is the type of the group that holds it. */
typedef struct {
  guint32 realm_id;   /* compared unless any_realm */
  gboolean any_realm; /* REALM_ANY */
  gboolean deny;      /* permission DENY */
  guint line;         /* line in the config file; 0 = unknown */
  guint index;        /* 0-based position in the rule list */
} AclEntry;

/* The rules of one ActrType: entries[first .. first + count), the DENY
 * rules first, then the ALLOW rules, each part in list order.  So the
 * first entry whose realm matches decides: a DENY there is the first
 * matching DENY in the list, and an ALLOW there means no DENY matched. */
typedef struct {
  ActrType type; /* owned copy */
  guint hash;    /* actr_type_hash(&type) */
  guint first;
  guint count;
} AclGroup;

struct _ActrAcl {
  gboolean present;
  guint n_rules;
  AclEntry *entries; /* n_rules, grouped as described above */
  AclGroup *groups;
  guint n_groups;
  guint32 *slots; /* open addressing, linear probing: group index + 1, 0 = empty */
  gsize mask;     /* number of slots - 1 (a power of two minus one) */
};

static gboolean
type_equal(const ActrType *a, const ActrType *b)
{
  return strcmp(a->manufacturer, b->manufacturer) == 0 && strcmp(a->name, b->name) == 0 &&
         strcmp(a->version, b->version) == 0;
}

/* The group of @type (all three strings non-NULL) with hash @hash, or NULL. */
static const AclGroup *
find_group(const ActrAcl *acl, const ActrType *type, guint hash)
{
  for (gsize i = hash & acl->mask;; i = (i + 1) & acl->mask) {
    guint32 slot = acl->slots[i];
    if (slot == 0)
      return NULL;
    const AclGroup *g = &acl->groups[slot - 1];
    if (g->hash == hash && type_equal(&g->type, type))
      return g;
  }
}

/* A rule type with a NULL string never matches anything; give it a group
 * of its own that no caller can find (find_group() is never asked for a
 * type with NULL strings). */
static gboolean
type_complete(const ActrType *type)
{
  return type->manufacturer != NULL && type->name != NULL && type->version != NULL;
}

ActrAcl *
actr_acl_new(gboolean present, const ActrAclRule *rules, guint n_rules)
{
  g_return_val_if_fail(n_rules == 0 || rules != NULL, NULL);

  ActrAcl *acl = g_new0(ActrAcl, 1);
  acl->present = present;
  if (!present || n_rules == 0)
    return acl;

  /* Table size: a power of two at least twice the number of rules (an upper
   * bound on the number of groups), so probes stay short and always end at
   * an empty slot. */
  gsize size = 2;
  while (size < 2 * (gsize)n_rules)
    size *= 2;
  acl->slots = g_new0(guint32, size);
  acl->mask = size - 1;
  acl->groups = g_new0(AclGroup, n_rules);
  acl->entries = g_new0(AclEntry, n_rules);
  acl->n_rules = n_rules;

  /* Pass 1: the group of each rule, counting its rules. */
  g_autofree guint *group_of = g_new(guint, n_rules);
  for (guint r = 0; r < n_rules; r++) {
    const ActrType *type = &rules[r].type;
    const AclGroup *found = NULL;
    guint hash = actr_type_hash(type);
    if (type_complete(type))
      found = find_group(acl, type, hash);
    if (found == NULL) {
      AclGroup *g = &acl->groups[acl->n_groups];
      actr_type_copy(type, &g->type);
      g->hash = hash;
      if (type_complete(type)) {
        gsize i = hash & acl->mask;
        while (acl->slots[i] != 0)
          i = (i + 1) & acl->mask;
        acl->slots[i] = acl->n_groups + 1;
      }
      found = g;
      acl->n_groups++;
    }
    guint gi = (guint)(found - acl->groups);
    group_of[r] = gi;
    acl->groups[gi].count++;
  }

  /* Pass 2: lay the groups out one after another. */
  guint offset = 0;
  for (guint gi = 0; gi < acl->n_groups; gi++) {
    acl->groups[gi].first = offset;
    offset += acl->groups[gi].count;
  }

  /* Pass 3: fill each group, DENY rules first, each part in list order. */
  g_autofree guint *filled = g_new0(guint, acl->n_groups);
  for (int pass = 0; pass < 2; pass++) {
    gboolean want_deny = pass == 0;
    for (guint r = 0; r < n_rules; r++) {
      const ActrAclRule *rule = &rules[r];
      if ((rule->permission == ACTR_ACL_DENY) != want_deny)
        continue;
      guint gi = group_of[r];
      AclEntry *e = &acl->entries[acl->groups[gi].first + filled[gi]++];
      e->any_realm = rule->realm == ACTR_ACL_REALM_ANY;
      e->realm_id = rule->realm_id;
      e->deny = want_deny;
      e->line = rule->line;
      e->index = r;
    }
  }
  return acl;
}

void
actr_acl_free(ActrAcl *acl)
{
  if (acl == NULL)
    return;
  for (guint gi = 0; gi < acl->n_groups; gi++)
    actr_type_clear(&acl->groups[gi].type);
  g_free(acl->groups);
  g_free(acl->entries);
  g_free(acl->slots);
  g_free(acl);
}

static char *
deny_reason(const ActrAcl *acl, const ActrId *caller, const AclEntry *rule)
{
  g_autofree char *type = actr_type_to_string(&caller->type);
  if (rule == NULL)
    return g_strdup_printf("ACL denied: no rule allows %s from realm %u%s", type, caller->realm_id,
                           acl->n_rules == 0 ? " (the ACL has no rules)" : "");
  if (rule->line > 0)
    return g_strdup_printf("ACL denied: %s in realm %u matches DENY rule at line %u", type,
                           caller->realm_id, rule->line);
  return g_strdup_printf("ACL denied: %s in realm %u matches DENY rule %u of %u", type,
                         caller->realm_id, rule->index + 1, acl->n_rules);
}

ActrAclDecision
actr_acl_check(const ActrAcl *acl, const ActrId *caller, char **reason)
{
  if (reason != NULL)
    *reason = NULL;
  g_return_val_if_fail(acl != NULL, ACTR_ACL_DECISION_DENY);

  if (caller == NULL || !acl->present)
    return ACTR_ACL_DECISION_ALLOW;

  const AclEntry *deny_rule = NULL;
  if (acl->n_groups > 0 && type_complete(&caller->type)) {
    const AclGroup *g = find_group(acl, &caller->type, actr_type_hash(&caller->type));
    if (g != NULL) {
      const AclEntry *e = &acl->entries[g->first];
      const AclEntry *end = e + g->count;
      for (; e < end; e++) {
        if (e->any_realm || e->realm_id == caller->realm_id)
          break;
      }
      if (e < end) {
        if (!e->deny)
          return ACTR_ACL_DECISION_ALLOW;
        deny_rule = e;
      }
    }
  }

  if (reason != NULL)
    *reason = deny_reason(acl, caller, deny_rule);
  return ACTR_ACL_DECISION_DENY;
}
