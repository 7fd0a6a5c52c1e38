# Batch input parsing: src/batch.c.
target_sources(test_batch PRIVATE ${PROJECT_SOURCE_DIR}/src/batch.c)
target_include_directories(test_batch PRIVATE ${PROJECT_SOURCE_DIR}/src)
