// robustagg: version.
#pragma once

#define ROBUSTAGG_VERSION_MAJOR 0
#define ROBUSTAGG_VERSION_MINOR 1
#define ROBUSTAGG_VERSION_PATCH 0

namespace robustagg {
inline constexpr const char* version = "0.1.0";
}  // namespace robustagg
