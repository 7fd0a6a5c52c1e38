# Convenience wrapper; the build itself is CMake (see build.sh).
.PHONY: all build check test demo bench fuzz install clean
all build:
	./build.sh build
check test:
	./build.sh test
demo:
	./build.sh demo
bench:
	./build.sh bench
fuzz:
	./build.sh fuzz $(or $(SECONDS),60)
install:
	./build.sh install
clean:
	rm -rf build build-*
