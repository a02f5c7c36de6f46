/* Order-book features over the top N levels, given as contiguous double arrays, best first. */
#ifndef BX_BOOK_H
#define BX_BOOK_H

#include "bx_common.h"

/* (bid - ask) / (bid + ask) of the (optionally weighted) quantities of the first n levels;
 * 0 when both sides are empty. `weights` may be NULL (all ones). */
double bx_depth_imbalance(const double *bid_qty, const double *ask_qty, size_t n,
                          const double *weights);
/* Quantity-weighted mid: leans toward the side with less quantity (the side about to trade
 * through). Falls back to the plain mid when both quantities are zero. */
double bx_microprice(double bid, double bid_qty, double ask, double ask_qty);
double bx_spread_ticks(double bid, double ask, double tick_size);
/* Row-major (rows x levels) batch of bx_depth_imbalance. */
void bx_depth_imbalance_batch(const double *bid_qty, const double *ask_qty, size_t rows,
                              size_t levels, const double *weights, double *out);

#endif
