/*
 * testcore.c - "retrotool-testcore", a tiny deterministic libretro core.
 *
 * Written from scratch for retrotool's tests and demos: it needs no
 * commercial ROM, runs a frame in a few microseconds and exercises the parts
 * of the libretro ABI the frontend speaks (options v0/v1/v2, pixel formats,
 * dupe frames, joypad bitmasks, memory maps, serialization, logging, a noisy
 * stdout). README.md beside this file documents the observable behaviour;
 * tests rely on it, so keep the two in step.
 *
 * Rules kept throughout:
 *  - every piece of mutable game state lives in the 2048-byte system RAM
 *    (g.ram); everything else is configuration or a frontend capability;
 *  - no clock, no uninitialised memory, no floating point in the state;
 *  - the picture and the audio of a frame are pure functions of the RAM
 *    (plus the configured pixel format).
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "retro_abi.h"

#define TC_EXPORT __attribute__((visibility("default")))

/* ---- fixed facts ------------------------------------------------------- */

#define TC_WIDTH 160
#define TC_HEIGHT 144
#define TC_NARROW 128 /* width of the picture after testcore_narrow_from */
#define TC_FPS 59.922743 /* Genesis NTSC rate; the only float in the core */
#define TC_SAMPLE_RATE 44100

/* Audio frames per video frame = 44100 / (59922743 / 1000000), kept exact
 * with integers: acc += 44100 * 10^6 each frame, emit acc / 59922743. */
#define TC_AUDIO_NUM 44100000000ULL
#define TC_AUDIO_DEN 59922743ULL
/* Worst case for any 32-bit accumulator value (a hand-made state):
 * (2^32 - 1 + 44.1e9) / 59922743 < 808. */
#define TC_AUDIO_MAX_FRAMES 1024

#define TC_RAM_SIZE 2048
#define TC_STATE_HEADER "RTSTSAVE"
#define TC_STATE_HEADER_LEN 8
#define TC_STATE_SIZE (TC_STATE_HEADER_LEN + TC_RAM_SIZE)

#define TC_ROM_MAGIC "RTST"
#define TC_ROM_MAGIC_LEN 4

/* RAM layout (byte offsets; multi-byte values little-endian). */
#define RAM_MAGIC 0x000      /* 'T','C' */
#define RAM_VERSION 0x002    /* layout version = 1 */
#define RAM_FRAME 0x004      /* u32 frames run since power-on / reset */
#define RAM_INHASH 0x008     /* u32 input hash */
#define RAM_P0 0x00C         /* player 0 block (8 bytes) */
#define RAM_P1 0x014         /* player 1 block (8 bytes) */
#define P_X 0                /*   u8 x (0..152) */
#define P_Y 1                /*   u8 y (8..128) */
#define P_COLOUR 2           /*   u8 colour (RGB 3-3-2) */
#define P_PAD 3              /*   u8 always 0 */
#define P_SCORE 4            /*   u32 score */
#define RAM_AUDIO_ACC 0x01C  /* u32 audio fraction accumulator */
#define RAM_HELD0 0x020      /* u16 port 0 buttons held this frame */
#define RAM_HELD1 0x022      /* u16 port 1 buttons held this frame */
#define RAM_PREV0 0x024      /* u16 port 0 buttons held last frame */
#define RAM_PREV1 0x026      /* u16 port 1 buttons held last frame */
#define RAM_PHASE 0x028      /* u32 oscillator phase */
#define RAM_LAST_SAMPLES 0x02C /* u16 audio frames emitted by the last frame */
#define RAM_CFG_DIFF 0x02E   /* u8 mirror: difficulty (0 normal, 1 hard) */
#define RAM_CFG_PIXFMT 0x02F /* u8 mirror: pixel format (retro_pixel_format) */
#define RAM_RNG 0x030        /* u32 xorshift32 state, never 0 */
#define RAM_SEED 0x034       /* u32 FNV-1a hash of the ROM */
#define RAM_ROM_SIZE 0x038   /* u32 ROM size in bytes */
#define RAM_AUDIO_TOTAL 0x03C /* u32 audio frames emitted since power-on */
#define RAM_PATTERN 0x040    /* pattern area up to the end of RAM */
#define RAM_PATTERN_LEN (TC_RAM_SIZE - RAM_PATTERN)

#define RAM_LAYOUT_VERSION 1

/* Score per face button (joypad ids): B 1, A 2, X 4, Y 8. */
#define BIT(id) (1u << (id))

/* ---- globals (all reset by retro_deinit) ------------------------------- */

struct tc_globals {
  retro_environment_t env;
  retro_video_refresh_t video;
  retro_audio_sample_t audio_sample;
  retro_audio_sample_batch_t audio_batch;
  retro_input_poll_t input_poll;
  retro_input_state_t input_state;
  retro_log_printf_t log;

  bool initialised;
  bool loaded;
  bool can_dupe;
  bool bitmasks;
  unsigned options_api; /* 0 SET_VARIABLES, 1 SET_CORE_OPTIONS, 2 _V2 */
  unsigned port_device[2];

  /* Configuration (core options), not game state. */
  enum retro_pixel_format pixfmt;
  unsigned hard;
  uint32_t crash_at; /* debug: crash when starting this frame (0 = never) */
  uint32_t narrow_from; /* debug: from this frame on, show only the left TC_NARROW columns (0 = never) */
  unsigned shown_width; /* the width last announced with SET_GEOMETRY */

  /* Fixed for the loaded game. */
  uint32_t rom_seed;
  uint32_t rom_size;

  uint8_t ram[TC_RAM_SIZE];

  /* Scratch, fully rewritten before every use. */
  uint32_t fb32[TC_WIDTH * TC_HEIGHT];
  uint16_t fb16[TC_WIDTH * TC_HEIGHT];
  int16_t audio[TC_AUDIO_MAX_FRAMES * 2];

  struct retro_memory_descriptor memdesc;
  struct retro_memory_map memmap;
};

static struct tc_globals g;

/* ---- small helpers ---------------------------------------------------- */

static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static void wr16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

static uint32_t xorshift32(uint32_t x) {
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return x;
}

static uint32_t fnv1a32(const uint8_t *p, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 16777619u;
  }
  return h;
}

static void tc_log(enum retro_log_level level, const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (g.log) {
    g.log(level, "%s\n", buf);
  } else {
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    fprintf(stderr, "[%s] [retrotool-testcore] %s\n",
            (unsigned)level < 4 ? names[level] : "?", buf);
  }
}

static bool env_call(unsigned cmd, void *data) { return g.env ? g.env(cmd, data) : false; }

/* ---- core options ----------------------------------------------------- */

#define OPT_PIXFMT "testcore_pixel_format"
#define OPT_DIFF "testcore_difficulty"
#define OPT_PIXFMT_DESC "Pixel format"
#define OPT_PIXFMT_INFO "Format of the frames handed to the frontend. Read when a game is loaded."
#define OPT_DIFF_DESC "Difficulty"
#define OPT_DIFF_INFO "normal: face buttons score every frame they are held; hard: only on the frame they are pressed."

static struct retro_core_option_v2_category opt_v2_categories[] = {
    {NULL, NULL, NULL},
};

static struct retro_core_option_v2_definition opt_v2_defs[] = {
    {OPT_PIXFMT, OPT_PIXFMT_DESC, NULL, OPT_PIXFMT_INFO, NULL, NULL,
     {{"rgb565", "RGB565 (16-bit)"}, {"xrgb8888", "XRGB8888 (32-bit)"},
      {"0rgb1555", "0RGB1555 (15-bit)"}, {NULL, NULL}},
     "rgb565"},
    {OPT_DIFF, OPT_DIFF_DESC, NULL, OPT_DIFF_INFO, NULL, NULL,
     {{"normal", "Normal"}, {"hard", "Hard"}, {NULL, NULL}},
     "normal"},
    {NULL, NULL, NULL, NULL, NULL, NULL, {{NULL, NULL}}, NULL},
};

static struct retro_core_options_v2 opt_v2 = {opt_v2_categories, opt_v2_defs};

static struct retro_core_option_definition opt_v1_defs[] = {
    {OPT_PIXFMT, OPT_PIXFMT_DESC, OPT_PIXFMT_INFO,
     {{"rgb565", "RGB565 (16-bit)"}, {"xrgb8888", "XRGB8888 (32-bit)"},
      {"0rgb1555", "0RGB1555 (15-bit)"}, {NULL, NULL}},
     "rgb565"},
    {OPT_DIFF, OPT_DIFF_DESC, OPT_DIFF_INFO, {{"normal", "Normal"}, {"hard", "Hard"}, {NULL, NULL}},
     "normal"},
    {NULL, NULL, NULL, {{NULL, NULL}}, NULL},
};

static struct retro_variable opt_v0_vars[] = {
    {OPT_PIXFMT, "Pixel format; rgb565|xrgb8888|0rgb1555"},
    {OPT_DIFF, "Difficulty; normal|hard"},
    {NULL, NULL},
};

static void declare_options(void) {
  unsigned version = 0;
  if (!env_call(RETRO_ENVIRONMENT_GET_CORE_OPTIONS_VERSION, &version)) version = 0;
  if (version >= 2 && env_call(RETRO_ENVIRONMENT_SET_CORE_OPTIONS_V2, &opt_v2)) {
    g.options_api = 2;
  } else if (version >= 1 && env_call(RETRO_ENVIRONMENT_SET_CORE_OPTIONS, opt_v1_defs)) {
    g.options_api = 1;
  } else {
    env_call(RETRO_ENVIRONMENT_SET_VARIABLES, opt_v0_vars);
    g.options_api = 0;
  }
}

static const char *get_option(const char *key) {
  struct retro_variable var = {key, NULL};
  if (env_call(RETRO_ENVIRONMENT_GET_VARIABLE, &var) && var.value) return var.value;
  return NULL;
}

/* Reads both options. The pixel format is only applied when apply_pixfmt
 * (at load): libretro forbids changing it once the game runs. */
static void read_options(bool apply_pixfmt) {
  /* Undeclared on purpose: a frontend sets it only to test how it survives
   * a core that crashes in the middle of a movie. */
  const char *crash = get_option("testcore_crash_at");
  g.crash_at = crash ? (uint32_t)strtoul(crash, NULL, 10) : 0;
  /* Undeclared too: a core that changes resolution in the middle of a movie. */
  const char *narrow = get_option("testcore_narrow_from");
  g.narrow_from = narrow ? (uint32_t)strtoul(narrow, NULL, 10) : 0;

  const char *v = get_option(OPT_DIFF);
  if (!v || !strcmp(v, "normal")) {
    g.hard = 0;
  } else if (!strcmp(v, "hard")) {
    g.hard = 1;
  } else {
    tc_log(RETRO_LOG_WARN, "unknown %s value '%s', using normal", OPT_DIFF, v);
    g.hard = 0;
  }

  v = get_option(OPT_PIXFMT);
  enum retro_pixel_format fmt = RETRO_PIXEL_FORMAT_RGB565;
  if (!v || !strcmp(v, "rgb565")) {
    fmt = RETRO_PIXEL_FORMAT_RGB565;
  } else if (!strcmp(v, "xrgb8888")) {
    fmt = RETRO_PIXEL_FORMAT_XRGB8888;
  } else if (!strcmp(v, "0rgb1555")) {
    fmt = RETRO_PIXEL_FORMAT_0RGB1555;
  } else {
    tc_log(RETRO_LOG_WARN, "unknown %s value '%s', using rgb565", OPT_PIXFMT, v);
  }
  if (apply_pixfmt) {
    g.pixfmt = fmt;
  } else if (fmt != g.pixfmt) {
    tc_log(RETRO_LOG_WARN, "%s change takes effect at the next load", OPT_PIXFMT);
  }
}

/* Configuration mirrors in RAM (read-only information for tests). */
static void write_config_mirrors(void) {
  g.ram[RAM_CFG_DIFF] = (uint8_t)g.hard;
  g.ram[RAM_CFG_PIXFMT] = (uint8_t)g.pixfmt;
}

/* ---- game state ------------------------------------------------------- */

/* Power-on state: a pure function of the ROM hash and size. */
static void power_on(void) {
  uint32_t s = g.rom_seed;
  memset(g.ram, 0, sizeof g.ram);
  g.ram[RAM_MAGIC] = 'T';
  g.ram[RAM_MAGIC + 1] = 'C';
  g.ram[RAM_VERSION] = RAM_LAYOUT_VERSION;
  wr32(g.ram + RAM_INHASH, s);
  g.ram[RAM_P0 + P_X] = (uint8_t)(8 + (s & 63));
  g.ram[RAM_P0 + P_Y] = (uint8_t)(16 + ((s >> 6) & 63));
  g.ram[RAM_P0 + P_COLOUR] = (uint8_t)(s >> 24);
  g.ram[RAM_P1 + P_X] = (uint8_t)(88 + ((s >> 12) & 63));
  g.ram[RAM_P1 + P_Y] = (uint8_t)(16 + ((s >> 18) & 63));
  g.ram[RAM_P1 + P_COLOUR] = (uint8_t)~(s >> 24);
  uint32_t rng = s ^ 0xA5A5A5A5u;
  if (!rng) rng = 1;
  wr32(g.ram + RAM_RNG, rng);
  wr32(g.ram + RAM_SEED, s);
  wr32(g.ram + RAM_ROM_SIZE, g.rom_size);
  uint32_t x = rng;
  for (size_t i = 0; i < RAM_PATTERN_LEN; i++) {
    x = xorshift32(x);
    g.ram[RAM_PATTERN + i] = (uint8_t)(x >> 24);
  }
  write_config_mirrors();
}

static uint32_t face_points(uint16_t m) {
  uint32_t p = 0;
  if (m & BIT(RETRO_DEVICE_ID_JOYPAD_B)) p += 1;
  if (m & BIT(RETRO_DEVICE_ID_JOYPAD_A)) p += 2;
  if (m & BIT(RETRO_DEVICE_ID_JOYPAD_X)) p += 4;
  if (m & BIT(RETRO_DEVICE_ID_JOYPAD_Y)) p += 8;
  return p;
}

static void move_player(uint8_t *p, uint16_t held, uint16_t prev) {
  int x = p[P_X], y = p[P_Y];
  if (held & BIT(RETRO_DEVICE_ID_JOYPAD_LEFT)) x--;
  if (held & BIT(RETRO_DEVICE_ID_JOYPAD_RIGHT)) x++;
  if (held & BIT(RETRO_DEVICE_ID_JOYPAD_UP)) y--;
  if (held & BIT(RETRO_DEVICE_ID_JOYPAD_DOWN)) y++;
  if (x < 0) x = 0;
  if (x > TC_WIDTH - 8) x = TC_WIDTH - 8;
  if (y < 8) y = 8;
  if (y > TC_HEIGHT - 16) y = TC_HEIGHT - 16;
  p[P_X] = (uint8_t)x;
  p[P_Y] = (uint8_t)y;
  /* SELECT newly pressed cycles the colour. */
  uint16_t pressed = (uint16_t)(held & ~prev);
  if (pressed & BIT(RETRO_DEVICE_ID_JOYPAD_SELECT)) p[P_COLOUR] = (uint8_t)(p[P_COLOUR] + 37);
  uint32_t gain = g.hard ? face_points(pressed) : face_points(held);
  wr32(p + P_SCORE, rd32(p + P_SCORE) + gain);
}

/* Pattern area: an in-place scramble (a 1-D automaton with a running carry)
 * keyed by the input hash, the masks and the rng. */
static void evolve_pattern(uint32_t ih, uint16_t m0, uint16_t m1, uint32_t rng) {
  uint8_t *p = g.ram + RAM_PATTERN;
  uint8_t carry = (uint8_t)(ih ^ (ih >> 8) ^ (ih >> 16) ^ (ih >> 24));
  uint8_t k0 = (uint8_t)(m0 ^ (m1 >> 8) ^ rng);
  uint8_t k1 = (uint8_t)((m0 >> 8) ^ m1 ^ (rng >> 8));
  uint8_t first = p[0];
  for (size_t i = 0; i < RAM_PATTERN_LEN; i++) {
    uint8_t next = i + 1 < RAM_PATTERN_LEN ? p[i + 1] : first;
    uint8_t v = (uint8_t)(p[i] ^ (uint8_t)((next << 1) | (next >> 7)) ^ carry);
    v = (uint8_t)(v + ((i & 1) ? k1 : k0));
    p[i] = v;
    carry = (uint8_t)((carry >> 1) ^ v);
  }
}

static void step_state(uint16_t m0, uint16_t m1) {
  uint8_t *r = g.ram;
  uint32_t f = rd32(r + RAM_FRAME);

  uint32_t ih = rd32(r + RAM_INHASH);
  ih = (ih ^ (uint32_t)m0 ^ ((uint32_t)m1 << 16)) * 16777619u + f;
  wr32(r + RAM_INHASH, ih);

  uint16_t p0 = rd16(r + RAM_HELD0), p1 = rd16(r + RAM_HELD1);
  wr16(r + RAM_PREV0, p0);
  wr16(r + RAM_PREV1, p1);
  wr16(r + RAM_HELD0, m0);
  wr16(r + RAM_HELD1, m1);

  move_player(r + RAM_P0, m0, p0);
  move_player(r + RAM_P1, m1, p1);

  uint32_t rng = xorshift32(rd32(r + RAM_RNG));
  if (!rng) rng = 1;
  wr32(r + RAM_RNG, rng);

  evolve_pattern(ih, m0, m1, rng);

  wr32(r + RAM_FRAME, f + 1);
}

/* ---- audio ------------------------------------------------------------ */

static void run_audio(void) {
  uint8_t *r = g.ram;
  uint64_t acc = (uint64_t)rd32(r + RAM_AUDIO_ACC) + TC_AUDIO_NUM;
  size_t n = (size_t)(acc / TC_AUDIO_DEN);
  wr32(r + RAM_AUDIO_ACC, (uint32_t)(acc - (uint64_t)n * TC_AUDIO_DEN));
  wr16(r + RAM_LAST_SAMPLES, (uint16_t)n);
  wr32(r + RAM_AUDIO_TOTAL, rd32(r + RAM_AUDIO_TOTAL) + (uint32_t)n);

  uint32_t seed = rd32(r + RAM_SEED);
  uint32_t base = 220 + (seed >> 20) % 220;
  uint32_t freq = base + 2u * r[RAM_P0 + P_Y] + 4u * (rd32(r + RAM_P0 + P_SCORE) & 63);
  uint32_t inc = (uint32_t)(((uint64_t)freq << 32) / TC_SAMPLE_RATE);
  uint32_t phase = rd32(r + RAM_PHASE);
  bool silent = (rd16(r + RAM_HELD0) & BIT(RETRO_DEVICE_ID_JOYPAD_START)) != 0;

  for (size_t i = 0; i < n; i++) {
    int16_t left = 0, right = 0;
    if (!silent) {
      left = (int16_t)(((int32_t)(phase >> 16) - 32768) / 4); /* saw */
      right = (phase & 0x80000000u) ? 6000 : -6000;           /* square */
    }
    g.audio[2 * i] = left;
    g.audio[2 * i + 1] = right;
    phase += inc;
  }
  wr32(r + RAM_PHASE, phase);

  if (g.audio_batch) {
    size_t done = 0;
    while (done < n) {
      size_t k = g.audio_batch(g.audio + 2 * done, n - done);
      if (!k) break;
      done += k;
    }
  } else if (g.audio_sample) {
    for (size_t i = 0; i < n; i++) g.audio_sample(g.audio[2 * i], g.audio[2 * i + 1]);
  }
}

/* ---- video ------------------------------------------------------------ */

/* Colours are given as 8-bit components that are multiples of 8, so the
 * picture converts to the same RGB24 from every pixel format. */
static uint32_t pack(unsigned r, unsigned gr, unsigned b) {
  r &= 0xF8;
  gr &= 0xF8;
  b &= 0xF8;
  switch (g.pixfmt) {
  case RETRO_PIXEL_FORMAT_XRGB8888:
    return (r << 16) | (gr << 8) | b;
  case RETRO_PIXEL_FORMAT_0RGB1555:
    return ((r >> 3) << 10) | ((gr >> 3) << 5) | (b >> 3);
  default:
    return ((r >> 3) << 11) | ((gr >> 2) << 5) | (b >> 3);
  }
}

static uint32_t pack_rgb332(uint8_t c) {
  return pack((c & 0xE0u) | 0x18u, ((c << 3) & 0xE0u) | 0x18u, ((c << 6) & 0xC0u) | 0x38u);
}

static void fill_rect(int x, int y, int w, int h, uint32_t col) {
  if (x < 0) { w += x; x = 0; }
  if (y < 0) { h += y; y = 0; }
  if (x + w > TC_WIDTH) w = TC_WIDTH - x;
  if (y + h > TC_HEIGHT) h = TC_HEIGHT - y;
  if (w <= 0 || h <= 0) return;
  if (g.pixfmt == RETRO_PIXEL_FORMAT_XRGB8888) {
    for (int j = y; j < y + h; j++) {
      uint32_t *row = g.fb32 + (size_t)j * TC_WIDTH + x;
      for (int i = 0; i < w; i++) row[i] = col;
    }
  } else {
    uint16_t c16 = (uint16_t)col;
    for (int j = y; j < y + h; j++) {
      uint16_t *row = g.fb16 + (size_t)j * TC_WIDTH + x;
      for (int i = 0; i < w; i++) row[i] = c16;
    }
  }
}

/* Whole rows [y0, y1) in one colour: fixed trip counts, so the compiler
 * vectorises them (the background is most of the frame's cost). */
static void fill_rows(int y0, int y1, uint32_t col) {
  if (g.pixfmt == RETRO_PIXEL_FORMAT_XRGB8888) {
    for (int j = y0; j < y1; j++) {
      uint32_t *row = g.fb32 + (size_t)j * TC_WIDTH;
      for (int i = 0; i < TC_WIDTH; i++) row[i] = col;
    }
  } else {
    uint16_t c16 = (uint16_t)col;
    for (int j = y0; j < y1; j++) {
      uint16_t *row = g.fb16 + (size_t)j * TC_WIDTH;
      for (int i = 0; i < TC_WIDTH; i++) row[i] = c16;
    }
  }
}

/* 16 (or 32) cells of width cw showing the bits of v, LSB leftmost. */
static void draw_bits(int x, int y, int cw, int h, uint32_t v, int nbits, uint32_t on,
                      uint32_t off) {
  for (int i = 0; i < nbits; i++) fill_rect(x + i * cw, y, cw - 1, h, ((v >> i) & 1) ? on : off);
}

static void render(void) {
  const uint8_t *r = g.ram;
  uint32_t seed = rd32(r + RAM_SEED);
  uint32_t f = rd32(r + RAM_FRAME);

  /* Background: one colour per row, scrolling with the frame counter. */
  for (int y = 8; y < TC_HEIGHT - 8; y++) {
    unsigned t = (unsigned)(y + f) & 0xFFu;
    unsigned cr = (((seed & 0xFFu) + t) & 0xF0u) >> 1;
    unsigned cg = ((((seed >> 8) & 0xFFu) + 2u * t) & 0xF0u) >> 1;
    unsigned cb = ((((seed >> 16) & 0xFFu) + (t ^ 0x55u)) & 0xF0u) >> 1;
    fill_rows(y, y + 1, pack(cr, cg, cb));
  }

  /* Players: 8x8 squares; player 1 drawn over player 0. */
  for (int p = 0; p < 2; p++) {
    const uint8_t *pl = r + (p ? RAM_P1 : RAM_P0);
    fill_rect(pl[P_X], pl[P_Y], 8, 8, pack_rgb332(pl[P_COLOUR]));
  }

  /* HUD, always on top. */
  uint32_t black = pack(0, 0, 0), white = pack(0xF8, 0xF8, 0xF8), grey = pack(0x40, 0x40, 0x40);
  fill_rows(0, 8, black);
  fill_rows(TC_HEIGHT - 8, TC_HEIGHT, black);
  for (int p = 0; p < 2; p++) {
    int x0 = p ? 96 : 0;
    const uint8_t *pl = r + (p ? RAM_P1 : RAM_P0);
    draw_bits(x0, 1, 4, 2, rd16(r + (p ? RAM_HELD1 : RAM_HELD0)), 16, white, grey);
    draw_bits(x0, 4, 4, 2, rd32(pl + P_SCORE), 16, pack_rgb332(pl[P_COLOUR]), grey);
  }
  draw_bits(0, TC_HEIGHT - 6, 5, 4, rd32(r + RAM_INHASH), 32, white, grey);
}

/* ---- input ------------------------------------------------------------ */

static uint16_t read_port_per_button(unsigned port) {
  uint16_t m = 0;
  for (unsigned id = 0; id < 16; id++)
    if (g.input_state(port, RETRO_DEVICE_JOYPAD, 0, id)) m |= (uint16_t)(1u << id);
  return m;
}

static void read_input(uint16_t *m0, uint16_t *m1) {
  *m0 = *m1 = 0;
  if (g.input_poll) g.input_poll();
  if (!g.input_state) return;
  *m0 = read_port_per_button(0);
  if (g.bitmasks)
    *m1 = (uint16_t)g.input_state(1, RETRO_DEVICE_JOYPAD, 0, RETRO_DEVICE_ID_JOYPAD_MASK);
  else
    *m1 = read_port_per_button(1);
}

/* ---- libretro entry points -------------------------------------------- */

TC_EXPORT unsigned retro_api_version(void) { return RETRO_API_VERSION; }

TC_EXPORT void retro_set_environment(retro_environment_t cb) {
  g.env = cb;
  if (!cb) return;
  struct retro_log_callback logcb = {NULL};
  if (cb(RETRO_ENVIRONMENT_GET_LOG_INTERFACE, &logcb) && logcb.log) g.log = logcb.log;
  declare_options();
}

TC_EXPORT void retro_set_video_refresh(retro_video_refresh_t cb) { g.video = cb; }
TC_EXPORT void retro_set_audio_sample(retro_audio_sample_t cb) { g.audio_sample = cb; }
TC_EXPORT void retro_set_audio_sample_batch(retro_audio_sample_batch_t cb) { g.audio_batch = cb; }
TC_EXPORT void retro_set_input_poll(retro_input_poll_t cb) { g.input_poll = cb; }
TC_EXPORT void retro_set_input_state(retro_input_state_t cb) { g.input_state = cb; }

TC_EXPORT void retro_init(void) {
  if (!g.log && g.env) {
    struct retro_log_callback logcb = {NULL};
    if (g.env(RETRO_ENVIRONMENT_GET_LOG_INTERFACE, &logcb) && logcb.log) g.log = logcb.log;
  }
  g.port_device[0] = g.port_device[1] = RETRO_DEVICE_JOYPAD;
  g.initialised = true;
}

TC_EXPORT void retro_deinit(void) { memset(&g, 0, sizeof g); }

TC_EXPORT void retro_get_system_info(struct retro_system_info *info) {
  memset(info, 0, sizeof *info);
  info->library_name = "retrotool-testcore";
  info->library_version = "1.0";
  info->valid_extensions = "tst";
  info->need_fullpath = false;
  info->block_extract = false;
}

TC_EXPORT void retro_get_system_av_info(struct retro_system_av_info *info) {
  memset(info, 0, sizeof *info);
  info->geometry.base_width = TC_WIDTH;
  info->geometry.base_height = TC_HEIGHT;
  info->geometry.max_width = TC_WIDTH;
  info->geometry.max_height = TC_HEIGHT;
  info->geometry.aspect_ratio = (float)TC_WIDTH / (float)TC_HEIGHT;
  info->timing.fps = TC_FPS;
  info->timing.sample_rate = (double)TC_SAMPLE_RATE;
}

TC_EXPORT void retro_set_controller_port_device(unsigned port, unsigned device) {
  /* Recorded only: the core always reads both ports as joypads. */
  if (port < 2) g.port_device[port] = device;
}

TC_EXPORT void retro_reset(void) {
  if (!g.loaded) return;
  power_on();
}

TC_EXPORT void retro_run(void) {
  if (!g.loaded) return;
  bool updated = false;
  if (env_call(RETRO_ENVIRONMENT_GET_VARIABLE_UPDATE, &updated) && updated) read_options(false);
  write_config_mirrors();

  uint16_t m0, m1;
  read_input(&m0, &m1);
  uint32_t f = rd32(g.ram + RAM_FRAME);
  if (g.crash_at && f == g.crash_at) raise(SIGSEGV);
  step_state(m0, m1);
  run_audio();

  if (!g.video) return;
  size_t pitch = TC_WIDTH * (g.pixfmt == RETRO_PIXEL_FORMAT_XRGB8888 ? 4u : 2u);
  unsigned width = g.narrow_from && f >= g.narrow_from ? TC_NARROW : TC_WIDTH;
  if (width != g.shown_width) {
    struct retro_game_geometry geometry = {width, TC_HEIGHT, TC_WIDTH, TC_HEIGHT, (float)width / (float)TC_HEIGHT};
    env_call(RETRO_ENVIRONMENT_SET_GEOMETRY, &geometry);
    g.shown_width = width;
  }
  if (g.can_dupe && f % 16 == 15) {
    g.video(NULL, width, TC_HEIGHT, pitch);
    return;
  }
  render();
  g.video(g.pixfmt == RETRO_PIXEL_FORMAT_XRGB8888 ? (const void *)g.fb32 : (const void *)g.fb16,
          width, TC_HEIGHT, pitch);
}

TC_EXPORT size_t retro_serialize_size(void) { return TC_STATE_SIZE; }

TC_EXPORT bool retro_serialize(void *data, size_t size) {
  if (!g.loaded || !data || size < TC_STATE_SIZE) return false;
  memcpy(data, TC_STATE_HEADER, TC_STATE_HEADER_LEN);
  memcpy((uint8_t *)data + TC_STATE_HEADER_LEN, g.ram, TC_RAM_SIZE);
  return true;
}

TC_EXPORT bool retro_unserialize(const void *data, size_t size) {
  if (!g.loaded || !data || size != TC_STATE_SIZE) return false;
  const uint8_t *d = data;
  if (memcmp(d, TC_STATE_HEADER, TC_STATE_HEADER_LEN)) return false;
  const uint8_t *ram = d + TC_STATE_HEADER_LEN;
  if (ram[RAM_MAGIC] != 'T' || ram[RAM_MAGIC + 1] != 'C' || ram[RAM_VERSION] != RAM_LAYOUT_VERSION)
    return false;
  memcpy(g.ram, ram, TC_RAM_SIZE);
  write_config_mirrors();
  return true;
}

TC_EXPORT void retro_cheat_reset(void) {}

TC_EXPORT void retro_cheat_set(unsigned index, bool enabled, const char *code) {
  (void)index;
  (void)enabled;
  (void)code;
}

static const struct retro_input_descriptor *input_descriptors(void) {
  static const char *names[16] = {"B",    "Y",    "Select", "Start", "Up", "Down",
                                  "Left", "Right", "A",     "X",     "L",  "R",
                                  "L2",   "R2",   "L3",     "R3"};
  static struct retro_input_descriptor desc[2 * 16 + 1];
  for (unsigned p = 0; p < 2; p++)
    for (unsigned id = 0; id < 16; id++) {
      struct retro_input_descriptor *d = &desc[p * 16 + id];
      d->port = p;
      d->device = RETRO_DEVICE_JOYPAD;
      d->index = 0;
      d->id = id;
      d->description = names[id];
    }
  memset(&desc[32], 0, sizeof desc[32]);
  return desc;
}

TC_EXPORT bool retro_load_game(const struct retro_game_info *game) {
  if (!game) {
    tc_log(RETRO_LOG_ERROR, "no content given (the core needs an RTST ROM)");
    return false;
  }
  if (!game->data) {
    tc_log(RETRO_LOG_ERROR, "content data is NULL (need_fullpath is false, bytes expected)");
    return false;
  }
  if (game->size < TC_ROM_MAGIC_LEN) {
    tc_log(RETRO_LOG_ERROR, "content is %zu bytes, shorter than the 4-byte RTST magic", game->size);
    return false;
  }
  if (memcmp(game->data, TC_ROM_MAGIC, TC_ROM_MAGIC_LEN)) {
    tc_log(RETRO_LOG_ERROR, "bad magic: content does not start with \"RTST\"");
    return false;
  }

  g.rom_seed = fnv1a32(game->data, game->size);
  g.rom_size = (uint32_t)game->size;

  read_options(true);
  enum retro_pixel_format fmt = g.pixfmt;
  if (!env_call(RETRO_ENVIRONMENT_SET_PIXEL_FORMAT, &fmt)) {
    if (g.pixfmt != RETRO_PIXEL_FORMAT_0RGB1555) {
      tc_log(RETRO_LOG_WARN, "frontend refused pixel format %d, using 0rgb1555", (int)g.pixfmt);
      g.pixfmt = RETRO_PIXEL_FORMAT_0RGB1555;
    }
  }

  bool flag = false;
  g.can_dupe = env_call(RETRO_ENVIRONMENT_GET_CAN_DUPE, &flag) && flag;
  flag = false;
  g.bitmasks = env_call(RETRO_ENVIRONMENT_GET_INPUT_BITMASKS, &flag);

  env_call(RETRO_ENVIRONMENT_SET_INPUT_DESCRIPTORS, (void *)input_descriptors());

  power_on();

  memset(&g.memdesc, 0, sizeof g.memdesc);
  g.memdesc.flags = RETRO_MEMDESC_SYSTEM_RAM;
  g.memdesc.ptr = g.ram;
  g.memdesc.len = TC_RAM_SIZE;
  g.memmap.descriptors = &g.memdesc;
  g.memmap.num_descriptors = 1;
  env_call(RETRO_ENVIRONMENT_SET_MEMORY_MAPS, &g.memmap);

  g.shown_width = TC_WIDTH;
  g.loaded = true;
  tc_log(RETRO_LOG_INFO, "loaded %zu-byte ROM, seed 0x%08X", game->size, (unsigned)g.rom_seed);
  printf("retrotool-testcore: hello from stdout\n");
  fflush(stdout);
  return true;
}

TC_EXPORT bool retro_load_game_special(unsigned type, const struct retro_game_info *info,
                                       size_t num) {
  (void)type;
  (void)info;
  (void)num;
  return false;
}

TC_EXPORT void retro_unload_game(void) {
  g.loaded = false;
  g.rom_seed = 0;
  g.rom_size = 0;
  memset(g.ram, 0, sizeof g.ram);
}

TC_EXPORT unsigned retro_get_region(void) { return RETRO_REGION_NTSC; }

TC_EXPORT void *retro_get_memory_data(unsigned id) {
  return id == RETRO_MEMORY_SYSTEM_RAM ? g.ram : NULL;
}

TC_EXPORT size_t retro_get_memory_size(unsigned id) {
  return id == RETRO_MEMORY_SYSTEM_RAM ? TC_RAM_SIZE : 0;
}
