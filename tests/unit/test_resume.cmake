# --resume: src/resume.c, with jansson.
target_sources(test_resume PRIVATE ${PROJECT_SOURCE_DIR}/src/resume.c)
target_include_directories(test_resume PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(test_resume PRIVATE PkgConfig::JANSSON)
