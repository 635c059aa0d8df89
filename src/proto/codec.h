/* actr — internal protobuf codec: protobuf-c plus the leniency the wire
 * demands (wire.md §0).  Used by every module that puts a message on the
 * wire or takes one off it; not exported from libactr.
 *
 * Decoding (actr_proto_message_decode) behaves like the reference decoder:
 * - a missing required field decodes as its zero value: 0, FALSE, "" for
 *   strings, empty bytes, and for messages an allocated message whose own
 *   required fields are zero.  Required string and message pointers of a
 *   decoded message are therefore never NULL.  Absent optional strings and
 *   messages are NULL, as usual in protobuf-c.
 * - unknown fields (any field number the schema does not declare) are
 *   skipped; protobuf-c keeps them in base.unknown_fields and encoding emits
 *   them again after the known fields.  Unknown groups (wire types 3/4,
 *   which protobuf-c cannot parse) are skipped and dropped.
 * - enum values outside the declared range are kept as raw ints.
 * - repeated occurrences of a singular message field are merged, later
 *   scalars win, and a later member of a oneof replaces an earlier one
 *   (protobuf semantics).
 * - packed and unpacked encodings of repeated scalars are both accepted,
 *   and so are zero-padded (non-minimal) keys and length prefixes.
 * It rejects malformed input with ACTR_PROTO_ERROR_DECODE: truncation,
 * varints longer than 10 bytes, tags above 2^32-1, field number 0, wire
 * types 6/7 or an unmatched end-group, a declared field with the wrong wire
 * type, a packed array that does not divide into whole elements, nesting
 * deeper than ACTR_PROTO_MAX_DEPTH, and a string field that is not valid
 * UTF-8 or contains a NUL byte.  The reference also rejects non-UTF-8
 * strings; NUL is our addition, because a char * would silently truncate
 * it (two different wire names must never compare equal in C).
 *
 * How: a validating pre-scan walks the bytes with the descriptors, without
 * allocating.  When nothing required is missing and no singular message
 * field repeats (always the case for input from an encoder that emits
 * required fields, such as the reference and ours) the original bytes go
 * straight to protobuf_c_message_unpack().  Otherwise the bytes are
 * rewritten once (zero values appended for missing required fields,
 * repeated message fields merged, groups dropped, keys and lengths made
 * minimal) and the rewrite is unpacked.  protobuf-c 1.4 on its own rejects
 * any message missing a required field, unknown groups, and keys or length
 * prefixes longer than 5 bytes.  The pre-scan accepts exactly what the
 * rewrite makes acceptable to protobuf-c; tests/fuzz/fuzz-envelope.c checks
 * that protobuf-c never refuses what the pre-scan accepted.
 *
 * Encoding (actr_proto_message_encode*) is protobuf-c's packer: required
 * fields always, in ascending tag order, then optional fields that are set,
 * then retained unknown fields.  A required message field left NULL is
 * emitted as a message with all of its required fields zero (protobuf-c
 * alone would emit an empty message, which is missing them).  Strings are
 * emitted as given: callers must pass UTF-8.
 *
 * Memory: decoded messages use protobuf-c's default allocator and are freed
 * with actr_proto_message_free() only (so that a per-message arena can be
 * introduced later without touching callers).
 *
 * Thread-safety: all functions are re-entrant; they keep no state.
 */
#ifndef ACTR_PROTO_CODEC_H
#define ACTR_PROTO_CODEC_H

#include <glib.h>
#include <protobuf-c/protobuf-c.h>

G_BEGIN_DECLS

/* Deepest message nesting accepted on decode.  Our schema is acyclic and
 * nests at most 6 messages, so this only guards other descriptors. */
#define ACTR_PROTO_MAX_DEPTH 32

/* Decodes @len bytes at @data (NULL allowed when @len is 0) as a message of
 * type @descriptor, leniently (see above).  Returns (transfer full) the
 * message, to be cast to the generated type and freed with
 * actr_proto_message_free(), or NULL with @error set
 * (ACTR_PROTO_ERROR_DECODE). */
ProtobufCMessage *actr_proto_message_decode(const ProtobufCMessageDescriptor *descriptor,
                                            const guint8 *data, gsize len, GError **error);

/* Frees a message returned by actr_proto_message_decode().  NULL-safe.
 * Never use it on a message built by hand. */
void actr_proto_message_free(ProtobufCMessage *message);

/* Encodes @message (see above).  Returns (transfer full). */
GBytes *actr_proto_message_encode(const ProtobufCMessage *message);

/* Appends the encoding of @message to @out, so that a caller can put a
 * framing header in front without another copy.  Returns the number of
 * bytes appended. */
gsize actr_proto_message_encode_append(const ProtobufCMessage *message, GByteArray *out);

G_END_DECLS

#endif /* ACTR_PROTO_CODEC_H */
