/* The cost convention of every invmap summary (map, predict, evaluate; the report follows it in Python):
   wall seconds per estimate and core-seconds per estimate (wall x ranks). */
#include <invmap/sys.h>

void InvCostPerEstimate(PetscReal wall, PetscInt64 n, PetscInt ranks, PetscReal *wall_per, PetscReal *core_per)
{
  const PetscBool ok = (PetscBool)(n > 0 && !PetscIsInfOrNanReal(wall) && wall >= 0);

  if (wall_per) *wall_per = ok ? wall / (PetscReal)n : NAN;
  if (core_per) *core_per = ok && ranks > 0 ? wall * (PetscReal)ranks / (PetscReal)n : NAN;
}
