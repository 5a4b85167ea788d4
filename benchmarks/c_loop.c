/*
 * c_loop.c - the "plain C loop" baseline for retrotool's benchmarks.
 *
 * Runs a libretro core as fast as a minimal C frontend can: no Python, no
 * host library, callbacks that do almost nothing. retrotool's own numbers
 * are compared against this one.
 *
 *   c_loop CORE ROM STATE_OR_- BUTTONS.u16 PORTS [--video]
 *
 * BUTTONS.u16 holds frames*PORTS native-endian uint16 joypad masks,
 * frame-major (bit i = libretro joypad id i). One retro_run per frame; only
 * the loop is timed (CLOCK_MONOTONIC). --video converts every frame to
 * packed RGB24 (the "C loop with frame capture" baseline).
 * Prints one JSON line: {"frames": N, "seconds": S, "fps": F}
 *
 * Fairness: GET_VARIABLE is answered only as stable-retro answers it. The
 * ROM is given by bytes (with its path), or by path alone to need_fullpath
 * cores.
 *
 * Build: gcc -O2 -o c_loop c_loop.c -ldl
 */
#define _POSIX_C_SOURCE 200809L
#include "../libretro_cores/host/retro_abi.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int pixel_format = RETRO_PIXEL_FORMAT_0RGB1555;
static const uint16_t *frame_pads; /* masks of the frame being run */
static unsigned n_ports;
static int capture_video;
static uint8_t *rgb; /* --video target, max_width*max_height*3 */
static size_t rgb_cap;

/* Option answers matching stable-retro's frontend: it answers these three
 * genesis_plus_gx keys (its core build reads them without checking for an
 * answer) and nothing else, so every other GET_VARIABLE returns false. */
static const char *const k_options[][2] = {
    {"genesis_plus_gx_bram", "per game"},
    {"genesis_plus_gx_render", "single field"},
    {"genesis_plus_gx_blargg_ntsc_filter", "disabled"},
};

static bool get_variable(struct retro_variable *var) {
  for (size_t i = 0; var->key && i < sizeof k_options / sizeof k_options[0]; i++) {
    if (strcmp(var->key, k_options[i][0]) == 0) {
      var->value = k_options[i][1];
      return true;
    }
  }
  return false;
}

/* Only what a core needs to run: pixel format, dupes, stable-retro's option
 * answers, "." for directories. */
static bool environment(unsigned cmd, void *data) {
  switch (cmd & ~(unsigned)RETRO_ENVIRONMENT_EXPERIMENTAL) {
  case RETRO_ENVIRONMENT_GET_VARIABLE:
    return get_variable(data);
  case RETRO_ENVIRONMENT_SET_PIXEL_FORMAT: {
    int f = *(const int *)data;
    if (f < 0 || f > 2) return false;
    pixel_format = f;
    return true;
  }
  case RETRO_ENVIRONMENT_GET_CAN_DUPE:
    *(bool *)data = true;
    return true;
  case RETRO_ENVIRONMENT_GET_SYSTEM_DIRECTORY:
  case RETRO_ENVIRONMENT_GET_SAVE_DIRECTORY:
    *(const char **)data = ".";
    return true;
  default:
    return false;
  }
}

static void to_rgb(const void *data, unsigned w, unsigned h, size_t pitch) {
  if ((size_t)w * h * 3 > rgb_cap) return;
  for (unsigned y = 0; y < h; y++) {
    const uint8_t *row = (const uint8_t *)data + y * pitch;
    uint8_t *d = rgb + (size_t)y * w * 3;
    for (unsigned x = 0; x < w; x++, d += 3) {
      if (pixel_format == RETRO_PIXEL_FORMAT_XRGB8888) {
        uint32_t p = ((const uint32_t *)row)[x];
        d[0] = (uint8_t)(p >> 16), d[1] = (uint8_t)(p >> 8), d[2] = (uint8_t)p;
      } else if (pixel_format == RETRO_PIXEL_FORMAT_RGB565) {
        unsigned p = ((const uint16_t *)row)[x];
        d[0] = (uint8_t)((p >> 11) << 3), d[1] = (uint8_t)(((p >> 5) & 63) << 2), d[2] = (uint8_t)((p & 31) << 3);
      } else {
        unsigned p = ((const uint16_t *)row)[x];
        d[0] = (uint8_t)(((p >> 10) & 31) << 3), d[1] = (uint8_t)(((p >> 5) & 31) << 3),
        d[2] = (uint8_t)((p & 31) << 3);
      }
    }
  }
}

static void video_refresh(const void *data, unsigned w, unsigned h, size_t pitch) {
  if (capture_video && data) to_rgb(data, w, h, pitch);
}
static void audio_sample(int16_t l, int16_t r) { (void)l, (void)r; }
static size_t audio_batch(const int16_t *d, size_t frames) { return (void)d, frames; }
static void input_poll(void) {}

static int16_t input_state(unsigned port, unsigned device, unsigned index, unsigned id) {
  (void)index;
  if (port >= n_ports || (device & RETRO_DEVICE_MASK) != RETRO_DEVICE_JOYPAD) return 0;
  unsigned m = frame_pads[port];
  if (id == RETRO_DEVICE_ID_JOYPAD_MASK) return (int16_t)m;
  return id < 16 ? (int16_t)((m >> id) & 1) : 0;
}

static void *read_all(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  void *buf = NULL;
  long n = -1;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
      (buf = malloc(n ? (size_t)n : 1)) && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *size = (size_t)n;
  return buf;
}

static void *sym(void *dl, const char *name) {
  void *p = dlsym(dl, name);
  if (!p) {
    fprintf(stderr, "c_loop: missing symbol %s\n", name);
    exit(1);
  }
  return p;
}

/* dlsym returns void *; copy it into a function pointer variable. */
#define LOAD(var, name) do { void *p_ = sym(dl, name); memcpy(&(var), &p_, sizeof p_); } while (0)

int main(int argc, char **argv) {
  if (argc < 6 || argc > 7 || (argc == 7 && strcmp(argv[6], "--video") != 0)) {
    fprintf(stderr, "usage: c_loop CORE ROM STATE_OR_- BUTTONS.u16 PORTS [--video]\n");
    return 2;
  }
  capture_video = argc == 7;
  n_ports = (unsigned)atoi(argv[5]);
  void *dl = dlopen(argv[1], RTLD_LAZY | RTLD_LOCAL);
  if (!dl) {
    fprintf(stderr, "c_loop: %s\n", dlerror());
    return 1;
  }
  void (*set_env)(retro_environment_t), (*set_video)(retro_video_refresh_t), (*set_audio)(retro_audio_sample_t);
  void (*set_batch)(retro_audio_sample_batch_t), (*set_poll)(retro_input_poll_t), (*set_input)(retro_input_state_t);
  void (*init)(void), (*run)(void), (*get_info)(struct retro_system_info *);
  void (*get_av)(struct retro_system_av_info *);
  bool (*load_game)(const struct retro_game_info *), (*unserialize)(const void *, size_t);
  LOAD(set_env, "retro_set_environment");
  LOAD(set_video, "retro_set_video_refresh");
  LOAD(set_audio, "retro_set_audio_sample");
  LOAD(set_batch, "retro_set_audio_sample_batch");
  LOAD(set_poll, "retro_set_input_poll");
  LOAD(set_input, "retro_set_input_state");
  LOAD(init, "retro_init");
  LOAD(run, "retro_run");
  LOAD(get_info, "retro_get_system_info");
  LOAD(get_av, "retro_get_system_av_info");
  LOAD(load_game, "retro_load_game");
  LOAD(unserialize, "retro_unserialize");

  set_env(environment);
  set_video(video_refresh);
  set_audio(audio_sample);
  set_batch(audio_batch);
  set_poll(input_poll);
  set_input(input_state);
  init();

  struct retro_system_info si = {0};
  get_info(&si);
  struct retro_game_info game = {argv[2], NULL, 0, NULL};
  void *rom = NULL;
  if (!si.need_fullpath) {
    if (!(rom = read_all(argv[2], &game.size))) {
      fprintf(stderr, "c_loop: cannot read %s\n", argv[2]);
      return 1;
    }
    game.data = rom;
  }
  if (!load_game(&game)) {
    fprintf(stderr, "c_loop: the core refused %s\n", argv[2]);
    return 1;
  }
  struct retro_system_av_info av = {0};
  get_av(&av);
  rgb_cap = (size_t)av.geometry.max_width * av.geometry.max_height * 3;
  if (capture_video && !(rgb = malloc(rgb_cap))) return 1;

  if (strcmp(argv[3], "-") != 0) {
    size_t n;
    void *state = read_all(argv[3], &n);
    if (!state || !unserialize(state, n)) {
      fprintf(stderr, "c_loop: cannot load state %s\n", argv[3]);
      return 1;
    }
    free(state);
  }
  size_t nbytes;
  uint16_t *pads = read_all(argv[4], &nbytes);
  if (!pads || n_ports == 0) {
    fprintf(stderr, "c_loop: cannot read %s (or PORTS is 0)\n", argv[4]);
    return 1;
  }
  size_t frames = nbytes / (2 * n_ports);

  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (size_t f = 0; f < frames; f++) {
    frame_pads = pads + f * n_ports;
    run();
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
  printf("{\"frames\": %zu, \"seconds\": %.6f, \"fps\": %.1f}\n", frames, s, s > 0 ? (double)frames / s : 0.0);
  return 0;
}
