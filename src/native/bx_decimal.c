#include "bx_decimal.h"

#include <stdint.h>

/* Powers of ten that are exact in a double (10^22 < 2^53 * 2^22). */
static const double POW10[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

#define BX_MAX_EXACT (UINT64_C(1) << 53)

int bx_parse_decimal(const char *text, size_t n, double *out) {
    size_t i = 0;
    int negative = 0;
    if (i < n && text[i] == '-') {
        negative = 1;
        ++i;
    }
    uint64_t mantissa = 0;
    size_t digits = 0, frac = 0;
    int seen_point = 0;
    for (; i < n; ++i) {
        char c = text[i];
        if (c >= '0' && c <= '9') {
            /* 2^53 < 10^16: stop before the mantissa could overflow 64 bits. */
            if (mantissa >= BX_MAX_EXACT) {
                return 0;
            }
            mantissa = mantissa * 10u + (uint64_t)(c - '0');
            ++digits;
            frac += (size_t)seen_point;
        } else if (c == '.' && !seen_point) {
            seen_point = 1;
        } else {
            return 0;
        }
    }
    if (digits == 0 || mantissa > BX_MAX_EXACT || frac > 22) {
        return 0;
    }
    double value = (double)mantissa / POW10[frac];
    *out = negative ? -value : value;
    return 1;
}
