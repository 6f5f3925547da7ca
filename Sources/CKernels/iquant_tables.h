#pragma once
// The format constants of llama.cpp's i-quants (generated into iquant_tables.c by scripts/make_iquant_tables.py
// from the gguf Python package's tables).

#include <stdint.h>

extern const int8_t ck_iq4nl_values[16];
extern const uint8_t ck_iq2_ksigns[128];
extern const int8_t ck_iq2xxs_grid[256][8];
extern const int8_t ck_iq2xs_grid[512][8];
extern const int8_t ck_iq2s_grid[1024][8];
extern const int8_t ck_iq3xxs_grid[256][4];
extern const int8_t ck_iq3s_grid[512][4];
extern const int8_t ck_iq1s_grid[2048][8];
