/* The file helpers under hostile conditions (issue "No injection, no
 * clobbering"): a symlink planted at a temporary or final name is replaced,
 * never written through; reads refuse FIFOs, devices and oversized files,
 * naming the file, instead of hanging or filling memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "monolab/common.h"
#include "monolab/dir_swap.h"
#include "monolab/fsutil.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static jmp_buf died;
static char died_msg[512];
static void on_die(int code, const char *msg) {
    assert_int_equal(code, 2);
    snprintf(died_msg, sizeof died_msg, "%s", msg);
    longjmp(died, 1);
}

static char dir[256];

static int setup(void **s) {
    (void)s;
    snprintf(dir, sizeof dir, "/tmp/ml_fsutil_XXXXXX");
    assert_non_null(mkdtemp(dir));
    ml_set_die_hook(on_die);
    return 0;
}

static int teardown(void **s) {
    (void)s;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static void write_plain(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void assert_content(const char *path, const char *want) {
    size_t n;
    char *got = ml_read_file(path, &n);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* A link planted at the temporary name of our pid, and one at the final
 * name: both point at a file that must keep its bytes. */
static void test_atomic_write_never_follows_links(void **s) {
    (void)s;
    char precious[300], path[300], tmp[320];
    snprintf(precious, sizeof precious, "%s/precious", dir);
    snprintf(path, sizeof path, "%s/out.json", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
    write_plain(precious, "keep me\n");
    assert_int_equal(symlink(precious, tmp), 0);
    assert_int_equal(symlink(precious, path), 0);
    ml_atomic_write_text(path, "{}");
    assert_content(precious, "keep me\n");
    assert_content(path, "{}\n");
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(lstat(tmp, &st), -1);
}

static void test_create_new_refuses_a_link(void **s) {
    (void)s;
    char precious[300], path[300];
    snprintf(precious, sizeof precious, "%s/precious2", dir);
    snprintf(path, sizeof path, "%s/new.js", dir);
    write_plain(precious, "keep me\n");
    assert_int_equal(symlink(precious, path), 0);
    assert_null(ml_create_new(path));
    assert_content(precious, "keep me\n");
}

static void expect_refused(const char *path, size_t max, const char *want) {
    died_msg[0] = 0;
    if (!setjmp(died)) {
        ml_read_file_max(path, NULL, max);
        fail_msg("reading %s did not exit", path);
    }
    assert_non_null(strstr(died_msg, path));
    assert_non_null(strstr(died_msg, want));
}

static void test_reads_refuse_fifos_devices_and_huge_files(void **s) {
    (void)s;
    char fifo[300], big[300];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    expect_refused(fifo, ML_READ_MAX, "not a regular file (a FIFO)"); /* would block for ever on open */
    expect_refused("/dev/zero", ML_READ_MAX, "not a regular file (a device)"); /* would never end */
    snprintf(big, sizeof big, "%s/big", dir);
    int fd = open(big, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)1 << 31), 0); /* sparse: 2 GB that cost nothing */
    close(fd);
    expect_refused(big, 1 << 20, "2147483648 bytes is more than the 1048576");
    expect_refused(dir, ML_READ_MAX, "not a regular file (a folder)");
}

/* A build folder begun and never committed is removed when the process
 * that began it exits (ml_die exits 2 between begin and commit), and only
 * then: a forked child exiting through the same handlers leaves it. Run in
 * a child, whose exit is the one under test; its exit status says whether
 * the build was still there after its own child exited. */
static void test_uncommitted_build_removed_at_exit_by_its_owner(void **s) {
    (void)s;
    char site[300], build[400];
    snprintf(site, sizeof site, "%s/site", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ml_dir_build_begin(site, build, sizeof build);
        pid_t child = fork();
        if (child == 0) exit(0); /* runs the atexit handlers, in another process */
        int st;
        waitpid(child, &st, 0);
        exit(ml_file_exists(build) ? 0 : 3);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0); /* the child of the builder left the build */
    snprintf(build, sizeof build, "%s/.site.partial", dir);
    assert_false(ml_file_exists(build)); /* the builder's exit removed it */
    assert_false(ml_file_exists(site));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_atomic_write_never_follows_links),
        cmocka_unit_test(test_create_new_refuses_a_link),
        cmocka_unit_test(test_reads_refuse_fifos_devices_and_huge_files),
        cmocka_unit_test(test_uncommitted_build_removed_at_exit_by_its_owner),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
