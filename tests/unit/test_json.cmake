# JSON output: src/json_out.c with jansson.
target_sources(test_json PRIVATE ${PROJECT_SOURCE_DIR}/src/json_out.c)
target_include_directories(test_json PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(test_json PRIVATE PkgConfig::JANSSON)
