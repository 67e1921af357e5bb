// berth-shim: the per-container monitor (conmon's job). All logic lives in
// CBerthLinux so that it can be unit-built with the rest of the package.
#include "berth_linux.h"

int main(int argc, char **argv) { return berth_shim_main(argc, argv); }
