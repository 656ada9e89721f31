# Installs the build into a staging folder (DESTDIR) and checks that the
# binaries, the systemd unit and the config landed where the unit reads
# them. Run by CTest: cmake -DBUILD_DIR=... -DSTAGE=... -P install_check.cmake
file(REMOVE_RECURSE "${STAGE}")
execute_process(
  COMMAND "${CMAKE_COMMAND}" -E env "DESTDIR=${STAGE}"
          "${CMAKE_COMMAND}" --install "${BUILD_DIR}"
  RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed: ${rc}")
endif()
file(GLOB_RECURSE installed RELATIVE "${STAGE}" "${STAGE}/*")
foreach(wanted IN ITEMS bin/omega-server bin/omega-admin
                        lib/systemd/system/omega.service
                        omega/omega.conf omega/omega.conf.example)
  set(found FALSE)
  foreach(x IN LISTS installed)
    string(FIND "${x}" "${wanted}" at)
    if(NOT at EQUAL -1)
      set(found TRUE)
      set(path_${wanted} "${STAGE}/${x}")
    endif()
  endforeach()
  if(NOT found)
    message(FATAL_ERROR "not installed: ${wanted} (installed: ${installed})")
  endif()
endforeach()
# The unit starts the installed binary with the installed config.
file(READ "${path_lib/systemd/system/omega.service}" unit)
foreach(wanted IN ITEMS "ExecStart=" "omega-server --config " "/omega/omega.conf"
                        "NoNewPrivileges=yes" "ProtectSystem=strict"
                        "StateDirectory=omega" "LimitNOFILE=")
  string(FIND "${unit}" "${wanted}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the unit lacks ${wanted}")
  endif()
endforeach()
file(REMOVE_RECURSE "${STAGE}")
message(STATUS "install check passed")
