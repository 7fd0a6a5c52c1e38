# The batch progress line: src/progress.c.
target_sources(test_progress PRIVATE ${PROJECT_SOURCE_DIR}/src/progress.c)
target_include_directories(test_progress PRIVATE ${PROJECT_SOURCE_DIR}/src)
