// doctest, wherever this machine keeps it: Debian installs <doctest/doctest.h>,
// the wrap provides <doctest.h>.
#ifndef BUILDHIST_TESTS_SUPPORT_DOCTEST_INCLUDE_H_
#define BUILDHIST_TESTS_SUPPORT_DOCTEST_INCLUDE_H_

#if __has_include(<doctest/doctest.h>)
#include <doctest/doctest.h>
#else
#include <doctest.h>
#endif

#endif  // BUILDHIST_TESTS_SUPPORT_DOCTEST_INCLUDE_H_
