target_sources(test_text_out PRIVATE ${PROJECT_SOURCE_DIR}/src/text_out.c)
target_include_directories(test_text_out PRIVATE ${PROJECT_SOURCE_DIR}/src)
