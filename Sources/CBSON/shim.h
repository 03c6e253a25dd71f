#ifndef STRATA_CBSON_SHIM_H
#define STRATA_CBSON_SHIM_H
#include <bson/bson.h>
#endif
