/* Plain decimal text ("86699.6", "0.0140", "-3") to double, without Python. */
#ifndef BX_DECIMAL_H
#define BX_DECIMAL_H

#include <stddef.h>

/* Parse `n` bytes of `text` as [-]digits[.digits] into *out and return 1 when the exact
 * value has at most 53 bits of digits and at most 22 fractional digits (Clinger's fast
 * path: one correctly rounded division of two exact doubles, so the result is the same
 * double strtod or Python's float() gives). Return 0, *out untouched, for anything else
 * (an exponent, spaces, more digits, junk, empty text): the caller then takes the general
 * parser, which also reports the errors. */
int bx_parse_decimal(const char *text, size_t n, double *out);

#endif
