// robustagg::detail: ROBUSTAGG_LINKAGE, the linkage of the functions whose
// definitions live in the compiled library (src/): none (external) when the
// library is built and linked, `inline` with ROBUSTAGG_HEADER_ONLY, where the
// headers include those definitions themselves.
#pragma once

#if !defined(ROBUSTAGG_LINKAGE)
#if defined(ROBUSTAGG_HEADER_ONLY)
#define ROBUSTAGG_LINKAGE inline
#else
#define ROBUSTAGG_LINKAGE
#endif
#endif
