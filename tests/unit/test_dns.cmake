# Resolver: src/dns.c with c-ares; a fake DNS server thread on 127.0.0.1.
find_package(Threads REQUIRED)
target_sources(test_dns PRIVATE ${PROJECT_SOURCE_DIR}/src/dns.c)
target_include_directories(test_dns PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(test_dns PRIVATE PkgConfig::CARES Threads::Threads)
