// robustagg: version. The one definition of the version number: CMake's
// project version (CMakeLists.txt) and the Python package's (setup.py) are
// read from the three numbers below.
#pragma once

#define ROBUSTAGG_VERSION_MAJOR 0
#define ROBUSTAGG_VERSION_MINOR 1
#define ROBUSTAGG_VERSION_PATCH 0

#define ROBUSTAGG_VERSION_TEXT_(x) #x
#define ROBUSTAGG_VERSION_TEXT(x) ROBUSTAGG_VERSION_TEXT_(x)

namespace robustagg {
inline constexpr const char* version = ROBUSTAGG_VERSION_TEXT(ROBUSTAGG_VERSION_MAJOR) "." ROBUSTAGG_VERSION_TEXT(
    ROBUSTAGG_VERSION_MINOR) "." ROBUSTAGG_VERSION_TEXT(ROBUSTAGG_VERSION_PATCH);
}  // namespace robustagg
