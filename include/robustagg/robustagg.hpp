// robustagg: Byzantine-robust gradient aggregation. The umbrella header: it
// only includes.
#pragma once

#include "aggregate.hpp"
#include "attacks.hpp"
#include "bulyan.hpp"
#include "detox.hpp"
#include "errors.hpp"
#include "gradients.hpp"
#include "krum.hpp"
#include "mean.hpp"
#include "median.hpp"
#include "noisy.hpp"
#include "rule.hpp"
#include "sign_vote.hpp"
#include "spec.hpp"
#include "simd_arch.hpp"
#include "stages.hpp"
#include "threads.hpp"
#include "trimmed_mean.hpp"
#include "version.hpp"
#include "workspace.hpp"
