# What `make install` / `cmake --install` puts next to the binary, and the
# capability it grants it. Included from src/CMakeLists.txt.

option(HT_INSTALL_SETCAP "Grant cap_net_raw to the installed binary when installing as root" ON)
set(HT_BASH_COMPLETION_DIR "${CMAKE_INSTALL_DATADIR}/bash-completion/completions"
    CACHE STRING "Where the bash completion goes")
# Debian's zsh reads vendor-completions; upstream zsh uses site-functions.
set(HT_ZSH_COMPLETION_DIR "${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions"
    CACHE STRING "Where the zsh completion goes")

if(EXISTS ${PROJECT_SOURCE_DIR}/docs/hoptrace.1)
  install(FILES ${PROJECT_SOURCE_DIR}/docs/hoptrace.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()
install(FILES ${PROJECT_SOURCE_DIR}/completions/hoptrace.bash
        DESTINATION ${HT_BASH_COMPLETION_DIR} RENAME hoptrace)
install(FILES ${PROJECT_SOURCE_DIR}/completions/_hoptrace DESTINATION ${HT_ZSH_COMPLETION_DIR})

# Raw sockets need CAP_NET_RAW. A file capability is narrower than setuid
# root, and hoptrace drops it right after opening its sockets. Only done
# for a real install as root: with DESTDIR (staging for a package) the
# package's own postinst does it, since .deb files do not carry xattrs.
if(HT_INSTALL_SETCAP)
  install(CODE "set(_ht_bindir \"${CMAKE_INSTALL_BINDIR}\")")
  install(CODE [[
    if(IS_ABSOLUTE "${_ht_bindir}")
      set(_ht_bin "${_ht_bindir}/hoptrace")
    else()
      set(_ht_bin "${CMAKE_INSTALL_PREFIX}/${_ht_bindir}/hoptrace")
    endif()
    execute_process(COMMAND id -u OUTPUT_VARIABLE _ht_uid OUTPUT_STRIP_TRAILING_WHITESPACE
                    RESULT_VARIABLE _ht_rc)
    find_program(_ht_setcap setcap PATHS /usr/sbin /sbin NO_CACHE)
    if(NOT "$ENV{DESTDIR}" STREQUAL "")
      message(STATUS "hoptrace: staged install (DESTDIR): not running setcap; the package grants cap_net_raw")
    elseif(NOT _ht_uid STREQUAL "0")
      message(STATUS "hoptrace: not root: ${_ht_bin} gets no capability; "
                     "run 'sudo setcap cap_net_raw+ep ${_ht_bin}' for raw sockets, "
                     "or use it unprivileged (ICMP datagram / UDP sockets)")
    elseif(NOT _ht_setcap)
      message(STATUS "hoptrace: note: setcap not found (Debian: apt install libcap2-bin); "
                     "${_ht_bin} is installed without cap_net_raw and runs unprivileged "
                     "unless started as root")
    else()
      execute_process(COMMAND ${_ht_setcap} cap_net_raw+ep ${_ht_bin}
                      RESULT_VARIABLE _ht_rc ERROR_VARIABLE _ht_err)
      if(_ht_rc EQUAL 0)
        message(STATUS "hoptrace: granted cap_net_raw+ep to ${_ht_bin} (setcap)")
      else()
        message(STATUS "hoptrace: note: setcap cap_net_raw+ep ${_ht_bin} failed: ${_ht_err}; "
                       "the binary runs unprivileged unless started as root")
      endif()
    endif()
  ]])
endif()
