# The live view's screen (src/live.c) against a fake monitor: the test
# defines the monitor's accessors itself (no lib/core/monitor.c needed).
target_sources(test_live PRIVATE ${PROJECT_SOURCE_DIR}/src/live.c
               ${PROJECT_SOURCE_DIR}/tests/live/fake_monitor.c)
target_include_directories(test_live PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests/live)
target_link_libraries(test_live PRIVATE PkgConfig::NCURSES m)
