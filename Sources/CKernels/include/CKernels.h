// Placeholder until the kernels land.
int ck_placeholder(void);
