// `berth serve`'s malloc arena limit, set before main.
//
// glibc gives each thread that allocates its own arena (up to 8 per core)
// and each arena keeps its freed memory. mallopt(M_ARENA_MAX) only limits
// arenas created after it: by the time Swift code in `berth serve` runs,
// the concurrency runtime's worker threads have allocated and own arenas
// already (malloc_info after bench/sync: a limit of one set from Swift still
// left two arenas). A constructor runs before any of those threads exist. Other
// commands are short-lived and keep glibc's default; MALLOC_ARENA_MAX in the
// environment wins, as glibc documents. BerthServer's MallocTuning says why
// two arenas.
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

__attribute__((constructor)) static void berth_serve_malloc_arenas(int argc, char **argv) {
    if (argc < 2 || argv == NULL || argv[1] == NULL || strcmp(argv[1], "serve") != 0) return;
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    if (strcmp(base, "berth") != 0 || getenv("MALLOC_ARENA_MAX") != NULL) return;
    mallopt(M_ARENA_MAX, 2);
}
