/* Counter-based random numbers (Random123 Philox4x32-10). A stream is keyed by (seed, purpose) and
   positioned by (sample index, epoch): every sample's draws are the same whatever the number of
   ranks, the chunking or the order in which samples are processed. */
#pragma once
#include <petscsys.h>
#include <Random123/philox.h>

typedef enum {
  INV_RNG_PRIOR = 1,     /* parameters drawn from the prior */
  INV_RNG_NOISE_PAR = 2, /* noise parameters (rho, sigma) */
  INV_RNG_NOISE = 3,     /* the noise series itself */
  INV_RNG_INIT = 4,      /* network initialisation */
  INV_RNG_SHUFFLE = 5,   /* data shuffling */
  INV_RNG_DROPOUT = 6,   /* dropout masks */
  INV_RNG_MULTISTART = 7 /* MAP multistart points */
} InvRngPurpose;

typedef struct {
  philox4x32_key_t key;
  philox4x32_ctr_t ctr;
  philox4x32_ctr_t out;
  int used;      /* number of 32-bit words of out consumed */
  int has_spare; /* Box-Muller yields normals in pairs */
  double spare;
} InvRng;

PETSC_EXTERN void InvRngInit(InvRng *, PetscInt64 seed, InvRngPurpose, PetscInt64 sample, PetscInt64 epoch);
PETSC_EXTERN double InvRngUniform(InvRng *); /* in (0, 1), 53 random bits */
PETSC_EXTERN double InvRngNormal(InvRng *);  /* standard normal (Box-Muller, pairs) */
PETSC_EXTERN double InvRngTruncNormal(InvRng *, double mean, double sd, double lo, double hi);
PETSC_EXTERN unsigned InvRngUint32(InvRng *);
