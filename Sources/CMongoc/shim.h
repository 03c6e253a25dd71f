#ifndef STRATA_CMONGOC_SHIM_H
#define STRATA_CMONGOC_SHIM_H
#include <mongoc/mongoc.h>
#endif
