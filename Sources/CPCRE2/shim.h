#ifndef STRATA_CPCRE2_SHIM_H
#define STRATA_CPCRE2_SHIM_H
/* PCRE2's 8-bit library (UTF-8 subjects), as mongod links it. pcre2.h names its functions
   through macros (pcre2_compile -> pcre2_compile_8) that Swift cannot import, so the few
   calls strata makes are wrapped here. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <stddef.h>
#include <stdint.h>
#include <pcre2.h>

static inline pcre2_code_8 *strata_pcre2_compile(const uint8_t *pattern, size_t length, uint32_t options,
                                                 int *errorcode, size_t *erroroffset) {
    return pcre2_compile_8(pattern, length, options, errorcode, erroroffset, NULL);
}
static inline void strata_pcre2_code_free(pcre2_code_8 *code) { pcre2_code_free_8(code); }
static inline uint32_t strata_pcre2_capture_count(const pcre2_code_8 *code) {
    uint32_t n = 0;
    pcre2_pattern_info_8(code, PCRE2_INFO_CAPTURECOUNT, &n);
    return n;
}
static inline pcre2_match_data_8 *strata_pcre2_match_data(const pcre2_code_8 *code) {
    return pcre2_match_data_create_from_pattern_8(code, NULL);
}
static inline void strata_pcre2_match_data_free(pcre2_match_data_8 *md) { pcre2_match_data_free_8(md); }
/* Returns pcre2_match's result: > 0 matched, PCRE2_ERROR_NOMATCH, or another error. */
static inline int strata_pcre2_match(const pcre2_code_8 *code, const uint8_t *subject, size_t length,
                                     size_t start, pcre2_match_data_8 *md) {
    return pcre2_match_8(code, subject, length, start, 0, md, NULL);
}
static inline size_t *strata_pcre2_ovector(pcre2_match_data_8 *md) { return pcre2_get_ovector_pointer_8(md); }
static inline uint32_t strata_pcre2_ovector_count(pcre2_match_data_8 *md) { return pcre2_get_ovector_count_8(md); }
static inline int strata_pcre2_error_message(int code, uint8_t *buffer, size_t size) {
    return pcre2_get_error_message_8(code, buffer, size);
}
static const int strata_pcre2_nomatch = PCRE2_ERROR_NOMATCH;
static const uint32_t strata_pcre2_utf = PCRE2_UTF;
static const uint32_t strata_pcre2_caseless = PCRE2_CASELESS;
static const uint32_t strata_pcre2_multiline = PCRE2_MULTILINE;
static const uint32_t strata_pcre2_dotall = PCRE2_DOTALL;
static const uint32_t strata_pcre2_extended = PCRE2_EXTENDED;
#endif
