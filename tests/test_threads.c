/* The thread gauge (src/threads.c): when the share of CPU time a step's
 * threads got falls below ML_GAUGE_LOW it sheds threads; with fewer than
 * the maximum it tries one more after a back-off, keeps it when the share
 * stays at or above ML_GAUGE_KEEP and otherwise backs off twice as long
 * (2 s, 4 s, ... at most 16 s); OMP_NUM_THREADS fixes the count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <time.h>
#include "monolab/threads.h"

static void test_sheds_probes_and_backs_off(void **s) {
    (void)s;
    unsetenv("OMP_NUM_THREADS");
    ml_thread_gauge g;
    ml_thread_gauge_init(&g, 2, 2);
    assert_int_equal(ml_thread_gauge_decide(&g, 0.97, 0.0), 2); /* alone: all threads */
    assert_int_equal(ml_thread_gauge_decide(&g, 0.67, 1.0), 1); /* one busy neighbour on 2 cores */
    assert_int_equal(ml_thread_gauge_decide(&g, 1.00, 2.9), 1); /* no try before the back-off */
    assert_int_equal(ml_thread_gauge_decide(&g, 1.00, 3.0), 2); /* try one more */
    assert_int_equal(ml_thread_gauge_decide(&g, 0.60, 3.1), 1); /* still shared: back, wait 4 s */
    assert_int_equal(ml_thread_gauge_decide(&g, 1.00, 7.0), 1);
    assert_int_equal(ml_thread_gauge_decide(&g, 1.00, 7.1), 2);
    assert_int_equal(ml_thread_gauge_decide(&g, 0.50, 7.2), 1); /* wait 8 s */
    assert_int_equal(ml_thread_gauge_decide(&g, 1.00, 15.1), 1);
    assert_int_equal(ml_thread_gauge_decide(&g, 1.00, 15.2), 2);
    assert_int_equal(ml_thread_gauge_decide(&g, 0.90, 15.3), 2);  /* the neighbour left: kept */
    assert_int_equal(ml_thread_gauge_decide(&g, 0.95, 100.0), 2); /* stays at the maximum */
}

static void test_sheds_in_proportion_and_caps_backoff(void **s) {
    (void)s;
    unsetenv("OMP_NUM_THREADS");
    ml_thread_gauge g;
    ml_thread_gauge_init(&g, 8, 8);
    assert_int_equal(ml_thread_gauge_decide(&g, 0.30, 0.0), 2); /* 8 threads got 2.4 cores */
    assert_int_equal(ml_thread_gauge_decide(&g, 0.70, 0.5), 1); /* still too little */
    double t = 0.5;
    for (int i = 0; i < 6; i++) { /* failed tries: 2, 4, 8, 16, 16, 16 s apart */
        double wait = i < 3 ? 2 << i : 16;
        assert_int_equal(ml_thread_gauge_decide(&g, 1.0, t + wait - 0.01), 1);
        assert_int_equal(ml_thread_gauge_decide(&g, 1.0, t + wait), 2);
        t += wait + 0.1;
        assert_int_equal(ml_thread_gauge_decide(&g, 0.5, t), 1);
    }
    assert_int_equal(ml_thread_gauge_decide(&g, 1.0, t + 16), 2);
    assert_int_equal(ml_thread_gauge_decide(&g, 0.9, t + 16.1), 2); /* kept */
    assert_int_equal(ml_thread_gauge_decide(&g, 0.78, t + 17), 2); /* between LOW and KEEP: hold */
    assert_int_equal(ml_thread_gauge_decide(&g, 0.9, t + 18.2), 3); /* back-off reset to 2 s: try again */
}

static void test_omp_num_threads_fixes_the_count(void **s) {
    (void)s;
    const char *user[] = {"OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT"};
    ml_thread_gauge g;
    for (int u = 0; u < 3; u++) { /* the user chose: never adapt, however long the window */
        setenv(user[u], u == 1 ? "PASSIVE" : "2", 1);
        ml_thread_gauge_init(&g, 2, 2);
        assert_true(g.fixed);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(ml_thread_gauge_begin(&g), 2);
            struct timespec nap = {0, 60 * 1000 * 1000}; /* idle: a share near 0 if it were measured */
            nanosleep(&nap, NULL);
            ml_thread_gauge_end(&g);
        }
        assert_int_equal(g.nt, 2);
        unsetenv(user[u]);
    }
    ml_thread_gauge_init(&g, 2, 2); /* not fixed: the same idle steps shed a thread */
    assert_false(g.fixed);
    for (int i = 0; i < 3; i++) {
        ml_thread_gauge_begin(&g);
        struct timespec nap = {0, 60 * 1000 * 1000};
        nanosleep(&nap, NULL);
        ml_thread_gauge_end(&g);
    }
    assert_int_equal(g.nt, 1);
    ml_thread_gauge_init(&g, 1, 4); /* one thread: nothing to shed */
    assert_int_equal(ml_thread_gauge_begin(&g), 1);
    ml_thread_gauge_end(&g);
}

/* Work items that do not divide over the threads: 3 items on 2 threads
 * leave one thread idle a quarter of the time, which is not contention, so
 * the measured share is judged against the 0.75 the split allows. */
static void test_uneven_split_allowance(void **s) {
    (void)s;
    unsetenv("OMP_NUM_THREADS");
    ml_thread_gauge g;
    ml_thread_gauge_init(&g, 2, 3);
    for (int i = 0; i < 4; i++) { /* measured: one busy thread of the two */
        ml_thread_gauge_begin(&g);
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        do clock_gettime(CLOCK_MONOTONIC, &t);
        while ((t.tv_sec - t0.tv_sec) + 1e-9 * (t.tv_nsec - t0.tv_nsec) < 0.04);
        ml_thread_gauge_end(&g);
    }
    /* share 0.5 against the 0.75 allowed: 0.67, below ML_GAUGE_LOW: shed */
    assert_int_equal(g.nt, 1);
    ml_thread_gauge_init(&g, 2, 2); /* the same share with an even split is also shed */
    assert_int_equal(ml_thread_gauge_decide(&g, 0.5 / 1.0, 0), 1);
    ml_thread_gauge_init(&g, 2, 3); /* 0.7 of the CPU when 0.75 is allowed: 0.93, kept */
    assert_int_equal(ml_thread_gauge_decide(&g, 0.7 / 0.75, 0), 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sheds_probes_and_backs_off),
        cmocka_unit_test(test_sheds_in_proportion_and_caps_backoff),
        cmocka_unit_test(test_omp_num_threads_fixes_the_count),
        cmocka_unit_test(test_uneven_split_allowance),
    };
    return cmocka_run_group_tests_name("threads", tests, NULL, NULL);
}
