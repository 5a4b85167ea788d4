/*
 * host_check.c - drives every rh_* call of the native host on the test core,
 * good paths and refused ones, so valgrind can check the host's memory use
 * (tests/e2e/test_host_valgrind.py builds it and runs it under valgrind).
 * Prints one line per step; exits non-zero when a call's result is wrong.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rhost.h"

static int failures;

static void expect(int ok, const char *what, const rh_host *h) {
  printf("%s %s%s%s\n", ok ? "ok  " : "FAIL", what, h && !ok ? ": " : "", h && !ok ? rh_last_error(h) : "");
  failures += !ok;
}

int main(int argc, char **argv) {
  if (argc != 3) return fprintf(stderr, "usage: host_check CORE ROM\n"), 2;
  char err[256];
  expect(rh_open("/nonexistent/core.so", "/tmp", "/tmp", RH_PROFILE_FULL, err, sizeof err) == NULL, "a missing core is refused", NULL);
  rh_host *h = rh_open(argv[1], "/tmp", "/tmp", RH_PROFILE_FULL, err, sizeof err);
  if (!h) return printf("FAIL open: %s\n", err), 1;
  expect(rh_capture_stdout(h, 1) == RH_OK, "capture stdout", h);
  expect(rh_set_option(h, "testcore_pixel_format", "xrgb8888") == RH_OK, "set an option", h);
  const char *key, *def, *cur;
  for (int i = 0; i < rh_option_count(h); i++) rh_option_get(h, i, &key, &def, &cur);
  expect(rh_run(h, 1, NULL, 0, NULL, 0, NULL, RH_PICTURE_NATIVE, 0) < 0, "running before a game is loaded is refused", NULL);
  expect(rh_load_game(h, argv[2], NULL, 0) == RH_OK, "load the game", h);
  for (unsigned p = 0; p < 2; p++) rh_set_port_device(h, p, 1);
  rh_av av;
  expect(rh_av_info(h, &av) == RH_OK && av.max_width > 0, "av info", h);

  size_t frame_bytes = (size_t)av.max_width * av.max_height * 3, n = 40;
  uint8_t *video = malloc(n * frame_bytes);
  uint16_t *dims = malloc(n * 2 * sizeof *dims), *pads = malloc(n * 2 * sizeof *pads);
  for (size_t i = 0; i < n * 2; i++) pads[i] = (uint16_t)(i * 2654435761u >> 16);
  expect(rh_run(h, n, pads, 2, video, frame_bytes, dims, RH_PICTURE_NATIVE, 1) == (long)n, "run with video and audio", h);
  size_t samples = 0;
  expect(rh_audio(h, &samples) != NULL && samples > 0, "audio", h);
  expect(rh_run(h, n, pads, 2, video, 16, dims, RH_PICTURE_NATIVE, 0) < 0, "frames larger than frame_bytes are refused", NULL);

  size_t ram_size = 0;
  uint8_t *ram = rh_memory(h, 2, &ram_size);
  expect(ram && ram_size >= 0x40, "system RAM", h);
  rh_span spans[2] = {{ram + 0x10, 4}, {ram + 0x20, 4}};
  uint8_t watched[40 * 8];
  expect(rh_watch_memory(h, spans, 2, watched, sizeof watched) == RH_OK, "watch memory", h);
  expect(rh_run(h, n, pads, 2, NULL, 0, NULL, RH_PICTURE_NATIVE, 0) == (long)n, "run watched", h);
  expect(memcmp(watched + (n - 1) * 8, ram + 0x10, 4) == 0, "the last watched row is the RAM now", h);
  expect(rh_run(h, n + 1, NULL, 2, NULL, 0, NULL, RH_PICTURE_NATIVE, 0) < 0, "a batch beyond the watch buffer is refused", NULL);
  rh_span empty = {ram, 0};
  expect(rh_watch_memory(h, &empty, 1, watched, sizeof watched) < 0, "an empty span is refused", NULL);
  expect(rh_watch_memory(h, spans, 2, watched, 4) < 0, "a buffer smaller than a row is refused", NULL);

  size_t size = rh_serialize_size(h);
  uint8_t *state = malloc(size + 64);
  expect(rh_serialize(h, state, size) == RH_OK, "serialize", h);
  expect(rh_unserialize(h, state, size) == RH_OK, "unserialize", h);
  expect(rh_unserialize(h, state, size / 2) == RH_ESTATE, "a short state is refused (after a padded try)", NULL);
  memset(state + size, 0, 64);
  expect(rh_unserialize(h, state, size + 64) == RH_ESTATE, "a long state is refused", NULL);

  uint8_t *screen = malloc(frame_bytes);
  unsigned w = 0, hh = 0;
  expect(rh_screen(h, RH_PICTURE_NATIVE, screen, frame_bytes, &w, &hh) > 0 && w > 0, "screen", h);
  expect(rh_set_obs_size(h, 0, 0) < 0, "an empty observation size is refused", NULL);
  expect(rh_set_obs_size(h, av.base_width, av.base_height) == RH_OK, "observation size", h);
  expect(rh_run(h, n, pads, 2, video, frame_bytes, dims, RH_PICTURE_OBS, 0) == (long)n && dims[0] == av.base_width,
         "run with observation pictures", h);
  expect(rh_run(h, 1, pads, 2, video, 16, dims, RH_PICTURE_OBS, 0) < 0, "an observation larger than frame_bytes is refused", NULL);
  expect(rh_screen(h, RH_PICTURE_OBS, screen, frame_bytes, &w, &hh) > 0 && w == av.base_width, "observation screen", h);
  rh_memdesc d;
  for (int i = 0; i < rh_memory_map_count(h); i++) rh_memory_map_get(h, i, &d);
  volatile uint64_t counter = 0;
  rh_set_frame_counter(h, &counter);
  expect(rh_run(h, 3, NULL, 0, NULL, 0, NULL, RH_PICTURE_NATIVE, 0) == 3 && counter == 3, "frame counter", h);
  rh_set_frame_counter(h, NULL);
  expect(rh_reset(h) == RH_OK, "reset", h);
  char log[4096];
  rh_log_read(h, log, sizeof log);
  rh_close(h); /* with a watch still set */

  h = rh_open(argv[1], "/tmp", "/tmp", RH_PROFILE_STABLE_RETRO, err, sizeof err);
  expect(h != NULL, "open with stable-retro's environment", NULL);
  expect(rh_load_game(h, argv[2], NULL, 0) == RH_OK, "load the game (stable-retro's environment)", h);
  expect(rh_run(h, n, pads, 2, video, frame_bytes, dims, RH_PICTURE_OBS, 1) == (long)n, "run (stable-retro's environment)", h);
  rh_close(h);
  expect(rh_open(argv[1], "/tmp", "/tmp", 7, err, sizeof err) == NULL, "an unknown profile is refused", NULL);
  free(video), free(dims), free(pads), free(state), free(screen);
  printf("%d failures\n", failures);
  return failures != 0;
}
