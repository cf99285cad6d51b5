/*
 * codec: the wire contract. Commands, events, command results, usage records and invoices
 * to and from Avro in the Confluent wire format:
 *
 *   byte 0      magic, always 0
 *   bytes 1..4  schema id, big-endian
 *   bytes 5..   Avro binary body, written with that schema
 *
 * Schemas come from a registry (codec_registry_t): the manifest in schemas/
 * (codec_registry_manifest_new), a Confluent-compatible HTTP registry
 * (codec_registry_http_new), or ops of your own (codec_registry_new). See
 * schemas/README.md and docs/codec.md.
 *
 * Decoding treats its input as hostile. In order: a size cap, the magic byte, a known
 * schema id of the expected record type, a schema-guided walk of the body that bounds
 * every length and count by the bytes that remain (codec_walk.h), and only then avro-c
 * (usage records, the invoicer's hot path, skip avro-c: each field is read straight from
 * the span the walk found for it, codec_usage.c); then every value is range-checked
 * (UUID text, decimals, string lengths, enum symbols) while it is copied into the C
 * struct. Every failure returns a codec_err_t and a reason
 * such as "unknown schema id 17" or "string length 1073741824 exceeds remaining 12 bytes
 * at byte 22 in field 'actor'".
 *
 * Encoding always uses the latest schema of the kind's subject.
 *
 * @locality a codec_t belongs to one thread at a time (it reuses its avro-c values,
 * reader and buffers between calls). A codec_registry_t from codec_registry_manifest_new
 * is immutable and may be shared by the codecs of many threads. avro-c keeps its last
 * error text in a process-wide buffer; the codec copies it into reasons only for failures
 * the walker should have caught, so concurrent codecs at worst garble such a reason.
 */
#ifndef CODEC_H
#define CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bg_command.h"
#include "bg_event.h"
#include "bg_profile.h"
#include "bg_uuid.h"

#define CODEC_HEADER_SIZE           5
#define CODEC_MAGIC                 0
#define CODEC_DEFAULT_MAX_MESSAGE   (1024 * 1024)
/* Largest max_message_size accepted: offsets and lengths stay far from int overflow. */
#define CODEC_MAX_MESSAGE_LIMIT     (256 * 1024 * 1024)

typedef enum {
        CODEC_OK = 0,
        CODEC_ERR_ARG,            /* caller error: NULL argument, or a value that cannot be
                                   * encoded (UNSET enum, string too long, bad decimal) */
        CODEC_ERR_TOO_LARGE,      /* message over max_message_size (decode or encode) */
        CODEC_ERR_FRAMING,        /* shorter than the header, or magic byte not 0 */
        CODEC_ERR_UNKNOWN_SCHEMA, /* schema id unknown to the registry, or not loadable */
        CODEC_ERR_WRONG_TYPE,     /* schema id is of another record type than expected */
        CODEC_ERR_MALFORMED,      /* body does not follow its writer schema (bounds walk) */
        CODEC_ERR_INVALID,        /* well-formed, but a value is out of range: UUID text,
                                   * decimal, string length, enum symbol */
        CODEC_ERR_REGISTRY,       /* the registry failed (I/O, unreachable, bad manifest) */
        CODEC_ERR_NOMEM,
        CODEC_ERR_AVRO,           /* avro-c failed where it should not have: a bug */
        CODEC_ERR_UNKNOWN_TYPE,   /* well-formed, but its payload is a command or event
                                   * type this build does not know (a newer schema) */
} codec_err_t;

/* A static, never-NULL name for @err ("malformed message", ...). */
const char *codec_err2str(codec_err_t err);

/* The five record types on the wire, each with its subject (topic + "-value"). */
typedef enum {
        CODEC_KIND_COMMAND = 0,   /* billing.Command,       billing.commands-value */
        CODEC_KIND_EVENT,         /* billing.Event,         billing.events-value */
        CODEC_KIND_RESULT,        /* billing.CommandResult, billing.command-results-value */
        CODEC_KIND_USAGE,         /* billing.UsageRecord,   billing.usage-value */
        CODEC_KIND_INVOICE,       /* billing.Invoice,       billing.invoices-value */
        CODEC_KIND__COUNT
} codec_kind_t;

/* "billing.Command" ..., or NULL when out of range. */
const char *codec_kind_record_name(codec_kind_t kind);
/* The default subject of @kind ("billing.commands-value" ...), or NULL. */
const char *codec_kind_default_subject(codec_kind_t kind);

/*
 * Registry
 */

typedef struct codec_registry_s codec_registry_t;

/* The seam for registries: a manifest on disk, a Confluent-compatible HTTP registry, or a
 * test double. The functions may be called from several threads at once. */
typedef struct codec_registry_ops_s {
        /* The schema JSON with @id, malloc()ed into *json_out (caller frees).
         * CODEC_ERR_UNKNOWN_SCHEMA when there is none, CODEC_ERR_REGISTRY on failure. */
        codec_err_t (*schema_by_id)(void *opaque, int32_t id, char **json_out,
                                    char *errstr, size_t errstr_size);
        /* The id of the latest schema registered under @subject. */
        codec_err_t (*latest_id)(void *opaque, const char *subject, int32_t *id_out,
                                 char *errstr, size_t errstr_size);
        /* Registers @json under @subject (or finds it registered) and gives its id.
         * May be NULL: the registry is read-only (CODEC_ERR_ARG). */
        codec_err_t (*register_schema)(void *opaque, const char *subject, const char *json,
                                       int32_t *id_out, char *errstr, size_t errstr_size);
        /* Frees @opaque; may be NULL. */
        void (*destroy)(void *opaque);
} codec_registry_ops_t;

/* A registry backed by @ops (copied) and @opaque (owned: ops->destroy frees it with the
 * registry). Returns NULL only when out of memory (then @opaque is not freed). */
codec_registry_t *codec_registry_new(const codec_registry_ops_t *ops, void *opaque);

/* Loads @schemas_dir/manifest.json and every schema file it names, and checks them: ids
 * unique and positive, (subject, version) unique, every file a schema avro-c can parse.
 * Returns NULL and a reason on any problem. The registry is immutable: share it freely. */
codec_registry_t *codec_registry_manifest_new(const char *schemas_dir,
                                              char *errstr, size_t errstr_size);

/* A Confluent-compatible schema registry (Karapace, Apicurio's ccompat API, Confluent)
 * at @base_url, e.g. "http://127.0.0.1:8081" (credentials in the URL for basic auth),
 * through libcurl:
 *   schema by id    GET  <base>/schemas/ids/<id>
 *   latest id       GET  <base>/subjects/<subject>/versions/latest
 *   register        POST <base>/subjects/<subject>/versions   {"schema": "<json>"}
 * Schemas and latest ids are cached for the registry's life (ids are immutable; a
 * codec asks for a subject's latest id once); an id the registry does not know is
 * remembered as unknown for 60 seconds, so that a stream of bad ids does not become a
 * stream of HTTP requests. @timeout_ms bounds each request (0: 5000). Thread-safe. No
 * request is made here: an unreachable registry shows on first use. */
codec_registry_t *codec_registry_http_new(const char *base_url, long timeout_ms,
                                          char *errstr, size_t errstr_size);

/* Frees @reg; NULL is a no-op. Every codec using it must be destroyed first. */
void codec_registry_destroy(codec_registry_t *reg);

codec_err_t codec_registry_schema_by_id(codec_registry_t *reg, int32_t id, char **json_out,
                                        char *errstr, size_t errstr_size);
codec_err_t codec_registry_latest_id(codec_registry_t *reg, const char *subject,
                                     int32_t *id_out, char *errstr, size_t errstr_size);
/* CODEC_ERR_ARG for a read-only registry (the manifest: add the file there instead). */
codec_err_t codec_registry_register(codec_registry_t *reg, const char *subject,
                                    const char *json, int32_t *id_out,
                                    char *errstr, size_t errstr_size);

/* The registry the environment names: the Confluent-compatible registry at
 * BILLING_SCHEMA_REGISTRY_URL when set, else the manifest in BILLING_SCHEMAS_DIR (or
 * @default_schemas_dir). NULL and a reason on failure. */
codec_registry_t *codec_registry_from_env(const char *default_schemas_dir, char *errstr,
                                          size_t errstr_size);

/* Whether the schema @id of @reg is one of the schemas of @manifest (a registry from
 * codec_registry_manifest_new): the same JSON once "doc" strings are set aside, whatever
 * id @reg gave it. This is how a consumer tells a message written with a schema it was
 * built with (a live registry assigns its own ids to the manifest's files) from one
 * written with a schema it does not know (a newer version). CODEC_OK with *local set;
 * else @reg's error for @id (CODEC_ERR_UNKNOWN_SCHEMA, CODEC_ERR_REGISTRY ...), or
 * CODEC_ERR_ARG when @manifest is not a manifest registry. Fetches the schema (registries
 * cache it) and parses JSON: meant for the rare message that does not decode. */
codec_err_t codec_registry_schema_is_local(codec_registry_t *reg, int32_t id,
                                           const codec_registry_t *manifest, bool *local,
                                           char *errstr, size_t errstr_size);

/* Registers every schema of the manifest in @schemas_dir under its subject in @dst, in
 * version order, so that @dst's latest version of each subject is the manifest's. A
 * schema registered before keeps its id (registries answer with the existing one).
 * Returns 0, or -1 with a reason. */
int codec_registry_sync_manifest(codec_registry_t *dst, const char *schemas_dir, char *errstr,
                                 size_t errstr_size);

/*
 * Codec
 */

typedef struct codec_conf_s {
        /* Largest message (header included) decoded or produced; default
         * CODEC_DEFAULT_MAX_MESSAGE, at most CODEC_MAX_MESSAGE_LIMIT. Invoices of very
         * large groups may need more. */
        size_t max_message_size;
        /* Subject of each kind when topics are renamed; NULL: the default. Not copied:
         * must outlive the codec. */
        const char *subjects[CODEC_KIND__COUNT];
} codec_conf_t;

/* Fills @conf with the defaults. */
void codec_conf_init(codec_conf_t *conf);

typedef struct codec_s codec_t;

/* A codec reading schemas from @reg (borrowed: must outlive the codec). @conf may be NULL
 * for the defaults; it is copied. Schemas are fetched lazily, on first use of an id or a
 * kind. Returns NULL and a reason on failure. */
codec_t *codec_new(codec_registry_t *reg, const codec_conf_t *conf,
                   char *errstr, size_t errstr_size);

/* Frees @codec and every buffer it handed out; NULL is a no-op. */
void codec_destroy(codec_t *codec);

/* Reads the schema id of a framed message without decoding it: CODEC_ERR_TOO_LARGE,
 * CODEC_ERR_FRAMING or CODEC_OK. */
codec_err_t codec_peek_schema_id(const codec_t *codec, const void *buf, size_t len,
                                 int32_t *id_out, char *errstr, size_t errstr_size);

/* The command_id and account_id of a command message that may not decode as a whole (a
 * bad payload, an unknown command type), so that its issuer can get a rejection result
 * rather than silence. CODEC_OK when the framing and schema id are good, every field up
 * to and including these two is well-formed, and both are valid UUID text; the rest of
 * the message is not looked at. */
codec_err_t codec_peek_command_ids(codec_t *codec, const void *buf, size_t len,
                                   bg_uuid_t *command_id, bg_uuid_t *account_id,
                                   char *errstr, size_t errstr_size);

/*
 * Encoding. On CODEC_OK *out points at *out_len bytes of framed message that the codec
 * owns: valid until the next encode call on this codec or its destruction (copy it, e.g.
 * with RD_KAFKA_MSG_F_COPY). Values are validated as on decode, so that the codec never
 * produces a message its own decoder would reject.
 *
 * Decoding. @buf/@len is one framed message. On CODEC_OK *out holds the value; on error
 * *out is unspecified (never half-owned memory) and @errstr says why.
 */

codec_err_t codec_encode_command(codec_t *codec, const bg_command_t *cmd,
                                 const uint8_t **out, size_t *out_len,
                                 char *errstr, size_t errstr_size);
codec_err_t codec_decode_command(codec_t *codec, const void *buf, size_t len,
                                 bg_command_t *out, char *errstr, size_t errstr_size);

/* Events: ev->hash is encoded as it is (32 bytes). */
codec_err_t codec_encode_event(codec_t *codec, const bg_event_t *ev,
                               const uint8_t **out, size_t *out_len,
                               char *errstr, size_t errstr_size);
codec_err_t codec_decode_event(codec_t *codec, const void *buf, size_t len,
                               bg_event_t *out, char *errstr, size_t errstr_size);

/* The canonical encoding of @ev for the hash chain: the Avro body (no 5-byte header) that
 * codec_encode_event writes for @ev, with the hash field set to 32 zero bytes (the Sha256
 * type is fixed-size, so "empty" is zeroed). ev->hash itself is ignored. Then
 *   ev->hash = SHA-256(ev->prev_hash || canonical)
 * and codec_encode_event(ev) gives a message whose canonical bytes are the same.
 * *out is owned by the codec, valid until the next canonical call on it. */
codec_err_t codec_event_canonical(codec_t *codec, const bg_event_t *ev,
                                  const uint8_t **out, size_t *out_len,
                                  char *errstr, size_t errstr_size);

/* The canonical bytes of a received event message: its body exactly as written, with the
 * 32 bytes of the hash field zeroed. This is what a verifier hashes: it covers every byte
 * the producer wrote, whatever schema version wrote it. The message goes through the same
 * checks as codec_decode_event's framing and walk. *out as codec_event_canonical. */
codec_err_t codec_event_canonical_wire(codec_t *codec, const void *buf, size_t len,
                                       const uint8_t **out, size_t *out_len,
                                       char *errstr, size_t errstr_size);

/* CommandResult: the domain's bg_command_result_t (bg_command.h). The rejection code is
 * on the wire exactly when the outcome is rejected. */
codec_err_t codec_encode_result(codec_t *codec, const bg_command_result_t *res,
                                const uint8_t **out, size_t *out_len,
                                char *errstr, size_t errstr_size);
codec_err_t codec_decode_result(codec_t *codec, const void *buf, size_t len,
                                bg_command_result_t *out, char *errstr, size_t errstr_size);

/*
 * Usage records and invoices: structs of their own, not of the account domain.
 */

#define CODEC_SERVICE_NAME_MAX     128   /* bytes */
#define CODEC_SERVICE_TYPE_MAX     64
#define CODEC_SERVICE_PLAN_MAX     128
#define CODEC_UNIT_MAX             32
#define CODEC_TAG_KEY_MAX          64
#define CODEC_TAG_VALUE_MAX        256
#define CODEC_TAGS_MAX             32    /* tags of one usage record or invoice line */
#define CODEC_INVOICE_NUMBER_MAX   64
#define CODEC_DESCRIPTION_MAX      256   /* bytes */
#define CODEC_INVOICE_LINES_MAX    20000 /* lines of one invoice */

/* Line types, as on Aiven invoices. Names as on the wire ("service_charge" ...). */
typedef enum {
        CODEC_LINE_UNSET = 0,
        CODEC_LINE_SERVICE_CHARGE,
        CODEC_LINE_EXTRA_CHARGE,
        CODEC_LINE_SUPPORT_CHARGE,
        CODEC_LINE_COMMITMENT_FEE,
        CODEC_LINE_CREDIT_CONSUMPTION,
        CODEC_LINE_MULTIPLIER,
        CODEC_LINE_OTHER_EVENT,
        CODEC_LINE_ROUNDING,
        CODEC_LINE__COUNT
} codec_line_type_t;

const char *codec_line_type_name(codec_line_type_t t);
/* CODEC_LINE_UNSET when @s names none (or is NULL). */
codec_line_type_t codec_line_type_from_name(const char *s);

/* Invoice states, Aiven's list. */
typedef enum {
        CODEC_INVOICE_UNSET = 0,
        CODEC_INVOICE_ESTIMATE,
        CODEC_INVOICE_DUE,
        CODEC_INVOICE_PAID,
        CODEC_INVOICE_MAILED,
        CODEC_INVOICE_ACCRUAL,
        CODEC_INVOICE_CONSOLIDATED,
        CODEC_INVOICE_FAILED_CREDIT_CARD_CHARGE,
        CODEC_INVOICE_FAILED_NO_CREDIT_CARD,
        CODEC_INVOICE_NO_PAYMENT_EXPECTED,
        CODEC_INVOICE_PARTNER_METERING,
        CODEC_INVOICE_UNCOLLECTIBLE,
        CODEC_INVOICE_WAIVED,
        CODEC_INVOICE_DUE_ONLY_PROJECT_CHARGES_CALCULATED,
        CODEC_INVOICE__COUNT
} codec_invoice_state_t;

const char *codec_invoice_state_name(codec_invoice_state_t s);
codec_invoice_state_t codec_invoice_state_from_name(const char *s);

typedef struct codec_tag_s {
        char key[CODEC_TAG_KEY_MAX + 1];
        char value[CODEC_TAG_VALUE_MAX + 1];
} codec_tag_t;

/* A usage record: a plain value (no pointers). Money and quantity in micros. */
typedef struct codec_usage_s {
        bg_uuid_t usage_id;                     /* de-duplication key */
        bg_uuid_t project_id;
        char service_name[CODEC_SERVICE_NAME_MAX + 1];
        char service_type[CODEC_SERVICE_TYPE_MAX + 1];
        char service_plan[CODEC_SERVICE_PLAN_MAX + 1];
        codec_line_type_t line_type;            /* UNSET encodes as service_charge */
        int64_t quantity;                       /* micro-units of @unit */
        char unit[CODEC_UNIT_MAX + 1];
        bool has_unit_price;
        int64_t unit_price;                     /* micros of @currency per unit */
        bool has_amount;
        int64_t amount;                         /* micros of @currency */
        bg_currency_t currency;
        int64_t timestamp_begin;                /* ms since epoch */
        int64_t timestamp_end;
        size_t n_tags;
        codec_tag_t tags[CODEC_TAGS_MAX];
} codec_usage_t;

codec_err_t codec_encode_usage(codec_t *codec, const codec_usage_t *usage,
                               const uint8_t **out, size_t *out_len,
                               char *errstr, size_t errstr_size);
codec_err_t codec_decode_usage(codec_t *codec, const void *buf, size_t len,
                               codec_usage_t *out, char *errstr, size_t errstr_size);

/* The usage_id of the usage record @buf, read without decoding it: a hint (to prefetch
 * what the record will touch), not a decode. The record is not checked: a record that
 * peeks fine may still fail codec_decode_usage. False when the id cannot be read that
 * way (the writer schema is not loaded yet, usage_id is not its first field, the bytes
 * are not a UUID). Never loads a schema. */
bool codec_peek_usage_id(const codec_t *codec, const void *buf, size_t len, bg_uuid_t *out);

/* One invoice line. An empty string stands for null on the wire (project, service). */
typedef struct codec_invoice_line_s {
        codec_line_type_t line_type;
        char description[CODEC_DESCRIPTION_MAX + 1];
        char project_name[BG_PROJECT_NAME_SIZE];
        char service_name[CODEC_SERVICE_NAME_MAX + 1];
        char service_type[CODEC_SERVICE_TYPE_MAX + 1];
        char service_plan[CODEC_SERVICE_PLAN_MAX + 1];
        int64_t line_total;                     /* micros of the invoice currency */
        bool has_timestamp_begin;
        int64_t timestamp_begin;
        bool has_timestamp_end;
        int64_t timestamp_end;
        size_t n_tags;                          /* at most CODEC_TAGS_MAX */
        const codec_tag_t *tags;                /* encode: the caller's; decode: points
                                                 * into the invoice's tag pool */
} codec_invoice_line_t;

/* An invoice revision: header and lines. For encoding, the caller points @lines (and each
 * line's @tags) at its own arrays. A decode allocates @lines and @tag_pool: free them
 * with codec_invoice_clear(). */
typedef struct codec_invoice_s {
        char invoice_number[CODEC_INVOICE_NUMBER_MAX + 1];
        bg_uuid_t billing_group_id;
        char billing_group_name[BG_NAME_SIZE];
        bg_uuid_t account_id;
        bg_currency_t currency;
        int64_t period_begin;                   /* ms since epoch, inclusive */
        int64_t period_end;                     /* exclusive */
        codec_invoice_state_t state;
        int64_t total_vat_zero;                 /* micros */
        int64_t total_inc_vat;
        bool has_issue_date;
        int64_t issue_date;
        bool has_due_date;
        int64_t due_date;
        int64_t revision;
        size_t n_lines;                         /* at most CODEC_INVOICE_LINES_MAX */
        codec_invoice_line_t *lines;
        codec_tag_t *tag_pool;                  /* decode only: owns the lines' tags */
} codec_invoice_t;

codec_err_t codec_encode_invoice(codec_t *codec, const codec_invoice_t *inv,
                                 const uint8_t **out, size_t *out_len,
                                 char *errstr, size_t errstr_size);

/* Overwrites *out without freeing what it held: pass a zeroed or cleared invoice. On
 * success out->lines and out->tag_pool are malloc()ed (NULL when empty); on error nothing
 * is left allocated and *out is zeroed. */
codec_err_t codec_decode_invoice(codec_t *codec, const void *buf, size_t len,
                                 codec_invoice_t *out, char *errstr, size_t errstr_size);

/* Frees what a decode allocated (@inv->lines, @inv->tag_pool) and zeroes *inv; NULL is a
 * no-op. Do not call it on an invoice whose lines the caller allocated. */
void codec_invoice_clear(codec_invoice_t *inv);

#endif /* CODEC_H */
