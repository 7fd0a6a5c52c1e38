# JSON output: src/json_out.c (jansson reads it back in the tests).
target_sources(test_json PRIVATE ${PROJECT_SOURCE_DIR}/src/json_out.c)
target_include_directories(test_json PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(test_json PRIVATE PkgConfig::JANSSON)

# The outputs of test_json must satisfy docs/hoptrace.schema.json: this
# keeps the schema, the documentation and the code in step.
find_package(Python3 COMPONENTS Interpreter)
if(Python3_FOUND)
  add_test(NAME unit.json_schema
           COMMAND sh -c "d=$(mktemp -d) && trap 'rm -rf \"$d\"' EXIT && HT_JSON_DUMP_DIR=\"$d\" \"$1\" >/dev/null && \"$2\" \"$3\" \"$4\" \"$d\"/*"
                   sh $<TARGET_FILE:test_json> ${Python3_EXECUTABLE}
                   ${CMAKE_CURRENT_SOURCE_DIR}/json/schema_check.py
                   ${PROJECT_SOURCE_DIR}/docs/hoptrace.schema.json)
  set_tests_properties(unit.json_schema PROPERTIES SKIP_RETURN_CODE 77)
endif()
