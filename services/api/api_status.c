/*
 * The HTTP status of a domain rejection (docs/api.md, "Rejection codes"). A file of its
 * own, with nothing but the domain's codes, so that tests/unit/api checks the mapping
 * without servers.
 */
#include "api.h"

unsigned api_reject_status(bg_reject_code_t code) {
        switch (code) {
        case BG_REJECT_INVALID_ARGUMENT:
                return MHD_HTTP_BAD_REQUEST;
        case BG_REJECT_FORBIDDEN:
                return MHD_HTTP_FORBIDDEN;
        case BG_REJECT_NOT_FOUND:
                return MHD_HTTP_NOT_FOUND;
        case BG_REJECT_ALREADY_EXISTS:
        case BG_REJECT_FAILED_PRECONDITION:
                return MHD_HTTP_CONFLICT;
        case BG_REJECT_CONFLICT:
                return MHD_HTTP_PRECONDITION_FAILED;
        default:
                return MHD_HTTP_INTERNAL_SERVER_ERROR;
        }
}
