/* Test-only fault injection (src/testhook.c). With MONOLAB_TEST_KILL_AT
 * unset, which is every real use, these do nothing but one cached check.
 *
 * MONOLAB_TEST_KILL_AT=<event>:<n> raises SIGKILL at the n-th occurrence
 * (1-based) of a named event, so a test can kill a sweep at an exact moment:
 *   step            after a training step, before its log and checkpoint
 *   group           between two waves of groups (after one wave's outputs,
 *                   before the next; a wave is one group unless groups
 *                   train side by side)
 *   write:ckpt      half-way through writing a checkpoint (temp file open,
 *   write:loss        partly written, not yet renamed), and likewise for a
 *   write:runs.csv    loss file, runs.csv and config.yaml
 *   write:config
 * The kill tests (tests/test_reliability.py) use it next to random-time
 * kills; it is not a user feature. */
#ifndef MONOLAB_TESTHOOK_H
#define MONOLAB_TESTHOOK_H

void ml_test_point(const char *event);
/* The write:<kind> event for a file monolab is about to replace. */
void ml_test_write_point(const char *path);

#endif
