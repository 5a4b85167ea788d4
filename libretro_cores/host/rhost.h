/*
 * rhost.h - the retrotool native host: the only code that speaks the
 * libretro ABI. Python calls it through ctypes (retrotool/native.py).
 *
 * Design rules:
 *  - every libretro callback lives in C; Python crosses once per batch;
 *  - errors are values: functions return RH_OK (0) or a negative RH_E*
 *    code and leave a message in rh_last_error(); nothing aborts;
 *  - one rh_host per loaded core file (cores keep globals; to run a core
 *    twice in one process, open a private copy of the file).
 */
#ifndef RETROTOOL_RHOST_H
#define RETROTOOL_RHOST_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define RH_API __declspec(dllexport)
#else
#define RH_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

enum rh_status {
  RH_OK = 0,
  RH_EINVAL = -1,    /* bad argument (NULL handle, wrong size, bad port...) */
  RH_ECORE = -2,     /* the file is not a usable libretro core */
  RH_ECONTENT = -3,  /* the core refused the game / no game loaded */
  RH_ESTATE = -4,    /* serialize / unserialize failed or size mismatch */
  RH_ENOMEM = -5,    /* allocation failed */
  RH_ESTATE_ORDER = -6 /* call made in the wrong state (e.g. option after load) */
};

#define RH_MAX_PORTS 8

/*
 * Frontend profiles (rh_open). RH_PROFILE_FULL answers what a modern
 * frontend answers: declared option defaults, overscan, bitmasks, port
 * devices. RH_PROFILE_STABLE_RETRO answers the environment exactly as
 * stable-retro's frontend does (pixel format, its pinned options only, the
 * system directory, dupes, memory maps, the log; everything else refused,
 * an unanswered variable left untouched) and reads input as it does (two
 * pads, any device), so a core stable-retro ships emulates here the same
 * frames, pictures and RAM as there.
 */
#define RH_PROFILE_FULL 0
#define RH_PROFILE_STABLE_RETRO 1

/* What rh_run writes into video_out and rh_screen returns. */
#define RH_PICTURE_NATIVE 0 /* what the core presented, at its size; a dupe repeats the last picture */
#define RH_PICTURE_OBS 1    /* stable-retro's observation: see rh_set_obs_size */

/* Pixel formats, same numbers as libretro's enum retro_pixel_format. */
#define RH_PIXEL_0RGB1555 0
#define RH_PIXEL_XRGB8888 1
#define RH_PIXEL_RGB565 2

typedef struct rh_host rh_host;

/* Audio/video facts of the loaded game, as the core last reported them. */
typedef struct rh_av {
  unsigned base_width;
  unsigned base_height;
  unsigned max_width;
  unsigned max_height;
  float aspect_ratio;
  double fps;
  double sample_rate;
  int pixel_format; /* RH_PIXEL_* the core chose */
} rh_av;

/* One entry of the core's SET_MEMORY_MAPS table. */
typedef struct rh_memdesc {
  uint64_t flags;
  void *ptr;
  size_t offset;
  size_t start;
  size_t select;
  size_t disconnect;
  size_t len;
} rh_memdesc;

/*
 * Open a core library (dlopen RTLD_NOW|RTLD_LOCAL), check it is a libretro
 * core of API version 1, install the callbacks and call retro_init().
 * system_dir / save_dir are answered to GET_SYSTEM_DIRECTORY / GET_SAVE_DIRECTORY.
 * On failure returns NULL and writes a message into err (err_cap bytes).
 */
RH_API rh_host *rh_open(const char *core_path, const char *system_dir, const char *save_dir, int profile,
                        char *err, size_t err_cap);

/* Unload the game, retro_deinit(), dlclose(), free. NULL is ignored. */
RH_API void rh_close(rh_host *h);

/* Message of the last failed call ("" if none). Valid until the next call. */
RH_API const char *rh_last_error(const rh_host *h);

/* Library name / version / valid extensions from retro_get_system_info. */
RH_API const char *rh_core_name(const rh_host *h);
RH_API const char *rh_core_version(const rh_host *h);
RH_API const char *rh_core_extensions(const rh_host *h);
RH_API int rh_core_need_fullpath(const rh_host *h);

/*
 * Override a core option (GET_VARIABLE answers the override, else the
 * default the core declared). Allowed before and after load; after load it
 * raises GET_VARIABLE_UPDATE once.
 */
RH_API int rh_set_option(rh_host *h, const char *key, const char *value);

/*
 * Number of options the core declared, and the i-th one's key, default and
 * current value (pointers owned by the host, valid until rh_close).
 */
RH_API int rh_option_count(const rh_host *h);
RH_API int rh_option_get(const rh_host *h, int i, const char **key, const char **default_value,
                         const char **current_value);

/*
 * Route the core's writes to stdout (fd 1) into the log buffer while the
 * host is inside the core (so a CLI pipe is never corrupted). on = 0/1.
 */
RH_API int rh_capture_stdout(rh_host *h, int on);

/*
 * Load a game. Give a path, or data+size, or both (a core that needs a
 * path gets one; a core that takes bytes gets them; with only bytes and a
 * need_fullpath core the host writes them to a temporary file first).
 */
RH_API int rh_load_game(rh_host *h, const char *path, const void *data, size_t size);

/* AV info of the loaded game (updated by SET_SYSTEM_AV_INFO / SET_GEOMETRY). */
RH_API int rh_av_info(const rh_host *h, rh_av *out);

/*
 * The observation picture (RH_PICTURE_OBS): width x height pixels read,
 * after every frame, from the last picture pointer the core presented with
 * its last non-zero pitch, as stable-retro's get_screen() reads them (its
 * size is fixed when the game loads; a dupe frame re-reads the buffer).
 * Loading a game sets it to the base geometry the core reports then. With
 * RH_PROFILE_STABLE_RETRO the rows and columns beyond the presented picture
 * are read from the core's buffer as stable-retro reads them; otherwise
 * they are black (another core's buffer may end there).
 */
RH_API int rh_set_obs_size(rh_host *h, unsigned width, unsigned height);

/* retro_set_controller_port_device(port, device). */
RH_API int rh_set_port_device(rh_host *h, unsigned port, unsigned device);

/* retro_reset(). */
RH_API int rh_reset(rh_host *h);

/*
 * Run n frames. buttons holds n*ports uint16 masks (bit i = libretro joypad
 * id i), frame-major: buttons[f*ports + p]; NULL means no input. Ports
 * beyond `ports` read as 0.
 *
 * video_out: NULL for headless, else n slots of frame_bytes bytes each;
 * slot f receives frame f's picture of kind `picture` (RH_PICTURE_*) as
 * packed RGB24 (row stride width*3), converted from the core's pixel
 * format with plain shifts (no low-bit fill).
 * dims_out: NULL or n*2 uint16 receiving (width, height) of each frame.
 * If a frame does not fit frame_bytes the call fails with RH_EINVAL.
 *
 * When want_audio is non-zero, the audio of the batch (interleaved stereo
 * int16) is collected and can be read with rh_audio() until the next run.
 *
 * Returns the number of frames run (n) or a negative code.
 */
RH_API long rh_run(rh_host *h, size_t n, const uint16_t *buttons, unsigned ports, uint8_t *video_out,
                   size_t frame_bytes, uint16_t *dims_out, int picture, int want_audio);

/*
 * Count finished frames into *counter (incremented after every retro_run),
 * or stop counting with NULL. Point it at memory shared with a parent
 * process to learn at which frame a core crashed the process.
 *
 * A core that crashes while the host is inside it (SIGSEGV, SIGBUS, SIGFPE,
 * SIGILL, SIGABRT) makes the host write one line saying so to stderr (unless
 * a frame counter is set: then the parent reports it), after which the
 * signal goes on to the handlers that were there before.
 */
RH_API int rh_set_frame_counter(rh_host *h, volatile uint64_t *counter);

/* A run of bytes in the core's memory (e.g. a slice of a memory-map block). */
typedef struct rh_span {
  const uint8_t *ptr;
  size_t len;
} rh_span;

/*
 * Copy the given spans after every frame of every later rh_run, so a caller
 * that needs a few RAM variables per frame (rewards) can still run large
 * batches: frame f's copy goes to out + f * stride, stride = the sum of the
 * lengths, spans concatenated in order. The host copies the span table but
 * not `out`, which must stay valid and hold out_cap bytes; an rh_run of n
 * frames with n * stride > out_cap fails with RH_EINVAL. The pointers must
 * stay valid while watched (they come from rh_memory / the memory map).
 * n_spans = 0 stops watching.
 */
RH_API int rh_watch_memory(rh_host *h, const rh_span *spans, unsigned n_spans, uint8_t *out, size_t out_cap);

/* Audio collected by the last rh_run (int16 count, i.e. 2 per stereo frame). */
RH_API const int16_t *rh_audio(const rh_host *h, size_t *n_samples);

/*
 * The picture now (RH_PICTURE_NATIVE: the last one the core produced;
 * RH_PICTURE_OBS: the observation read from the core's buffer now), as
 * RGB24 into out (cap bytes). Writes width/height. Returns bytes written or
 * a negative code.
 */
RH_API long rh_screen(rh_host *h, int picture, uint8_t *out, size_t cap, unsigned *width, unsigned *height);

/*
 * Save states. rh_unserialize passes a state of another size than the core
 * reports to the core anyway (some cores' sizes change once running) and
 * fails with RH_ESTATE, naming both sizes, when the core rejects it.
 */
RH_API size_t rh_serialize_size(rh_host *h);
RH_API int rh_serialize(rh_host *h, void *out, size_t size);
RH_API int rh_unserialize(rh_host *h, const void *data, size_t size);

/* retro_get_memory_data / _size for a RETRO_MEMORY_* id; NULL if none. */
RH_API void *rh_memory(rh_host *h, unsigned id, size_t *size);

/* The memory map the core declared with SET_MEMORY_MAPS (0 if none). */
RH_API int rh_memory_map_count(const rh_host *h);
RH_API int rh_memory_map_get(const rh_host *h, int i, rh_memdesc *out);

/*
 * Drain the core's log (lines formatted "[LEVEL] text\n", oldest dropped
 * beyond an internal cap). Copies at most cap-1 bytes plus a NUL; returns
 * the number of bytes copied.
 */
RH_API size_t rh_log_read(rh_host *h, char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* RETROTOOL_RHOST_H */
