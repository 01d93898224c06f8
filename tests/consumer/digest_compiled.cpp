// digest.hpp against the compiled library (robustagg::robustagg): the
// reference the header-only builds of trainer.cpp are compared with.
#include "digest.hpp"

int main() { return digest::print_all(); }
