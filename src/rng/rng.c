/* Counter-based generator on Random123's Philox4x32-10 (see include/invmap/rng.h). */
#include <invmap/rng.h>
#include <math.h>

void InvRngInit(InvRng *r, PetscInt64 seed, InvRngPurpose purpose, PetscInt64 sample, PetscInt64 epoch)
{
  unsigned long long s = (unsigned long long)seed, i = (unsigned long long)sample;

  r->key.v[0] = (uint32_t)(s & 0xffffffffu);
  r->key.v[1] = (uint32_t)(s >> 32) ^ ((uint32_t)purpose << 24);
  r->ctr.v[0] = 0;                                     /* block counter within the stream */
  r->ctr.v[1] = (uint32_t)(i & 0xffffffffu);           /* sample index, low */
  r->ctr.v[2] = (uint32_t)(i >> 32);                   /* sample index, high */
  r->ctr.v[3] = (uint32_t)((unsigned long long)epoch); /* epoch (fresh noise per epoch) */
  r->used = 4;
  r->has_spare = 0;
  r->spare = 0;
}

unsigned InvRngUint32(InvRng *r)
{
  if (r->used == 4) {
    r->out = philox4x32(r->ctr, r->key);
    r->ctr.v[0]++;
    r->used = 0;
  }
  return r->out.v[r->used++];
}

double InvRngUniform(InvRng *r)
{
  unsigned long long hi = InvRngUint32(r) >> 5, lo = InvRngUint32(r) >> 6; /* 27 + 26 bits */
  return ((double)(hi * 67108864ull + lo) + 0.5) / 9007199254740992.0;
}

double InvRngNormal(InvRng *r)
{
  double u1, u2, rad;

  if (r->has_spare) {
    r->has_spare = 0;
    return r->spare;
  }
  u1 = InvRngUniform(r);
  u2 = InvRngUniform(r);
  rad = sqrt(-2.0 * log(u1));
  r->spare = rad * sin(2.0 * PETSC_PI * u2);
  r->has_spare = 1;
  return rad * cos(2.0 * PETSC_PI * u2);
}

/* Rejection from the untruncated normal: exact, deterministic for a given stream. */
double InvRngTruncNormal(InvRng *r, double mean, double sd, double lo, double hi)
{
  for (int it = 0; it < 100000; it++) {
    double x = mean + sd * InvRngNormal(r);
    if (x >= lo && x <= hi) return x;
  }
  return fmin(fmax(mean, lo), hi); /* unreachable for sensible bounds (checked by the prior) */
}
