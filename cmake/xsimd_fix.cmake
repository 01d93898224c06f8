# Debian 12's xsimd 8.1 export links a target `xtl` that its package does not
# provide (xsimd is header-only and needs no xtl). Clear that link so targets
# depending on `xsimd` configure and link.
if(TARGET xsimd)
  get_target_property(_robustagg_xsimd_links xsimd INTERFACE_LINK_LIBRARIES)
  if(_robustagg_xsimd_links STREQUAL "xtl" AND NOT TARGET xtl)
    set_target_properties(xsimd PROPERTIES INTERFACE_LINK_LIBRARIES "")
  endif()
  unset(_robustagg_xsimd_links)
endif()
