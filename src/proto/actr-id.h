/* actr — internal conversions between ActrType/ActrId (include/actr/types.h)
 * and the protobuf-c structs generated from actr.proto.  Not exported.
 *
 * Thread-safety: re-entrant; the to_pb views share the strings of their
 * source, so the source must not change while a view is in use.
 */
#ifndef ACTR_PROTO_ACTR_ID_H
#define ACTR_PROTO_ACTR_ID_H

#include <actr/types.h>

#include "actr.pb-c.h"

G_BEGIN_DECLS

/* A protobuf view of an ActrId: the three messages it needs, with
 * id.realm and id.type pointing at the neighbouring members. */
typedef struct {
  Actr__ActrId id;
  Actr__Realm realm;
  Actr__ActrType type;
} ActrIdPb;

/* Fills @pb with a view of @type (transfer none: the strings are @type's,
 * NULL ones replaced by a static ""), valid while @type is unchanged. */
void actr_type_to_pb(const ActrType *type, Actr__ActrType *pb);

/* Fills @pb with a view of @id (transfer none, as above); pass &pb->id
 * wherever an Actr__ActrId * is expected, e.g. to protobuf-c's packer. */
void actr_id_to_pb(const ActrId *id, ActrIdPb *pb);

/* Deep-copies a protobuf ActrType into @out (overwritten, not cleared).
 * @pb may be NULL and NULL strings become "", so that the result is the
 * lenient zero value. */
void actr_type_from_pb(const Actr__ActrType *pb, ActrType *out);

/* Deep-copies a protobuf ActrId into @out (as actr_type_from_pb()). */
void actr_id_from_pb(const Actr__ActrId *pb, ActrId *out);

G_END_DECLS

#endif /* ACTR_PROTO_ACTR_ID_H */
