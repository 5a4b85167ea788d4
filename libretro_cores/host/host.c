/*
 * host.c - the retrotool native host (the API contract is in rhost.h).
 *
 * It dlopens a libretro core, answers every callback in C and exposes a
 * batch API, so Python crosses the ctypes boundary once per batch of frames
 * instead of once per audio batch or input query.
 *
 * libretro callbacks carry no user pointer, so every rh_* entry that calls
 * into a core first makes its host "current" (thread-local, with a
 * process-wide fallback for threads the core spawns itself).
 */
#define _GNU_SOURCE
#include "rhost.h"
#include "retro_abi.h"

#include <dlfcn.h>
#include <errno.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_CAP (64 * 1024) /* log bytes kept; the oldest lines are dropped */
#define ERR_CAP 2048
#define LOAD_ERR_LINES 6 /* ERROR/WARN log lines appended to a refused load */
#define ENV_BASE(cmd) ((cmd) & ~(unsigned)RETRO_ENVIRONMENT_EXPERIMENTAL)

/* ---------------------------------------------------------------- types */

/* The retro_* entry points, as (field, return type, parameters). */
#define CORE_FUNCS(X)                                                                        \
  X(init, void, (void))                                                                      \
  X(deinit, void, (void))                                                                    \
  X(api_version, unsigned, (void))                                                           \
  X(get_system_info, void, (struct retro_system_info *))                                     \
  X(get_system_av_info, void, (struct retro_system_av_info *))                               \
  X(set_environment, void, (retro_environment_t))                                            \
  X(set_video_refresh, void, (retro_video_refresh_t))                                        \
  X(set_audio_sample, void, (retro_audio_sample_t))                                          \
  X(set_audio_sample_batch, void, (retro_audio_sample_batch_t))                              \
  X(set_input_poll, void, (retro_input_poll_t))                                              \
  X(set_input_state, void, (retro_input_state_t))                                            \
  X(set_controller_port_device, void, (unsigned, unsigned))                                  \
  X(reset, void, (void))                                                                     \
  X(run, void, (void))                                                                       \
  X(serialize_size, size_t, (void))                                                          \
  X(serialize, bool, (void *, size_t))                                                       \
  X(unserialize, bool, (const void *, size_t))                                               \
  X(load_game, bool, (const struct retro_game_info *))                                       \
  X(unload_game, void, (void))                                                               \
  X(get_memory_data, void *, (unsigned))                                                     \
  X(get_memory_size, size_t, (unsigned))

struct core_api {
#define FIELD(name, ret, args) ret(*name) args;
  CORE_FUNCS(FIELD)
#undef FIELD
};

static const struct {
  const char *name;
  size_t off;
} k_symbols[] = {
#define ENTRY(name, ret, args) {"retro_" #name, offsetof(struct core_api, name)},
    CORE_FUNCS(ENTRY)
#undef ENTRY
};
#define N_SYMBOLS (sizeof k_symbols / sizeof k_symbols[0])

/* A core option. Strings are interned (see intern()) so the pointers given
 * to the core or to Python stay valid until rh_close, even if redeclared. */
typedef struct option {
  const char *key, *def; /* def: the default the core declared */
  const char *val;       /* override (rh_set_option / SET_VARIABLE), or NULL */
  int declared;          /* part of the core's latest option table */
} option;

enum { PIC_NONE, PIC_RAW, PIC_RGB };

struct rh_host {
  void *dl;
  struct core_api api;
  int profile; /* RH_PROFILE_* */
  char *core_path, *system_dir, *save_dir, *name, *version, *extensions;
  int need_fullpath, loaded, shutdown_requested;
  char err[ERR_CAP];

  option *opts;
  int n_opts, cap_opts, opt_updated;
  char **pool; /* interned strings */
  size_t n_pool, cap_pool;

  void *game_data; /* host copy of the game bytes, alive until unload */
  char *tmp_game;  /* temp file holding the game, removed at unload */
  struct retro_system_av_info av;
  int pixfmt;
  rh_memdesc *maps;
  int n_maps;

  /* The observation picture: the last pointer and pitch the core gave (kept
   * across dupes and batches, as stable-retro keeps them), read at a size
   * fixed at load; shown_w/shown_h: the presented picture's size. */
  const void *obs_data;
  size_t obs_pitch;
  unsigned obs_w, obs_h, shown_w, shown_h;

  /* The batch being run, read by the callbacks. */
  const uint16_t *pad; /* this frame's masks, NULL = no input */
  unsigned n_pads;
  uint8_t *vout; /* NULL = headless or observation pictures (converted after each frame) */
  size_t frame_bytes, frame_i;
  int last_frame; /* 1 on a batch's last frame and outside batches */
  int presented;  /* the core presented a real frame this frame */
  int batch_real; /* ... during this batch */
  int run_err;
  const void *fr_data; /* headless: the last frame the core presented */
  unsigned fr_w, fr_h, cur_w, cur_h; /* cur: size of the newest picture */
  size_t fr_pitch;
  int fr_pending; /* fr_data not yet copied into pic */

  volatile uint64_t *frame_counter; /* optional: finished frames, for crash reports */
  volatile uint64_t frames_run;     /* frames run since the game was loaded: said if the core crashes */
  volatile int64_t state_at;        /* frames_run when a state was last loaded (-1: none): a crash soon after blames it */
  volatile int loading_state;       /* inside the core's unserialize */

  rh_span *watch; /* rh_watch_memory: spans copied after every frame */
  unsigned n_watch;
  size_t watch_stride, watch_cap;
  uint8_t *watch_out;

  int want_audio, audio_oom;
  int16_t *audio;
  size_t audio_len, audio_cap;

  /* The retained last picture: raw core pixels (after headless batches) or
   * RGB24 (after video batches), for rh_screen and first-frame dupes. */
  int pic_kind, pic_fmt;
  unsigned pic_w, pic_h;
  uint8_t *pic;
  size_t pic_cap;

  char *log;
  size_t log_len, log_gone; /* log_gone: bytes ever removed from the front */
  int capture, cap_fd, saved_fd;
  struct rh_host *next; /* registry of open hosts */
};

/* ---------------------------------------------- current host, registry */

static _Thread_local rh_host *t_current;
static rh_host *g_fallback; /* for callbacks from threads the core owns */
static rh_host *g_hosts;
static pthread_mutex_t g_hosts_lock = PTHREAD_MUTEX_INITIALIZER;

static inline rh_host *current(void) {
  rh_host *h = t_current;
  return h ? h : __atomic_load_n(&g_fallback, __ATOMIC_RELAXED);
}

static inline void enter(rh_host *h) {
  t_current = h;
  __atomic_store_n(&g_fallback, h, __ATOMIC_RELAXED);
}

/* Add h unless its library is already in use: dlopen hands back the same
 * handle for the same file, and the two hosts would share the core's globals. */
static int registry_add(rh_host *h) {
  int ok = 1;
  pthread_mutex_lock(&g_hosts_lock);
  for (rh_host *o = g_hosts; o; o = o->next) ok &= o->dl != h->dl;
  if (ok) h->next = g_hosts, g_hosts = h;
  pthread_mutex_unlock(&g_hosts_lock);
  return ok;
}

static void registry_remove(rh_host *h) {
  pthread_mutex_lock(&g_hosts_lock);
  for (rh_host **p = &g_hosts; *p; p = &(*p)->next)
    if (*p == h) {
      *p = h->next;
      break;
    }
  pthread_mutex_unlock(&g_hosts_lock);
  if (t_current == h) t_current = NULL;
  rh_host *expected = h;
  __atomic_compare_exchange_n(&g_fallback, &expected, NULL, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------ errors, strings */

static int fail(rh_host *h, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(h->err, sizeof h->err, fmt, ap);
  va_end(ap);
  return code;
}

static void seterr(char *err, size_t cap, const char *fmt, ...) {
  if (!err || !cap) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, cap, fmt, ap);
  va_end(ap);
}

static char *dupstr(const char *s) { return strdup(s ? s : ""); }

/* A host-owned copy of s[0..len) that lives until rh_close. */
static const char *intern_n(rh_host *h, const char *s, size_t len) {
  for (size_t i = 0; i < h->n_pool; i++)
    if (strncmp(h->pool[i], s, len) == 0 && h->pool[i][len] == '\0') return h->pool[i];
  if (h->n_pool == h->cap_pool) {
    size_t cap = h->cap_pool ? h->cap_pool * 2 : 64;
    char **p = realloc(h->pool, cap * sizeof *p);
    if (!p) return NULL;
    h->pool = p, h->cap_pool = cap;
  }
  char *c = strndup(s, len);
  if (c) h->pool[h->n_pool++] = c;
  return c;
}

static const char *intern(rh_host *h, const char *s) { return intern_n(h, s, strlen(s)); }

/* ----------------------------------------------------------------- log */

/* Drop at least n bytes from the front, up to the end of a line. */
static void log_drop(rh_host *h, size_t n) {
  char *nl = n && n < h->log_len ? memchr(h->log + n - 1, '\n', h->log_len - n + 1) : NULL;
  size_t cut = nl ? (size_t)(nl - h->log) + 1 : h->log_len;
  memmove(h->log, h->log + cut, h->log_len - cut);
  h->log_len -= cut, h->log_gone += cut;
}

static void log_line(rh_host *h, const char *tag, const char *text, size_t len) {
  size_t tl = strlen(tag);
  if (len + tl + 4 > LOG_CAP) len = LOG_CAP - tl - 4;
  size_t need = tl + len + 4; /* "[" tag "] " text "\n" */
  if (h->log_len + need > LOG_CAP) log_drop(h, h->log_len + need - LOG_CAP);
  char *p = h->log + h->log_len;
  *p++ = '[';
  memcpy(p, tag, tl), p += tl;
  *p++ = ']', *p++ = ' ';
  memcpy(p, text, len), p += len;
  *p = '\n';
  h->log_len += need;
}

/* Text that may hold several lines: one tagged line each, blanks skipped. */
static void log_text(rh_host *h, const char *tag, const char *text, size_t len) {
  while (len) {
    const char *nl = memchr(text, '\n', len);
    size_t l = nl ? (size_t)(nl - text) : len, adv = nl ? l + 1 : l;
    while (l && (text[l - 1] == '\r' || text[l - 1] == ' ')) l--;
    if (l) log_line(h, tag, text, l);
    text += adv, len -= adv;
  }
}

/* The core's log interface (GET_LOG_INTERFACE): variadic, so it lives here. */
static void core_log(enum retro_log_level level, const char *fmt, ...) {
  static const char *const tags[] = {"DEBUG", "INFO", "WARN", "ERROR"};
  rh_host *h = current();
  if (!h || !fmt) return;
  char buf[1024], *text = buf;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof buf) { /* long message: format again on the heap */
    if ((text = malloc((size_t)n + 1)) != NULL) {
      va_start(ap, fmt);
      vsnprintf(text, (size_t)n + 1, fmt, ap);
      va_end(ap);
    } else {
      text = buf, n = sizeof buf - 1;
    }
  }
  log_text(h, (unsigned)level < 4 ? tags[level] : "INFO", text, (size_t)n);
  if (text != buf) free(text);
}

/* Append to h->err the last ERROR/WARN lines logged since absolute log
 * position `since` (for a refused load). */
static void err_append_log(rh_host *h, size_t since) {
  const char *starts[LOAD_ERR_LINES];
  size_t lens[LOAD_ERR_LINES], found = 0;
  for (size_t i = since > h->log_gone ? since - h->log_gone : 0; i < h->log_len;) {
    const char *line = h->log + i, *nl = memchr(line, '\n', h->log_len - i);
    size_t l = nl ? (size_t)(nl - line) : h->log_len - i;
    if (strncmp(line, "[ERROR]", 7) == 0 || strncmp(line, "[WARN]", 6) == 0)
      starts[found % LOAD_ERR_LINES] = line, lens[found++ % LOAD_ERR_LINES] = l;
    i += l + 1;
  }
  for (size_t k = found > LOAD_ERR_LINES ? found - LOAD_ERR_LINES : 0; k < found; k++) {
    size_t used = strlen(h->err);
    snprintf(h->err + used, sizeof h->err - used, "\n%.*s", (int)lens[k % LOAD_ERR_LINES],
             starts[k % LOAD_ERR_LINES]);
  }
}

/* ------------------------------------------------------ stdout capture */
/* While inside the core, fd 1 points at a private unlinked temp file; a
 * file (not a pipe) so a chatty core can never block on a full pipe. */

/*
 * While the host is inside the core, a crash of the core (SIGSEGV, SIGBUS,
 * SIGFPE, SIGILL, SIGABRT) first writes one line saying so to stderr, then
 * meets the handlers that were there before (by default: the process ends
 * with that signal, which a parent process still sees). Without it a user
 * would get a bare "Segmentation fault". A host given a frame counter
 * (rh_set_frame_counter) stays silent: its parent process reports the crash.
 */
static const int guarded_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define N_GUARDED (sizeof guarded_signals / sizeof guarded_signals[0])
static struct sigaction saved_actions[N_GUARDED];
static int guard_depth; /* hosts inside a core right now (threads may run two) */
static const rh_host *volatile guarded_host;

static size_t put_text(char *out, size_t at, size_t cap, const char *text) {
  while (*text && at + 1 < cap) out[at++] = *text++;
  return at;
}

static size_t put_number(char *out, size_t at, size_t cap, uint64_t v) {
  char digits[24];
  size_t n = 0;
  do digits[n++] = (char)('0' + v % 10), v /= 10;
  while (v);
  while (n && at + 1 < cap) out[at++] = digits[--n];
  return at;
}

/* Frames after loading a state within which a crash is blamed on the state: a damaged or foreign state
 * (another core, another version) crashes a core at once or within the next frames, rarely later. */
#define STATE_SUSPECT_FRAMES 60

static void on_core_crash(int sig) { /* async-signal-safe calls only */
  const char *name = sig == SIGSEGV ? "SIGSEGV" : sig == SIGBUS ? "SIGBUS" : sig == SIGFPE ? "SIGFPE"
                     : sig == SIGILL ? "SIGILL" : "SIGABRT";
  const rh_host *h = guarded_host;
  char msg[512];
  size_t n = put_text(msg, 0, sizeof msg, "retrotool: the libretro core ");
  n = put_text(msg, n, sizeof msg, h && h->name ? h->name : "");
  n = put_text(msg, n, sizeof msg, " crashed (");
  n = put_text(msg, n, sizeof msg, name);
  int64_t since = h && h->state_at >= 0 ? (int64_t)h->frames_run - h->state_at : -1;
  if (since >= 0 && since <= STATE_SUSPECT_FRAMES) {
    if (h->loading_state) {
      n = put_text(msg, n, sizeof msg, ") while loading a savestate");
    } else {
      n = put_text(msg, n, sizeof msg, ") in frame ");
      n = put_number(msg, n, sizeof msg, (uint64_t)since + 1);
      n = put_text(msg, n, sizeof msg, " after loading a savestate");
    }
    n = put_text(msg, n, sizeof msg, "; the savestate is the likely cause (damaged, or made by another core "
                                     "or core version)\n");
  } else {
    n = put_text(msg, n, sizeof msg, ") after ");
    n = put_number(msg, n, sizeof msg, h ? h->frames_run : 0);
    n = put_text(msg, n, sizeof msg, since >= 0 ? " frames of its game; a bug in the core, or a damaged savestate\n"
                                                : " frames of its game; a bug in the core, not in the movie\n");
  }
  if (!h || !h->frame_counter) { /* with a frame counter, the parent process reports the crash */
    ssize_t ignored = write(2, msg, n);
    (void)ignored;
  }
  for (size_t i = 0; i < N_GUARDED; i++) sigaction(guarded_signals[i], &saved_actions[i], NULL);
  raise(sig); /* delivered on return, to the previous handler */
}

/*
 * Memory a core allocates is zeroed while the host is inside the core.
 * Cores read memory they never initialised (fceumm's NROM work RAM is a
 * plain malloc, exposed in its memory map and in get_ram()): in a fresh
 * process those pages happen to be zero, in a process that allocated
 * before they hold old data, so replays would differ between processes.
 * glibc's M_PERTURB with 0xFF fills every malloc'd block with its
 * complement, zero (and freed blocks with 0xFF), making that memory read
 * as a fresh process's would, every time.
 */
static void zero_core_allocations(int on) {
#if defined(__GLIBC__)
  mallopt(M_PERTURB, on ? 0xFF : 0);
#else
  (void)on;
#endif
}

static void guard_begin(rh_host *h) {
  if (__atomic_fetch_add(&guard_depth, 1, __ATOMIC_SEQ_CST) == 0) {
    zero_core_allocations(1);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_core_crash;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < N_GUARDED; i++) sigaction(guarded_signals[i], &sa, &saved_actions[i]);
  }
  guarded_host = h;
}

static void guard_end(void) {
  if (__atomic_sub_fetch(&guard_depth, 1, __ATOMIC_SEQ_CST) == 0) {
    zero_core_allocations(0);
    for (size_t i = 0; i < N_GUARDED; i++) sigaction(guarded_signals[i], &saved_actions[i], NULL);
    guarded_host = NULL;
  }
}

/* Entering the core: crash guard, and stdout into the log when capturing. */
static void capture_begin(rh_host *h) {
  guard_begin(h);
  if (!h->capture) return;
  if (h->cap_fd < 0) {
    char tmpl[] = "/tmp/retrotool-stdout-XXXXXX";
    if ((h->cap_fd = mkstemp(tmpl)) < 0) return;
    unlink(tmpl);
  }
  fflush(stdout);
  if ((h->saved_fd = dup(1)) < 0) return;
  if (ftruncate(h->cap_fd, 0) != 0 || lseek(h->cap_fd, 0, SEEK_SET) != 0 || dup2(h->cap_fd, 1) < 0) {
    close(h->saved_fd);
    h->saved_fd = -1;
  }
}

static void capture_end(rh_host *h) {
  guard_end();
  if (h->saved_fd < 0) return;
  fflush(stdout); /* what the core left in stdio's buffer belongs to the capture */
  dup2(h->saved_fd, 1);
  close(h->saved_fd);
  h->saved_fd = -1;
  struct stat st;
  if (fstat(h->cap_fd, &st) != 0 || st.st_size <= 0) return;
  size_t size = (size_t)st.st_size, keep = size > LOG_CAP ? LOG_CAP : size;
  char *buf = malloc(keep);
  ssize_t got = buf ? pread(h->cap_fd, buf, keep, (off_t)(size - keep)) : -1;
  if (got > 0) log_text(h, "STDOUT", buf, (size_t)got);
  free(buf);
}

/* --------------------------------------------------------- core options */

static option *opt_find(rh_host *h, const char *key) {
  for (int i = 0; i < h->n_opts; i++)
    if (strcmp(h->opts[i].key, key) == 0) return &h->opts[i];
  return NULL;
}

static option *opt_add(rh_host *h, const char *key) {
  option *o = opt_find(h, key);
  if (o) return o;
  if (h->n_opts == h->cap_opts) {
    int cap = h->cap_opts ? h->cap_opts * 2 : 32;
    option *p = realloc(h->opts, (size_t)cap * sizeof *p);
    if (!p) return NULL;
    h->opts = p, h->cap_opts = cap;
  }
  const char *k = intern(h, key);
  if (!k) return NULL;
  o = &h->opts[h->n_opts++];
  *o = (option){k, NULL, NULL, 0};
  return o;
}

/* A new option table replaces the previous one; overrides survive. */
static void opt_begin_table(rh_host *h) {
  for (int i = 0; i < h->n_opts; i++) h->opts[i].declared = 0;
}

static void opt_declare(rh_host *h, const char *key, const char *def, size_t def_len) {
  option *o = key ? opt_add(h, key) : NULL;
  if (!o) return;
  o->def = intern_n(h, def, def_len);
  o->declared = o->def != NULL;
}

/* libretro semantics: a default that is not among the values means the first. */
static const char *pick_default(const struct retro_core_option_value *v, const char *def) {
  for (int i = 0; def && i < RETRO_NUM_CORE_OPTION_VALUES_MAX && v[i].value; i++)
    if (strcmp(v[i].value, def) == 0) return def;
  return v[0].value ? v[0].value : "";
}

/* SET_VARIABLES: each value is "Description; first|second|...". */
static void opt_legacy(rh_host *h, const struct retro_variable *vars) {
  opt_begin_table(h);
  for (; vars && vars->key; vars++) {
    const char *p = vars->value ? strchr(vars->value, ';') : NULL;
    if (p)
      for (p++; *p == ' '; p++) continue;
    opt_declare(h, vars->key, p ? p : "", p ? strcspn(p, "|") : 0);
  }
}

static void opt_v1(rh_host *h, const struct retro_core_option_definition *d) {
  opt_begin_table(h);
  for (; d && d->key; d++) {
    const char *def = pick_default(d->values, d->default_value);
    opt_declare(h, d->key, def, strlen(def));
  }
}

static void opt_v2(rh_host *h, const struct retro_core_options_v2 *o) {
  opt_begin_table(h);
  for (const struct retro_core_option_v2_definition *d = o ? o->definitions : NULL; d && d->key; d++) {
    const char *def = pick_default(d->values, d->default_value);
    opt_declare(h, d->key, def, strlen(def));
  }
}

/* GET_VARIABLE: the override, else the declared default, else no answer. */
static bool opt_get(rh_host *h, struct retro_variable *var) {
  option *o = var->key ? opt_find(h, var->key) : NULL;
  var->value = o ? (o->val ? o->val : (o->declared ? o->def : NULL)) : NULL;
  return var->value != NULL;
}

/* SET_VARIABLE: the core changes one of its own declared options. */
static bool opt_set_by_core(rh_host *h, const struct retro_variable *v) {
  if (!v) return true; /* NULL asks whether the command is supported */
  option *o = v->key ? opt_find(h, v->key) : NULL;
  if (!o || !o->declared || !v->value) return false;
  o->val = intern(h, v->value);
  return o->val != NULL;
}

/* ---------------------------------------------------------- environment */

static bool env_options(rh_host *h, unsigned cmd, void *data) {
  switch (cmd) {
  case RETRO_ENVIRONMENT_GET_VARIABLE:
    return data && opt_get(h, data);
  case RETRO_ENVIRONMENT_SET_VARIABLES:
    return opt_legacy(h, data), true;
  case RETRO_ENVIRONMENT_SET_CORE_OPTIONS:
    return opt_v1(h, data), true;
  case RETRO_ENVIRONMENT_SET_CORE_OPTIONS_INTL: /* only the English table */
    return data && (opt_v1(h, ((const struct retro_core_options_intl *)data)->us), true);
  case RETRO_ENVIRONMENT_SET_CORE_OPTIONS_V2:
    return opt_v2(h, data), true;
  case RETRO_ENVIRONMENT_SET_CORE_OPTIONS_V2_INTL:
    return data && (opt_v2(h, ((const struct retro_core_options_v2_intl *)data)->us), true);
  case RETRO_ENVIRONMENT_SET_VARIABLE:
    return opt_set_by_core(h, data);
  case RETRO_ENVIRONMENT_GET_VARIABLE_UPDATE:
    if (!data) return false;
    *(bool *)data = h->opt_updated != 0;
    h->opt_updated = 0;
    return true;
  }
  return false;
}

static bool env_memory_maps(rh_host *h, const struct retro_memory_map *map) {
  if (!map) return false;
  unsigned n = map->num_descriptors;
  rh_memdesc *d = n ? calloc(n, sizeof *d) : NULL;
  if (n && !d) return false;
  for (unsigned i = 0; i < n; i++) {
    const struct retro_memory_descriptor *s = &map->descriptors[i];
    d[i] = (rh_memdesc){s->flags, s->ptr, s->offset, s->start, s->select, s->disconnect, s->len};
  }
  free(h->maps);
  h->maps = d, h->n_maps = (int)n;
  return true;
}

static bool env_av(rh_host *h, unsigned cmd, const void *data) {
  if (!data) return false;
  if (cmd == RETRO_ENVIRONMENT_SET_SYSTEM_AV_INFO) {
    h->av = *(const struct retro_system_av_info *)data;
  } else { /* SET_GEOMETRY changes neither the max size nor the timing */
    const struct retro_game_geometry *g = data;
    h->av.geometry.base_width = g->base_width;
    h->av.geometry.base_height = g->base_height;
    h->av.geometry.aspect_ratio = g->aspect_ratio;
  }
  return true;
}

/* Commands answering a fixed value. */
static bool env_constant(unsigned cmd, void *data) {
  if (!data) return false;
  switch (cmd) {
  case RETRO_ENVIRONMENT_GET_CAN_DUPE:
    return *(bool *)data = true, true;
  case RETRO_ENVIRONMENT_GET_OVERSCAN:
  case ENV_BASE(RETRO_ENVIRONMENT_GET_FASTFORWARDING):
    return *(bool *)data = false, true;
  case RETRO_ENVIRONMENT_GET_LANGUAGE:
    return *(unsigned *)data = RETRO_LANGUAGE_ENGLISH, true;
  case ENV_BASE(RETRO_ENVIRONMENT_GET_AUDIO_VIDEO_ENABLE):
    return *(int *)data = 3, true; /* always both: output must not depend on the mode */
  case RETRO_ENVIRONMENT_GET_INPUT_MAX_USERS:
    return *(unsigned *)data = RH_MAX_PORTS, true;
  case RETRO_ENVIRONMENT_GET_MESSAGE_INTERFACE_VERSION:
  case RETRO_ENVIRONMENT_GET_CORE_OPTIONS_VERSION:
    return *(unsigned *)data = cmd == RETRO_ENVIRONMENT_GET_CORE_OPTIONS_VERSION ? 2 : 0, true;
  case RETRO_ENVIRONMENT_GET_USERNAME:
    return *(const char **)data = "retrotool", true;
  case RETRO_ENVIRONMENT_GET_LOG_INTERFACE:
    return ((struct retro_log_callback *)data)->log = core_log, true;
  }
  return false;
}

/* Facts the host notes whatever it answers (the core's picture size and
 * options, its messages), so refusing a command changes nothing here. */
static void env_note(rh_host *h, unsigned cmd, void *data) {
  switch (cmd) {
  case RETRO_ENVIRONMENT_SET_SYSTEM_AV_INFO:
  case RETRO_ENVIRONMENT_SET_GEOMETRY:
    env_av(h, cmd, data);
    break;
  case RETRO_ENVIRONMENT_SET_VARIABLES:
  case RETRO_ENVIRONMENT_SET_CORE_OPTIONS:
  case RETRO_ENVIRONMENT_SET_CORE_OPTIONS_INTL:
  case RETRO_ENVIRONMENT_SET_CORE_OPTIONS_V2:
  case RETRO_ENVIRONMENT_SET_CORE_OPTIONS_V2_INTL:
    env_options(h, cmd, data);
    break;
  case RETRO_ENVIRONMENT_SET_MESSAGE: {
    const struct retro_message *m = data;
    if (m && m->msg) log_text(h, "INFO", m->msg, strlen(m->msg));
    break;
  }
  }
}

/* stable-retro's environment (its Emulator::cbEnvironment): commands are
 * matched with their experimental bit, as there; a variable it does not pin
 * is refused with var->value untouched (genesis_plus_gx then keeps the
 * previous answer); everything else is refused. */
static bool env_stable_retro(rh_host *h, unsigned cmd, void *data) {
  switch (cmd) {
  case RETRO_ENVIRONMENT_SET_PIXEL_FORMAT: {
    int f = data ? *(const int *)data : -1;
    if (f == RH_PIXEL_0RGB1555 || f == RH_PIXEL_XRGB8888 || f == RH_PIXEL_RGB565) h->pixfmt = f;
    return true;
  }
  case RETRO_ENVIRONMENT_GET_VARIABLE: {
    struct retro_variable *var = data;
    option *o = var && var->key ? opt_find(h, var->key) : NULL;
    if (!o || !o->val) return false;
    var->value = o->val;
    return true;
  }
  case RETRO_ENVIRONMENT_GET_SYSTEM_DIRECTORY:
    return data && (*(const char **)data = h->system_dir, true);
  case RETRO_ENVIRONMENT_GET_CAN_DUPE:
    return data && (*(bool *)data = true, true);
  case RETRO_ENVIRONMENT_SET_MEMORY_MAPS:
    return env_memory_maps(h, data);
  case RETRO_ENVIRONMENT_GET_LOG_INTERFACE:
    return data && (((struct retro_log_callback *)data)->log = core_log, true);
  }
  env_note(h, ENV_BASE(cmd), data);
  return false;
}

static bool cb_environment(unsigned cmd, void *data) {
  rh_host *h = current();
  if (!h || (cmd & RETRO_ENVIRONMENT_PRIVATE)) return false;
  if (h->profile == RH_PROFILE_STABLE_RETRO) return env_stable_retro(h, cmd, data);
  cmd = ENV_BASE(cmd);
  switch (cmd) {
  case RETRO_ENVIRONMENT_SET_PIXEL_FORMAT: {
    int f = data ? *(const int *)data : -1;
    if (f != RH_PIXEL_0RGB1555 && f != RH_PIXEL_XRGB8888 && f != RH_PIXEL_RGB565) return false;
    return h->pixfmt = f, true;
  }
  case RETRO_ENVIRONMENT_GET_SYSTEM_DIRECTORY:
  case RETRO_ENVIRONMENT_GET_CORE_ASSETS_DIRECTORY:
    return data && (*(const char **)data = h->system_dir, true);
  case RETRO_ENVIRONMENT_GET_SAVE_DIRECTORY:
    return data && (*(const char **)data = h->save_dir, true);
  case RETRO_ENVIRONMENT_GET_LIBRETRO_PATH:
    return data && (*(const char **)data = h->core_path, true);
  case RETRO_ENVIRONMENT_SET_MESSAGE:
    return env_note(h, cmd, data), data != NULL;
  case RETRO_ENVIRONMENT_SHUTDOWN:
    h->shutdown_requested = 1;
    log_text(h, "INFO", "the core requested shutdown", strlen("the core requested shutdown"));
    return true;
  case RETRO_ENVIRONMENT_SET_SYSTEM_AV_INFO:
  case RETRO_ENVIRONMENT_SET_GEOMETRY:
    return env_av(h, cmd, data);
  case ENV_BASE(RETRO_ENVIRONMENT_SET_MEMORY_MAPS):
    return env_memory_maps(h, data);
  case RETRO_ENVIRONMENT_SET_CORE_OPTIONS_DISPLAY:
  case RETRO_ENVIRONMENT_SET_INPUT_DESCRIPTORS:
  case RETRO_ENVIRONMENT_SET_CONTROLLER_INFO:
  case RETRO_ENVIRONMENT_SET_PERFORMANCE_LEVEL:
  case RETRO_ENVIRONMENT_SET_SUPPORT_NO_GAME:
  case RETRO_ENVIRONMENT_SET_SERIALIZATION_QUIRKS:
  case ENV_BASE(RETRO_ENVIRONMENT_GET_INPUT_BITMASKS):
    return true; /* accepted; nothing for the host to keep */
  }
  return env_options(h, cmd, data) || env_constant(cmd, data);
}

/* --------------------------------------------------------------- pixels */

static size_t bytes_per_pixel(int fmt) { return fmt == RH_PIXEL_XRGB8888 ? 4 : 2; }

/* One row of pixels to RGB24 with plain shifts (RGB565 and 0RGB1555 expanded by shifting, as stable-retro). */
static void convert_row(uint8_t *d, const uint8_t *row, unsigned from, unsigned w, int fmt) {
  if (fmt == RH_PIXEL_XRGB8888) {
    const uint32_t *s = (const uint32_t *)row;
    for (unsigned x = from; x < w; x++, d += 3)
      d[0] = (uint8_t)(s[x] >> 16), d[1] = (uint8_t)(s[x] >> 8), d[2] = (uint8_t)s[x];
  } else if (fmt == RH_PIXEL_RGB565) {
    const uint16_t *s = (const uint16_t *)row;
    for (unsigned x = from; x < w; x++, d += 3)
      d[0] = (uint8_t)((s[x] >> 11) << 3), d[1] = (uint8_t)(((s[x] >> 5) & 63) << 2),
      d[2] = (uint8_t)((s[x] & 31) << 3);
  } else {
    const uint16_t *s = (const uint16_t *)row;
    for (unsigned x = from; x < w; x++, d += 3)
      d[0] = (uint8_t)(((s[x] >> 10) & 31) << 3), d[1] = (uint8_t)(((s[x] >> 5) & 31) << 3),
      d[2] = (uint8_t)((s[x] & 31) << 3);
  }
}

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define RH_SIMD 1
/* The same conversion, 8 pixels (RGB565) or 4 pixels (XRGB8888) per step with SSSE3 byte shuffles,
 * ~5x faster (an agent's observation every frame); the plain loop finishes each row. Returns the
 * pixels done. Bit-identical to convert_row. */
__attribute__((target("ssse3"))) static unsigned convert_row_ssse3(uint8_t *d, const uint8_t *row, unsigned w,
                                                                   int fmt) {
  unsigned x = 0;
  if (fmt == RH_PIXEL_RGB565) {
    const __m128i m5 = _mm_set1_epi16(0x1f), m6 = _mm_set1_epi16(0x3f);
    /* after packing: R0..R7 G0..G7 in one register, B0..B7 in another; interleave to R G B triples */
    const __m128i rg_lo = _mm_setr_epi8(0, 8, -1, 1, 9, -1, 2, 10, -1, 3, 11, -1, 4, 12, -1, 5);
    const __m128i b_lo = _mm_setr_epi8(-1, -1, 0, -1, -1, 1, -1, -1, 2, -1, -1, 3, -1, -1, 4, -1);
    const __m128i rg_hi = _mm_setr_epi8(13, -1, 6, 14, -1, 7, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m128i b_hi = _mm_setr_epi8(-1, 5, -1, -1, 6, -1, -1, 7, -1, -1, -1, -1, -1, -1, -1, -1);
    for (; x + 8 <= w; x += 8, d += 24) {
      __m128i p = _mm_loadu_si128((const __m128i *)(row + 2 * (size_t)x));
      __m128i r = _mm_slli_epi16(_mm_srli_epi16(p, 11), 3);
      __m128i g = _mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(p, 5), m6), 2);
      __m128i b = _mm_slli_epi16(_mm_and_si128(p, m5), 3);
      __m128i rg = _mm_packus_epi16(r, g), bb = _mm_packus_epi16(b, b);
      _mm_storeu_si128((__m128i *)d, _mm_or_si128(_mm_shuffle_epi8(rg, rg_lo), _mm_shuffle_epi8(bb, b_lo)));
      _mm_storel_epi64((__m128i *)(d + 16), _mm_or_si128(_mm_shuffle_epi8(rg, rg_hi), _mm_shuffle_epi8(bb, b_hi)));
    }
  } else if (fmt == RH_PIXEL_XRGB8888) {
    const __m128i bgrx_to_rgb = _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
    for (; x + 6 <= w; x += 4, d += 12) { /* each 16-byte store writes 4 bytes past the 4 pixels: stop early */
      __m128i p = _mm_loadu_si128((const __m128i *)(row + 4 * (size_t)x));
      _mm_storeu_si128((__m128i *)d, _mm_shuffle_epi8(p, bgrx_to_rgb));
    }
  }
  return x;
}
#endif

/* Convert a core frame (any pitch) to RGB24 rows of dst_stride bytes. */
static void convert_rows(uint8_t *dst, size_t dst_stride, const void *src, unsigned w, unsigned hgt, size_t pitch,
                         int fmt) {
#ifdef RH_SIMD
  static int simd = -1;
  if (simd < 0) simd = __builtin_cpu_supports("ssse3") ? 1 : 0;
#endif
  for (unsigned y = 0; y < hgt; y++) {
    const uint8_t *row = (const uint8_t *)src + (size_t)y * pitch;
    uint8_t *d = dst + (size_t)y * dst_stride;
    unsigned done = 0;
#ifdef RH_SIMD
    if (simd && fmt != RH_PIXEL_0RGB1555) done = convert_row_ssse3(d, row, w, fmt);
#endif
    convert_row(d + (size_t)done * 3, row, done, w, fmt);
  }
}

/* Convert a core frame (any pitch) to packed RGB24 with plain shifts. */
static void convert(uint8_t *dst, const void *src, unsigned w, unsigned hgt, size_t pitch, int fmt) {
  convert_rows(dst, (size_t)w * 3, src, w, hgt, pitch, fmt);
}

/* The observation picture into dst (obs_w x obs_h RGB24). Outside the
 * stable-retro profile only the presented part is read; the rest is black. */
static void obs_picture(const rh_host *h, uint8_t *dst) {
  size_t stride = (size_t)h->obs_w * 3;
  unsigned w = h->obs_w, hgt = h->obs_h;
  if (!h->obs_data) w = hgt = 0;
  if (h->profile != RH_PROFILE_STABLE_RETRO) {
    w = w < h->shown_w ? w : h->shown_w;
    hgt = hgt < h->shown_h ? hgt : h->shown_h;
  }
  if (w < h->obs_w || hgt < h->obs_h) memset(dst, 0, stride * h->obs_h);
  convert_rows(dst, stride, h->obs_data, w, hgt, h->obs_pitch, h->pixfmt);
}

static int pic_reserve(rh_host *h, size_t size) {
  if (size <= h->pic_cap) return 1;
  uint8_t *p = realloc(h->pic, size);
  if (!p) return h->pic_kind = PIC_NONE, 0;
  h->pic = p, h->pic_cap = size;
  return 1;
}

/* Keep a compact raw copy of the frame the core last presented. */
static void retain_raw(rh_host *h) {
  size_t row = h->fr_w * bytes_per_pixel(h->pixfmt);
  h->fr_pending = 0;
  if (!pic_reserve(h, row * h->fr_h)) return;
  for (unsigned y = 0; y < h->fr_h; y++)
    memcpy(h->pic + y * row, (const uint8_t *)h->fr_data + y * h->fr_pitch, row);
  h->pic_kind = PIC_RAW, h->pic_fmt = h->pixfmt, h->pic_w = h->fr_w, h->pic_h = h->fr_h;
}

static void retain_rgb(rh_host *h, const uint8_t *rgb, unsigned w, unsigned hgt) {
  if (!pic_reserve(h, (size_t)w * hgt * 3)) return;
  memcpy(h->pic, rgb, (size_t)w * hgt * 3);
  h->pic_kind = PIC_RGB, h->pic_w = w, h->pic_h = hgt;
}

/* The retained picture as RGB24 (the caller checked the room). */
static void retained_to_rgb(const rh_host *h, uint8_t *dst) {
  if (h->pic_kind == PIC_RAW)
    convert(dst, h->pic, h->pic_w, h->pic_h, h->pic_w * bytes_per_pixel(h->pic_fmt), h->pic_fmt);
  else if (h->pic_kind == PIC_RGB)
    memcpy(dst, h->pic, (size_t)h->pic_w * h->pic_h * 3);
}

/* ------------------------------------- run-time callbacks (keep them tiny) */

static void cb_video(const void *data, unsigned w, unsigned hgt, size_t pitch) {
  rh_host *h = current();
  if (!h) return;
  if (pitch) h->obs_pitch = pitch; /* even on a dupe, as stable-retro keeps it */
  if (!data || data == RETRO_HW_FRAME_BUFFER_VALID || h->run_err) return; /* a dupe */
  h->obs_data = data, h->shown_w = w, h->shown_h = hgt;
  if (h->vout) {
    size_t need = (size_t)w * hgt * 3;
    if (need > h->frame_bytes) {
      h->run_err = fail(h, RH_EINVAL, "frame %zu is %ux%u (%zu bytes as RGB24) but frame_bytes is %zu",
                        h->frame_i, w, hgt, need, h->frame_bytes);
      return;
    }
    convert(h->vout + h->frame_i * h->frame_bytes, data, w, hgt, pitch, h->pixfmt);
  } else { /* headless: remember the frame, copy it only if it may end the batch */
    h->fr_data = data, h->fr_w = w, h->fr_h = hgt, h->fr_pitch = pitch;
    if (h->last_frame)
      retain_raw(h);
    else
      h->fr_pending = 1;
  }
  h->presented = h->batch_real = 1;
  h->cur_w = w, h->cur_h = hgt;
}

static void audio_push(rh_host *h, const int16_t *s, size_t n) {
  if (h->audio_len + n > h->audio_cap) {
    size_t cap = h->audio_cap ? h->audio_cap : 8192;
    while (cap < h->audio_len + n) cap *= 2;
    int16_t *p = realloc(h->audio, cap * sizeof *p);
    if (!p) {
      h->audio_oom = 1;
      return;
    }
    h->audio = p, h->audio_cap = cap;
  }
  memcpy(h->audio + h->audio_len, s, n * sizeof *s);
  h->audio_len += n;
}

static void cb_audio_sample(int16_t left, int16_t right) {
  rh_host *h = current();
  if (!h || !h->want_audio) return;
  int16_t s[2] = {left, right};
  audio_push(h, s, 2);
}

static size_t cb_audio_batch(const int16_t *data, size_t frames) {
  rh_host *h = current();
  if (h && h->want_audio && data) audio_push(h, data, frames * 2);
  return frames;
}

static void cb_input_poll(void) {} /* input is set per frame before retro_run */

#define SR_MAX_PLAYERS 2 /* stable-retro's pads */

static int16_t cb_input_state(unsigned port, unsigned device, unsigned index, unsigned id) {
  (void)index;
  rh_host *h = current();
  if (!h || !h->pad || port >= h->n_pads) return 0;
  if (h->profile == RH_PROFILE_STABLE_RETRO) /* its pads answer any device, and only two exist */
    return port < SR_MAX_PLAYERS && id < 16 ? (int16_t)((h->pad[port] >> id) & 1) : 0;
  if ((device & RETRO_DEVICE_MASK) != RETRO_DEVICE_JOYPAD) return 0;
  unsigned mask = h->pad[port];
  if (id == RETRO_DEVICE_ID_JOYPAD_MASK) return (int16_t)mask;
  return id < 16 ? (int16_t)((mask >> id) & 1) : 0;
}

/* --------------------------------------------------------- open, close */

/* dlopen + symbol checks; NULL (message in err) if the file is not a core. */
static void *open_library(const char *path, struct core_api *api, char *err, size_t cap) {
  struct stat st;
  if (stat(path, &st) != 0)
    return seterr(err, cap, "cannot open core %s: %s", path, strerror(errno)), NULL;
  if (!S_ISREG(st.st_mode)) return seterr(err, cap, "%s is not a libretro core: not a regular file", path), NULL;
  void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!dl) {
    const char *why = dlerror();
    seterr(err, cap, "%s is not a libretro core: cannot load it as a shared library (%s)", path,
           why ? why : "unknown error");
    return NULL;
  }
  const char *missing = NULL;
  int n_missing = 0;
  for (size_t i = 0; i < N_SYMBOLS; i++) {
    void *p = dlsym(dl, k_symbols[i].name);
    if (!p && !n_missing++) missing = k_symbols[i].name;
    memcpy((char *)api + k_symbols[i].off, &p, sizeof p); /* void * -> function pointer */
  }
  if (!missing) return dl;
  if (n_missing > 1)
    seterr(err, cap, "%s is not a libretro core: missing symbol %s (and %d more retro_* symbols)", path,
           missing, n_missing - 1);
  else
    seterr(err, cap, "%s is not a libretro core: missing symbol %s", path, missing);
  dlclose(dl);
  return NULL;
}

static void host_free(rh_host *h) {
  for (size_t i = 0; i < h->n_pool; i++) free(h->pool[i]);
  free(h->pool), free(h->opts), free(h->maps), free(h->watch), free(h->audio), free(h->pic), free(h->log);
  free(h->core_path), free(h->system_dir), free(h->save_dir);
  free(h->name), free(h->version), free(h->extensions), free(h->game_data), free(h->tmp_game);
  if (h->cap_fd >= 0) close(h->cap_fd);
  free(h);
}

static rh_host *host_new(void *dl, const struct core_api *api, const char *path, const char *sys,
                         const char *save, int profile) {
  rh_host *h = calloc(1, sizeof *h);
  if (!h) return NULL;
  h->dl = dl, h->api = *api, h->profile = profile;
  h->cap_fd = h->saved_fd = -1;
  h->state_at = -1;
  h->pixfmt = RH_PIXEL_0RGB1555; /* the libretro default */
  h->last_frame = 1;
  h->core_path = dupstr(path);
  h->system_dir = dupstr(sys ? sys : ".");
  h->save_dir = dupstr(save ? save : sys ? sys : ".");
  h->log = malloc(LOG_CAP);
  if (!h->core_path || !h->system_dir || !h->save_dir || !h->log) return host_free(h), NULL;
  return h;
}

/* Install the callbacks and initialise the core (h is current). */
static void core_start(rh_host *h) {
  h->api.set_environment(cb_environment); /* cores query the environment from here */
  h->api.set_video_refresh(cb_video);
  h->api.set_audio_sample(cb_audio_sample);
  h->api.set_audio_sample_batch(cb_audio_batch);
  h->api.set_input_poll(cb_input_poll);
  h->api.set_input_state(cb_input_state);
  h->api.init();
  struct retro_system_info si;
  memset(&si, 0, sizeof si);
  h->api.get_system_info(&si);
  h->name = dupstr(si.library_name);
  h->version = dupstr(si.library_version);
  h->extensions = dupstr(si.valid_extensions);
  h->need_fullpath = si.need_fullpath;
}

RH_API rh_host *rh_open(const char *core_path, const char *system_dir, const char *save_dir, int profile,
                        char *err, size_t err_cap) {
  seterr(err, err_cap, "%s", "");
  if (!core_path || !*core_path) return seterr(err, err_cap, "no core path given"), NULL;
  if (profile != RH_PROFILE_FULL && profile != RH_PROFILE_STABLE_RETRO)
    return seterr(err, err_cap, "unknown frontend profile %d", profile), NULL;
  struct core_api api;
  void *dl = open_library(core_path, &api, err, err_cap);
  if (!dl) return NULL;
  unsigned version = api.api_version();
  if (version != RETRO_API_VERSION) {
    seterr(err, err_cap, "%s speaks libretro API version %u, retrotool needs version %d", core_path, version,
           RETRO_API_VERSION);
    dlclose(dl);
    return NULL;
  }
  rh_host *h = host_new(dl, &api, core_path, system_dir, save_dir, profile);
  if (!h || !registry_add(h)) {
    seterr(err, err_cap,
           h ? "%s is already open in this process (a core's globals cannot be shared); open a private copy of the file"
             : "out of memory opening %s",
           core_path);
    if (h) host_free(h);
    dlclose(dl);
    return NULL;
  }
  /* Capture is always on during open: the caller cannot ask before the
   * handle exists, and init-time chatter must not corrupt a CLI pipe. */
  enter(h);
  h->capture = 1;
  capture_begin(h);
  core_start(h);
  capture_end(h);
  h->capture = 0;
  if (!h->name || !h->version || !h->extensions) {
    seterr(err, err_cap, "out of memory opening %s", core_path);
    rh_close(h);
    return NULL;
  }
  return h;
}

static void unload(rh_host *h) {
  if (h->loaded) h->api.unload_game();
  h->loaded = 0;
  free(h->game_data);
  h->game_data = NULL;
  if (h->tmp_game) unlink(h->tmp_game);
  free(h->tmp_game);
  h->tmp_game = NULL;
  h->n_watch = 0; /* the watched memory belonged to the game */
}

RH_API void rh_close(rh_host *h) {
  if (!h) return;
  enter(h);
  capture_begin(h);
  unload(h);
  h->api.deinit();
  capture_end(h);
  registry_remove(h);
  dlclose(h->dl);
  host_free(h);
}

/* ------------------------------------------------------- small accessors */

RH_API const char *rh_last_error(const rh_host *h) { return h ? h->err : "invalid (NULL) host handle"; }
RH_API const char *rh_core_name(const rh_host *h) { return h ? h->name : ""; }
RH_API const char *rh_core_version(const rh_host *h) { return h ? h->version : ""; }
RH_API const char *rh_core_extensions(const rh_host *h) { return h ? h->extensions : ""; }
RH_API int rh_core_need_fullpath(const rh_host *h) { return h ? h->need_fullpath : 0; }

/* value NULL drops the override (back to the core's default). */
RH_API int rh_set_option(rh_host *h, const char *key, const char *value) {
  if (!h) return RH_EINVAL;
  h->err[0] = '\0';
  if (!key || !*key) return fail(h, RH_EINVAL, "option key is empty");
  option *o = opt_add(h, key);
  const char *v = value ? intern(h, value) : NULL;
  if (!o || (value && !v)) return fail(h, RH_ENOMEM, "out of memory storing option %s", key);
  if (o->val != v && h->loaded) h->opt_updated = 1; /* interned: same pointer = same text */
  o->val = v;
  return RH_OK;
}

static const option *declared_option(const rh_host *h, int i) {
  for (int k = 0; k < h->n_opts; k++)
    if (h->opts[k].declared && i-- == 0) return &h->opts[k];
  return NULL;
}

RH_API int rh_option_count(const rh_host *h) {
  int n = 0;
  for (int k = 0; h && k < h->n_opts; k++) n += h->opts[k].declared;
  return n;
}

RH_API int rh_option_get(const rh_host *h, int i, const char **key, const char **default_value,
                         const char **current_value) {
  const option *o = h && i >= 0 ? declared_option(h, i) : NULL;
  if (!o) return RH_EINVAL;
  if (key) *key = o->key;
  if (default_value) *default_value = o->def;
  if (current_value) *current_value = o->val ? o->val : o->def;
  return RH_OK;
}

RH_API int rh_capture_stdout(rh_host *h, int on) {
  if (!h) return RH_EINVAL;
  h->capture = on != 0;
  return RH_OK;
}

RH_API int rh_av_info(const rh_host *h, rh_av *out) {
  if (!h || !out) return RH_EINVAL;
  const struct retro_game_geometry *g = &h->av.geometry;
  *out = (rh_av){g->base_width, g->base_height, g->max_width, g->max_height, g->aspect_ratio,
                 h->av.timing.fps, h->av.timing.sample_rate, h->pixfmt};
  return h->loaded ? RH_OK : RH_ECONTENT;
}

RH_API const int16_t *rh_audio(const rh_host *h, size_t *n_samples) {
  if (n_samples) *n_samples = h ? h->audio_len : 0;
  return h ? h->audio : NULL;
}

RH_API int rh_memory_map_count(const rh_host *h) { return h ? h->n_maps : 0; }

RH_API int rh_memory_map_get(const rh_host *h, int i, rh_memdesc *out) {
  if (!h || !out || i < 0 || i >= h->n_maps) return RH_EINVAL;
  *out = h->maps[i];
  return RH_OK;
}

RH_API size_t rh_log_read(rh_host *h, char *out, size_t cap) {
  if (!h || !out || !cap) return 0;
  size_t n = h->log_len < cap - 1 ? h->log_len : cap - 1; /* callers concatenate chunks */
  memcpy(out, h->log, n);
  out[n] = '\0';
  memmove(h->log, h->log + n, h->log_len - n);
  h->log_len -= n, h->log_gone += n;
  return n;
}

/* -------------------------------------------------------------- loading */

static int read_file(rh_host *h, const char *path, void **data, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return fail(h, RH_ECONTENT, "cannot read %s: %s", path, strerror(errno));
  long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
  void *buf = len >= 0 && fseek(f, 0, SEEK_SET) == 0 ? malloc(len ? (size_t)len : 1) : NULL;
  int ok = buf && fread(buf, 1, (size_t)len, f) == (size_t)len;
  fclose(f);
  if (!ok) {
    int code = buf || len < 0 ? RH_ECONTENT : RH_ENOMEM;
    free(buf);
    return fail(h, code, "cannot read %s", path);
  }
  *data = buf, *size = (size_t)len;
  return RH_OK;
}

/* Extensions that name containers or encoded dumps: never a default suffix. */
static int container_ext(const char *e, size_t n) {
  static const char *const k[] = {"mdx", "zip", "7z", "cue", "m3u", "chd", "ccd", "toc", "gdi", "iso", "pbp"};
  for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
    if (strlen(k[i]) == n && strncasecmp(k[i], e, n) == 0) return 1;
  return 0;
}

/* ".ext" for a temp game file: the name hint's extension, else the core's
 * first plain valid extension. Cores may pick a format by extension:
 * genesis_plus_gx lists "mdx" (an encoded dump it decodes) first. */
static void temp_suffix(const char *hint, const char *exts, char *out, size_t cap) {
  const char *base = hint ? strrchr(hint, '/') : NULL;
  base = base ? base + 1 : hint;
  const char *dot = base ? strrchr(base, '.') : NULL, *src = dot ? dot + 1 : exts;
  for (const char *e = exts; !dot && *e; e += strcspn(e, "|"), e += *e == '|')
    if (strcspn(e, "|") && !container_ext(e, strcspn(e, "|"))) {
      src = e;
      break;
    }
  size_t n = 0;
  for (char c; (c = src[n]) && c != '|' && n + 2 < cap; n++)
    out[1 + n] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ? c : '_';
  out[0] = n ? '.' : '\0';
  out[n ? 1 + n : 0] = '\0';
}

static int write_temp_game(rh_host *h, const void *data, size_t size, const char *hint) {
  char ext[18], path[64];
  temp_suffix(hint, h->extensions, ext, sizeof ext);
  snprintf(path, sizeof path, "/tmp/retrotool-game-XXXXXX%s", ext);
  int fd = mkstemps(path, (int)strlen(ext));
  if (fd < 0) return fail(h, RH_ECONTENT, "cannot create a temporary game file: %s", strerror(errno));
  const char *p = data;
  size_t left = size;
  for (ssize_t w; left && ((w = write(fd, p, left)) > 0 || errno == EINTR);)
    if (w > 0) p += w, left -= (size_t)w;
  close(fd);
  if (left || !(h->tmp_game = strdup(path))) {
    unlink(path);
    return fail(h, RH_ECONTENT, "cannot write the temporary game file %s", path);
  }
  return RH_OK;
}

/* Fill gi as the core wants it. Bytes without a readable path go to a temp
 * file so every core gets a real path: need_fullpath cores need one, and
 * some others (fceumm) crash on a NULL path. A given path that is not a
 * file only names the temp file. Bytes are host copies kept until unload. */
static int prepare_game(rh_host *h, const char *path, const void *data, size_t size,
                        struct retro_game_info *gi) {
  memset(gi, 0, sizeof *gi);
  if (data && (!path || access(path, R_OK) != 0)) {
    int rc = write_temp_game(h, data, size, path);
    if (rc != RH_OK) return rc;
    path = h->tmp_game;
  }
  gi->path = path;
  if (h->need_fullpath) return RH_OK;
  if (!data) {
    int rc = read_file(h, path, &h->game_data, &size);
    if (rc != RH_OK) return rc;
  } else {
    if (!(h->game_data = malloc(size ? size : 1))) return fail(h, RH_ENOMEM, "out of memory copying the game");
    memcpy(h->game_data, data, size);
  }
  gi->data = h->game_data, gi->size = size;
  return RH_OK;
}

RH_API int rh_load_game(rh_host *h, const char *path, const void *data, size_t size) {
  if (!h) return RH_EINVAL;
  h->err[0] = '\0';
  if (h->loaded) return fail(h, RH_ESTATE_ORDER, "a game is already loaded");
  if (!path && !data) return fail(h, RH_EINVAL, "give a game path or game bytes");
  struct retro_game_info gi;
  int rc = prepare_game(h, path, data, size, &gi);
  if (rc != RH_OK) return unload(h), rc;
  h->pic_kind = PIC_NONE, h->cur_w = h->cur_h = 0;
  h->obs_data = NULL, h->obs_pitch = 0, h->shown_w = h->shown_h = 0;
  size_t log_mark = h->log_gone + h->log_len;
  enter(h);
  capture_begin(h);
  bool ok = h->api.load_game(&gi);
  struct retro_system_av_info av;
  memset(&av, 0, sizeof av);
  if (ok) h->api.get_system_av_info(&av);
  capture_end(h);
  if (!ok) {
    unload(h);
    fail(h, RH_ECONTENT, "the core refused the game");
    err_append_log(h, log_mark);
    return RH_ECONTENT;
  }
  h->av = av, h->loaded = 1, h->frames_run = 0, h->state_at = -1;
  h->obs_w = av.geometry.base_width, h->obs_h = av.geometry.base_height;
  return RH_OK;
}

RH_API int rh_set_obs_size(rh_host *h, unsigned width, unsigned height) {
  if (!h) return RH_EINVAL;
  h->err[0] = '\0';
  if (!width || !height || width > 4096 || height > 4096)
    return fail(h, RH_EINVAL, "observation size %ux%u out of range", width, height);
  h->obs_w = width, h->obs_h = height;
  return RH_OK;
}

/* -------------------------------------------------------------- running */

/* Clear the error, check a game is loaded and make h current. */
static int enter_game(rh_host *h) {
  h->err[0] = '\0';
  if (!h->loaded) return fail(h, RH_ECONTENT, "no game loaded");
  enter(h);
  return RH_OK;
}

RH_API int rh_set_port_device(rh_host *h, unsigned port, unsigned device) {
  if (!h) return RH_EINVAL;
  h->err[0] = '\0';
  if (port >= RH_MAX_PORTS) return fail(h, RH_EINVAL, "port %u out of range (max %d)", port, RH_MAX_PORTS - 1);
  enter(h);
  capture_begin(h);
  h->api.set_controller_port_device(port, device);
  capture_end(h);
  return RH_OK;
}

RH_API int rh_reset(rh_host *h) {
  int rc = h ? enter_game(h) : RH_EINVAL;
  if (rc != RH_OK) return rc;
  capture_begin(h);
  h->api.reset();
  capture_end(h);
  return RH_OK;
}

/* A frame without a new picture repeats the previous one in its slot. */
static int video_dupe(rh_host *h, size_t f) {
  uint8_t *slot = h->vout + f * h->frame_bytes;
  if (f > 0) { /* cur_w/cur_h are the previous slot's size */
    memcpy(slot, slot - h->frame_bytes, (size_t)h->cur_w * h->cur_h * 3);
    return RH_OK;
  }
  if (h->pic_kind != PIC_NONE) {
    if ((size_t)h->pic_w * h->pic_h * 3 > h->frame_bytes)
      return fail(h, RH_EINVAL, "the previous picture (%ux%u) does not fit frame_bytes %zu", h->pic_w, h->pic_h,
                  h->frame_bytes);
    retained_to_rgb(h, slot);
    h->cur_w = h->pic_w, h->cur_h = h->pic_h;
    return RH_OK;
  }
  /* Nothing shown yet: black, at the base size if it fits. */
  memset(slot, 0, h->frame_bytes);
  unsigned w = h->av.geometry.base_width, hgt = h->av.geometry.base_height;
  int fits = (size_t)w * hgt * 3 <= h->frame_bytes;
  h->cur_w = fits ? w : 0, h->cur_h = fits ? hgt : 0;
  return RH_OK;
}

static void copy_watched(const rh_host *h, uint8_t *out) {
  for (unsigned i = 0; i < h->n_watch; i++) {
    memcpy(out, h->watch[i].ptr, h->watch[i].len);
    out += h->watch[i].len;
  }
}

/* obs_out: NULL, or n slots of frame_bytes receiving observation pictures. */
static void run_frames(rh_host *h, size_t n, const uint16_t *buttons, unsigned ports, uint16_t *dims,
                       uint8_t *obs_out) {
  for (size_t f = 0; f < n; f++) {
    h->frame_i = f, h->presented = 0, h->last_frame = f + 1 == n;
    h->pad = buttons ? buttons + f * ports : NULL;
    h->api.run();
    if (h->frame_counter) *h->frame_counter += 1;
    h->frames_run++;
    if (h->n_watch) copy_watched(h, h->watch_out + f * h->watch_stride);
    if (!h->run_err && !h->presented && h->vout) h->run_err = video_dupe(h, f);
    if (h->run_err) return;
    if (obs_out) obs_picture(h, obs_out + f * h->frame_bytes);
    unsigned w = obs_out ? h->obs_w : h->cur_w, hgt = obs_out ? h->obs_h : h->cur_h;
    if (dims) dims[2 * f] = (uint16_t)w, dims[2 * f + 1] = (uint16_t)hgt;
  }
}

RH_API long rh_run(rh_host *h, size_t n, const uint16_t *buttons, unsigned ports, uint8_t *video_out,
                   size_t frame_bytes, uint16_t *dims_out, int picture, int want_audio) {
  int rc = h ? enter_game(h) : RH_EINVAL;
  if (rc != RH_OK) return rc;
  if (ports > RH_MAX_PORTS) return fail(h, RH_EINVAL, "%u ports, at most %d", ports, RH_MAX_PORTS);
  if (n > (size_t)LONG_MAX) return fail(h, RH_EINVAL, "too many frames");
  if (video_out && !frame_bytes) return fail(h, RH_EINVAL, "frame_bytes is 0");
  if (picture != RH_PICTURE_NATIVE && picture != RH_PICTURE_OBS) return fail(h, RH_EINVAL, "unknown picture kind %d", picture);
  int obs = video_out && picture == RH_PICTURE_OBS;
  if (obs && (size_t)h->obs_w * h->obs_h * 3 > frame_bytes)
    return fail(h, RH_EINVAL, "the observation (%ux%u) does not fit frame_bytes %zu", h->obs_w, h->obs_h, frame_bytes);
  if (h->n_watch && n > h->watch_cap / h->watch_stride)
    return fail(h, RH_EINVAL, "%zu frames of watched memory (%zu bytes each) do not fit %zu bytes", n,
                h->watch_stride, h->watch_cap);
  h->audio_len = 0, h->audio_oom = 0, h->want_audio = want_audio != 0;
  h->vout = obs ? NULL : video_out, h->frame_bytes = frame_bytes, h->n_pads = buttons ? ports : 0;
  h->run_err = h->batch_real = h->fr_pending = 0;
  capture_begin(h);
  run_frames(h, n, buttons, ports, dims_out, obs ? video_out : NULL);
  capture_end(h);
  h->pad = NULL, h->vout = NULL, h->last_frame = 1;
  if (h->run_err) return h->run_err;
  /* Retain the last picture for rh_screen and the next batch's dupes. */
  if (video_out && !obs && h->batch_real)
    retain_rgb(h, video_out + (n - 1) * frame_bytes, h->cur_w, h->cur_h);
  else if (h->fr_pending) /* the batch ended on dupes: the core's buffer still holds it */
    retain_raw(h);
  if (h->audio_oom) return fail(h, RH_ENOMEM, "out of memory collecting audio");
  return (long)n;
}

RH_API int rh_set_frame_counter(rh_host *h, volatile uint64_t *counter) {
  if (!h) return RH_EINVAL;
  h->frame_counter = counter;
  return RH_OK;
}

RH_API int rh_watch_memory(rh_host *h, const rh_span *spans, unsigned n_spans, uint8_t *out, size_t out_cap) {
  if (!h) return RH_EINVAL;
  size_t stride = 0;
  for (unsigned i = 0; i < n_spans; i++) {
    if (!spans[i].ptr || !spans[i].len) return fail(h, RH_EINVAL, "watched span %u is empty", i);
    stride += spans[i].len;
  }
  if (n_spans && (!out || out_cap < stride))
    return fail(h, RH_EINVAL, "watched memory needs %zu bytes per frame; the buffer holds %zu", stride, out_cap);
  rh_span *copy = NULL;
  if (n_spans && !(copy = malloc(n_spans * sizeof *copy))) return fail(h, RH_ENOMEM, "out of memory");
  if (n_spans) memcpy(copy, spans, n_spans * sizeof *copy);
  free(h->watch);
  h->watch = copy, h->n_watch = n_spans, h->watch_stride = stride;
  h->watch_out = n_spans ? out : NULL, h->watch_cap = n_spans ? out_cap : 0;
  return RH_OK;
}

RH_API long rh_screen(rh_host *h, int picture, uint8_t *out, size_t cap, unsigned *width, unsigned *height) {
  if (!h) return RH_EINVAL;
  h->err[0] = '\0';
  if (picture == RH_PICTURE_OBS) {
    size_t need = (size_t)h->obs_w * h->obs_h * 3;
    if (width) *width = h->obs_w;
    if (height) *height = h->obs_h;
    if (!h->loaded) return fail(h, RH_ECONTENT, "no game loaded");
    if (!out || cap < need) return fail(h, RH_EINVAL, "the picture needs %zu bytes, the buffer has %zu", need, cap);
    obs_picture(h, out);
    return (long)need;
  }
  int have = h->pic_kind != PIC_NONE;
  if (width) *width = have ? h->pic_w : 0;
  if (height) *height = have ? h->pic_h : 0;
  if (!have) return fail(h, RH_ECONTENT, "the core has not shown a picture yet");
  size_t need = (size_t)h->pic_w * h->pic_h * 3;
  if (!out || cap < need) return fail(h, RH_EINVAL, "the picture needs %zu bytes, the buffer has %zu", need, cap);
  retained_to_rgb(h, out);
  return (long)need;
}

/* ---------------------------------------------------- states and memory */

/* retro_serialize_size inside a capture (h is current). */
static size_t state_size(rh_host *h) {
  capture_begin(h);
  size_t n = h->api.serialize_size();
  capture_end(h);
  return n;
}

RH_API size_t rh_serialize_size(rh_host *h) { return h && enter_game(h) == RH_OK ? state_size(h) : 0; }

RH_API int rh_serialize(rh_host *h, void *out, size_t size) {
  int rc = h ? enter_game(h) : RH_EINVAL;
  if (rc != RH_OK) return rc;
  size_t need = state_size(h);
  if (need == 0) return fail(h, RH_ESTATE, "the core does not support save states");
  if (!out || size < need) return fail(h, RH_EINVAL, "the state buffer is %zu bytes, the core needs %zu", size, need);
  capture_begin(h);
  bool ok = h->api.serialize(out, need);
  capture_end(h);
  return ok ? RH_OK : fail(h, RH_ESTATE, "the core failed to save its state");
}

RH_API int rh_unserialize(rh_host *h, const void *data, size_t size) {
  int rc = h ? enter_game(h) : RH_EINVAL;
  if (rc != RH_OK) return rc;
  if (!data) return fail(h, RH_EINVAL, "no state data");
  /* Some cores report another size once running (nestopia: 5050 bytes right
   * after load, 5070 after a frame) and take states of either, so a size that
   * differs is the core's to judge. A core may read its own size whatever
   * `size` says: a shorter state is passed in a zero-padded copy. */
  size_t need = state_size(h);
  void *padded = NULL;
  if (size < need) {
    if (!(padded = calloc(1, need))) return fail(h, RH_ENOMEM, "out of memory loading a state");
    memcpy(padded, data, size);
  }
  h->state_at = (int64_t)h->frames_run; /* before: a crash inside unserialize is 0 frames after it */
  capture_begin(h);
  h->loading_state = 1;
  bool ok = h->api.unserialize(padded ? padded : data, size);
  h->loading_state = 0;
  capture_end(h);
  free(padded);
  if (ok && size != need) {
    char note[128];
    int n = snprintf(note, sizeof note, "state of %zu bytes accepted; the core reports %zu", size, need);
    log_line(h, "HOST", note, (size_t)n);
  }
  if (ok) return RH_OK;
  if (size != need)
    return fail(h, RH_ESTATE,
                "state is %zu bytes but this core's states are %zu bytes (was it made by another core or core version?)",
                size, need);
  return fail(h, RH_ESTATE, "the core rejected the state");
}

RH_API void *rh_memory(rh_host *h, unsigned id, size_t *size) {
  if (size) *size = 0;
  if (!h || enter_game(h) != RH_OK) return NULL;
  void *p = h->api.get_memory_data(id);
  size_t n = p ? h->api.get_memory_size(id) : 0;
  if (size) *size = n;
  return n ? p : NULL;
}
