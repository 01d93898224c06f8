// The rule catalogue behind parse_rule (include/robustagg/spec.hpp), compiled
// once here: it instantiates every rule for float and double.
#include <robustagg/detail/catalog_impl.hpp>
