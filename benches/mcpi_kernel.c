/* The C reference for benches/kernel.sh: the worker's sampling loop (thread 0 of a run, see
 * tasks/mc-pi/src/kernel/mod.rs for the stream definition) written by hand in C with SIMD
 * intrinsics, the way a C programmer would write it for an HPC node:
 *
 *   8 lanes of xoshiro256++ (SplitMix64 seeding, lane l = the seed's generator after l jumps
 *   of 2^128), each output u a point x = u >> 32, y = u & 0xffffffff, a hit when
 *   x*x + y*y does not carry out of 64 bits; count the hits.
 *
 *   mcpi_kernel avx2|avx512 SAMPLES SEED
 *
 * prints "kernel hits samples seconds samples_per_s cpu_seconds"; only the sampling loop is
 * timed, by the wall clock and by this thread's CPU clock (the seeding and jumps before it are
 * not). SAMPLES must be a multiple of 8. The hits equal
 * `hrun-mc-pi -t 1 -n SAMPLES --seed SEED`'s, which kernel.sh checks.
 * Build: cc -O3 -march=native -o mcpi_kernel mcpi_kernel.c */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LANES 8

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next(uint64_t s[4]) {
    uint64_t out = rotl(s[0] + s[3], 23) + s[0];
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* The generator's own jump polynomial: 2^128 steps ahead. */
static void jump(uint64_t s[4]) {
    static const uint64_t J[4] = {0x180ec6d33cfd0abaULL, 0xd5a61266f0c9392cULL,
                                  0xa9582618e03fc9aaULL, 0x39abdc4529b1661cULL};
    uint64_t t[4] = {0, 0, 0, 0};
    for (int i = 0; i < 4; i++)
        for (int b = 0; b < 64; b++) {
            if (J[i] & (1ULL << b))
                for (int w = 0; w < 4; w++) t[w] ^= s[w];
            next(s);
        }
    memcpy(s, t, sizeof t);
}

/* state[w][lane]: word w of lane `lane`, as the vector loops load it. */
static void seed_lanes(uint64_t seed, uint64_t state[4][LANES]) {
    uint64_t s[4], x = seed;
    for (int w = 0; w < 4; w++) s[w] = splitmix64(&x);
    for (int l = 0; l < LANES; l++) {
        for (int w = 0; w < 4; w++) state[w][l] = s[w];
        jump(s);
    }
}

__attribute__((target("avx2"))) static inline __m256i rotl256(__m256i x, int k) {
    return _mm256_or_si256(_mm256_slli_epi64(x, k), _mm256_srli_epi64(x, 64 - k));
}

/* Two registers of four lanes each. A miss is an unsigned carry (sum < x*x); AVX2 compares
 * signed only, so both sides get their sign bit flipped. */
__attribute__((target("avx2"))) static uint64_t hits_avx2(uint64_t state[4][LANES], uint64_t rounds) {
    __m256i s[4][2];
    for (int w = 0; w < 4; w++)
        for (int h = 0; h < 2; h++) s[w][h] = _mm256_loadu_si256((const __m256i *)&state[w][4 * h]);
    const __m256i sign = _mm256_set1_epi64x((long long)0x8000000000000000ULL);
    __m256i misses[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    for (uint64_t r = 0; r < rounds; r++) {
        for (int h = 0; h < 2; h++) {
            __m256i u = _mm256_add_epi64(rotl256(_mm256_add_epi64(s[0][h], s[3][h]), 23), s[0][h]);
            __m256i t = _mm256_slli_epi64(s[1][h], 17);
            s[2][h] = _mm256_xor_si256(s[2][h], s[0][h]);
            s[3][h] = _mm256_xor_si256(s[3][h], s[1][h]);
            s[1][h] = _mm256_xor_si256(s[1][h], s[2][h]);
            s[0][h] = _mm256_xor_si256(s[0][h], s[3][h]);
            s[2][h] = _mm256_xor_si256(s[2][h], t);
            s[3][h] = rotl256(s[3][h], 45);
            __m256i x = _mm256_srli_epi64(u, 32);
            __m256i xx = _mm256_mul_epu32(x, x);
            __m256i sum = _mm256_add_epi64(xx, _mm256_mul_epu32(u, u));
            __m256i carry = _mm256_cmpgt_epi64(_mm256_xor_si256(xx, sign), _mm256_xor_si256(sum, sign));
            misses[h] = _mm256_sub_epi64(misses[h], carry);
        }
    }
    uint64_t m[8];
    _mm256_storeu_si256((__m256i *)m, misses[0]);
    _mm256_storeu_si256((__m256i *)(m + 4), misses[1]);
    uint64_t total = 0;
    for (int i = 0; i < 8; i++) total += m[i];
    return rounds * LANES - total;
}

/* One register of eight lanes: native rotates and an unsigned compare into a mask. */
__attribute__((target("avx512f"))) static uint64_t hits_avx512(uint64_t state[4][LANES], uint64_t rounds) {
    __m512i s0 = _mm512_loadu_si512(state[0]), s1 = _mm512_loadu_si512(state[1]);
    __m512i s2 = _mm512_loadu_si512(state[2]), s3 = _mm512_loadu_si512(state[3]);
    uint64_t misses = 0;
    for (uint64_t r = 0; r < rounds; r++) {
        __m512i u = _mm512_add_epi64(_mm512_rol_epi64(_mm512_add_epi64(s0, s3), 23), s0);
        __m512i t = _mm512_slli_epi64(s1, 17);
        s2 = _mm512_xor_si512(s2, s0);
        s3 = _mm512_xor_si512(s3, s1);
        s1 = _mm512_xor_si512(s1, s2);
        s0 = _mm512_xor_si512(s0, s3);
        s2 = _mm512_xor_si512(s2, t);
        s3 = _mm512_rol_epi64(s3, 45);
        __m512i x = _mm512_srli_epi64(u, 32);
        __m512i xx = _mm512_mul_epu32(x, x);
        __m512i sum = _mm512_add_epi64(xx, _mm512_mul_epu32(u, u));
        misses += (uint64_t)__builtin_popcount(_mm512_cmplt_epu64_mask(sum, xx));
    }
    return rounds * LANES - misses;
}

static double now(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: mcpi_kernel avx2|avx512 SAMPLES SEED\n");
        return 2;
    }
    const char *kernel = argv[1];
    uint64_t samples = strtoull(argv[2], NULL, 10), seed = strtoull(argv[3], NULL, 10);
    if (samples % LANES != 0) {
        fprintf(stderr, "mcpi_kernel: SAMPLES must be a multiple of %d (got %s)\n", LANES, argv[2]);
        return 2;
    }
    int avx512 = strcmp(kernel, "avx512") == 0;
    if (!avx512 && strcmp(kernel, "avx2") != 0) {
        fprintf(stderr, "mcpi_kernel: unknown kernel %s (avx2 or avx512)\n", kernel);
        return 2;
    }
    __builtin_cpu_init();
    if (avx512 ? !__builtin_cpu_supports("avx512f") : !__builtin_cpu_supports("avx2")) {
        fprintf(stderr, "mcpi_kernel: this CPU has no %s\n", kernel);
        return 3;
    }
    uint64_t state[4][LANES];
    seed_lanes(seed, state);
    double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_THREAD_CPUTIME_ID);
    uint64_t hits = avx512 ? hits_avx512(state, samples / LANES) : hits_avx2(state, samples / LANES);
    double secs = now(CLOCK_MONOTONIC) - t0, cpu = now(CLOCK_THREAD_CPUTIME_ID) - c0;
    printf("%s %llu %llu %.6f %.6e %.6f\n", kernel, (unsigned long long)hits, (unsigned long long)samples, secs,
           samples / secs, cpu);
    return 0;
}
