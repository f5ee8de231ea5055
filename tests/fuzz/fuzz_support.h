/* Valid companion files of the fuzz targets that fuzz one input among several: a tiny network model
   (10 inputs, one dense layer of 4, targets theta0,theta1) and a training set that fits it. */
#pragma once
#include "fuzz_common.h"

#define FUZZ_NOBS    10 /* observation times of the companion model and training set */
#define FUZZ_NSAMPLE 20 /* samples of the companion training set */

/* -nn_* options of a trainer that builds the companion model's architecture */
#define FUZZ_NN_OPTIONS "-nn_arch", "dense", "-nn_dense", "4"

int FuzzWriteModel(const char path[]);
int FuzzWriteTrainingSet(const char path[]);
