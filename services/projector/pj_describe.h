/*
 * pj_describe: the human text of an audit_log row (the console's Events tab):
 *
 *   Created billing group "Production"
 *   Moved project "web-prod" from "Production" to "Development"
 *
 * Names the event does not carry (a moved project's, its groups') come from @names, the
 * projector's view of the tables when the event applies; an unknown id is shown as the
 * id. Texts are English, one line, no trailing full stop.
 *
 * A general describer for every consumer (common/json bgj_event_describe) is being written
 * elsewhere; this one is the projector's own until it lands.
 */
#ifndef PJ_DESCRIBE_H
#define PJ_DESCRIBE_H

#include <stddef.h>

#include "bg_event.h"

#define PJ_DESC_SIZE 2048

typedef struct pj_names_s {
        /* The current name of group / project @id, or NULL when unknown. */
        const char *(*pn_group)(void *opaque, const bg_uuid_t *id);
        const char *(*pn_project)(void *opaque, const bg_uuid_t *id);
        void *pn_opaque;
} pj_names_t;

/* Writes the description of @ev into @out (PJ_DESC_SIZE bytes, NUL-terminated; long names
 * are cut at a UTF-8 character boundary). */
void pj_describe(const bg_event_t *ev, const pj_names_t *names, char out[PJ_DESC_SIZE]);

#endif /* PJ_DESCRIBE_H */
