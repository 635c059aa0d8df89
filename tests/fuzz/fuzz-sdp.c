/* Fuzz target: the SDP parser (src/transport/webrtc/sdp.c).  The input is
 * parsed as a whole SDP and as one trickled candidate line.  An accepted SDP
 * must generate again, and the generated text must parse back to the same
 * credentials, fingerprint and candidates. */
#include "sdp.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  ActrSdpCandidate cand;
  GError *error = NULL;
  if (actr_sdp_candidate_parse((const char *)data, (gssize)size, &cand, &error)) {
    g_autofree gchar *line = actr_sdp_candidate_to_string(&cand);
    ActrSdpCandidate back;
    g_assert(actr_sdp_candidate_parse(line, -1, &back, NULL));
    g_assert(memcmp(&cand, &back, sizeof cand) == 0);
  } else {
    g_assert(error != NULL && error->domain == ACTR_SDP_ERROR);
    g_clear_error(&error);
  }

  ActrSdp *sdp = actr_sdp_parse((const char *)data, (gssize)size, &error);
  if (!sdp) {
    g_assert(error != NULL && error->domain == ACTR_SDP_ERROR);
    g_clear_error(&error);
    return 0;
  }
  if (sdp->setup == ACTR_SDP_SETUP_NONE)
    sdp->setup = ACTR_SDP_SETUP_ACTPASS;
  if (sdp->mid[0] == '\0')
    g_strlcpy(sdp->mid, "0", sizeof sdp->mid);
  gchar *text = actr_sdp_to_string(sdp, &error);
  g_assert_no_error(error);
  ActrSdp *again = actr_sdp_parse(text, -1, &error);
  g_assert_no_error(error);
  g_assert(strcmp(again->ice_ufrag, sdp->ice_ufrag) == 0);
  g_assert(strcmp(again->ice_pwd, sdp->ice_pwd) == 0);
  g_assert(again->fingerprint_hash == sdp->fingerprint_hash);
  g_assert(memcmp(again->fingerprint, sdp->fingerprint, sdp->fingerprint_len) == 0);
  g_assert(again->sctp_port == sdp->sctp_port);
  g_assert(again->max_message_size == sdp->max_message_size);
  g_assert(again->candidates->len == sdp->candidates->len);
  if (sdp->candidates->len)
    g_assert(memcmp(again->candidates->data, sdp->candidates->data,
                    sdp->candidates->len * sizeof(ActrSdpCandidate)) == 0);
  actr_sdp_free(again);
  g_free(text);
  actr_sdp_free(sdp);
  return 0;
}
