// buildhist: the whole public API in one include.
#ifndef BUILDHIST_BUILDHIST_H_
#define BUILDHIST_BUILDHIST_H_

#include "buildhist/compact.h"
#include "buildhist/error.h"
#include "buildhist/history.h"
#include "buildhist/options.h"
#include "buildhist/records.h"
#include "buildhist/reference.h"
#include "buildhist/report.h"
#include "buildhist/results.h"
#include "buildhist/stats.h"
#include "buildhist/status.h"
#include "buildhist/store.h"
#include "buildhist/trends.h"
#include "buildhist/trends_report.h"

#endif  // BUILDHIST_BUILDHIST_H_
