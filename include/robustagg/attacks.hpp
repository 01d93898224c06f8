// robustagg::attacks: Byzantine attack models for simulations, tests and the
// demo. Not part of the umbrella header robustagg.hpp (a trainer needs none of
// it); include this header, or one of its parts:
//   attacks/basic.hpp     the formulas (ALIE, IPM, reverse, constant, Gaussian,
//                         NaN/Inf, sign flip, mimic) and label flipping
//   attacks/searched.hpp  the attacks that search: optimal ALIE/IPM against
//                         the defender's rule, min-max and min-sum
//   attacks/spec.hpp      attack_catalog(), Attack and parse_attack
#pragma once

#include "attacks/basic.hpp"
#include "attacks/searched.hpp"
#include "attacks/spec.hpp"
