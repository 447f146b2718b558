/* The whole pipeline (fusion/): generated training media (scenes of shapes,
 * tone clips), the training corpus written as pre-tokenized shards, decoder
 * training on those shards, and the runtime that answers `caption`, `ask`
 * and `chat` from one GGUF holding tokenizer + VQ-VAE + decoder.
 *
 *     ts_pipeline *p;
 *     if (ts_pipeline_load(path, TS_PART_ALL, 2, &p)) die(ts_last_error());
 *     const char *files[] = {"cat.jpg", "dog.png"};
 *     char **captions;
 *     ts_pipeline_caption(p, files, 2, NULL, &captions);   // one per image
 *     ...
 *     ts_pipeline_free(p);
 */
#ifndef TESSERA_PIPELINE_H
#define TESSERA_PIPELINE_H

#include "tessera/core.h"
#include "tessera/fusion.h"
#include "tessera/model.h"
#include "tessera/text.h"
#include "tessera/vqvae.h"

/* The prompts the corpus trains and the commands ask with. */
#define TS_CAPTION_PROMPT "Describe the image."
#define TS_BEEPS_PROMPT "How many beeps are there?"
#define TS_DIGIT_PROMPT "Which digit is spoken?"
#define TS_WORD_PROMPT "What word is spoken?"
#define TS_SAY_PROMPT "What does the speaker say?"

/* ---- generated scenes: 1-3 shapes on a dark background, 32 x 32 RGB ---- */
enum { TS_SHAPE_CIRCLE, TS_SHAPE_SQUARE, TS_SHAPE_TRIANGLE, TS_N_SHAPES };
#define TS_N_COLOURS 6 /* red green blue yellow purple orange */
/* Where the shapes stand: one alone; two side by side or one above the
 * other; three in a row (left to right) or a column (top to bottom). */
enum { TS_REL_NONE, TS_REL_LEFT, TS_REL_RIGHT, TS_REL_ABOVE, TS_REL_BELOW, TS_REL_ROW, TS_REL_COLUMN };

typedef struct {
    int shape, colour, large; /* large: 0 small, 1 large */
    float cx, cy, r;          /* centre and radius in pixels */
} ts_scene_shape;

typedef struct {
    int n;        /* 1..3 */
    int relation; /* of shape 0 to shape 1 for two shapes (TS_REL_LEFT: 0 left of 1) */
    ts_scene_shape s[3];
} ts_scene;

/* Split of the scene combinations (shapes, colours, sizes, relation):
 * TS_SPLIT_VAL combinations never appear in TS_SPLIT_TRAIN. */
enum { TS_SPLIT_TRAIN = 0, TS_SPLIT_VAL = 1 };

/* Scene number `index` of `split` for `seed`: the same arguments always give
 * the same scene. */
void ts_scene_make(uint64_t seed, uint64_t index, int split, ts_scene *out);
/* Which split a scene's combination belongs to. */
int ts_scene_split(const ts_scene *sc);
/* The caption, e.g. "a small red circle to the left of a large blue
 * square"; returns its length (truncated to cap - 1 bytes). */
int ts_scene_caption(const ts_scene *sc, char *buf, size_t cap);
/* A question about where shape i stands ("What is on the left?") and its
 * answer, the shape as the caption names it ("a small red circle"): one
 * part of the caption at a time, so a decoder learns shape, colour and size
 * per position rather than whole combinations. False for a lone shape or an
 * i out of range. */
bool ts_scene_part_question(const ts_scene *sc, int i, char *q, size_t qcap, char *a, size_t acap);
/* 32 x 32 x 3 bytes, row-major RGB, each pixel 4 x 4 supersampled. */
void ts_scene_render(const ts_scene *sc, uint8_t *rgb);
const char *ts_shape_name(int shape);
const char *ts_colour_name(int colour);

/* ---- generated tone clips (16 kHz) ---------------------------------------- */
enum { TS_TONE_BEEPS, TS_TONE_RISING, TS_TONE_FALLING, TS_TONE_STEADY, TS_TONE_NOISE, TS_N_TONE_KINDS };
#define TS_TONE_SAMPLES 20480 /* 1.28 s: 128 log-mel frames, 32 codes */

typedef struct {
    int kind;
    int count; /* beeps: 1..5 */
    int high;  /* beeps and steady tones: 1 high pitch, 0 low */
    float freq, freq2, amp;
    int beep_len, gap_len, start; /* samples */
} ts_tone;

void ts_tone_make(uint64_t seed, uint64_t index, ts_tone *out);
/* TS_TONE_SAMPLES samples in [-1, 1]. */
void ts_tone_render(const ts_tone *t, uint64_t seed, float *pcm);
/* What a listener would say: "three high beeps", "a rising tone", "noise". */
int ts_tone_describe(const ts_tone *t, char *buf, size_t cap);
/* A question about the clip and its answer (question q of the kinds that
 * apply; returns false when q is past the last). */
bool ts_tone_question(const ts_tone *t, int q, const char **question, char *answer, size_t cap);
const char *ts_number_word(int n); /* 0..20 -> "zero".."twenty" */

/* ---- the training corpus --------------------------------------------------- */
/* Collects (media, prompt, answer) examples, encodes their media with the
 * VQ-VAE in batches, fuses them with ts_fusion_build and writes them to a
 * train or a val shard. */
typedef struct ts_corpus ts_corpus;
typedef struct {
    int64_t examples[2];  /* train, val */
    int64_t tokens[2];
    int64_t images, clips, texts, skipped;
} ts_corpus_stats;

/* vq may be NULL for a text-only corpus. pool may be NULL. */
ts_status ts_corpus_open(ts_bpe *tok, const ts_vq *vq, ts_pool *pool, const char *train_path,
                         const char *val_path, uint64_t seed, ts_corpus **out);
/* A corpus that writes every (prompt, answer) as text, "PROMPT\nANSWER\n\n",
 * without reading media: the tokenizer's training text. */
ts_status ts_corpus_open_text(const char *text_path, uint64_t seed, ts_corpus **out);
/* At most n (1..8) questions about one medium become the turns of one
 * record (ts_fusion_build_turns, records of at most 192 tokens); the
 * default 1 writes one record per question. */
void ts_corpus_set_turns(ts_corpus *c, int n);
/* Every clip (original and augmented copies, train and val) quieter than
 * this peak is brought up to it before its log-mel (ts_audio_level_floor),
 * as `ask --level-floor` reads clips; 0 (the default): as recorded. */
void ts_corpus_set_level_floor(ts_corpus *c, float level);
/* Writes what is buffered, commits both shards and frees c. */
ts_status ts_corpus_commit(ts_corpus *c, ts_corpus_stats *stats);
void ts_corpus_abort(ts_corpus *c);
const ts_vocab *ts_corpus_vocab(const ts_corpus *c);
/* An image as 3 x S x S floats in [-1, 1] (copied). */
ts_status ts_corpus_add_image(ts_corpus *c, int split, const float *img, const char *prompt,
                              const char *answer);
/* 8-bit RGB pixels (h x w x 3), fitted to S x S the way the image front end does. */
ts_status ts_corpus_add_rgb(ts_corpus *c, int split, const uint8_t *rgb, int w, int h,
                            const char *prompt, const char *answer);
/* 16 kHz mono samples; longer clips are cut to max_seconds (see the sources). */
ts_status ts_corpus_add_pcm(ts_corpus *c, int split, const float *pcm, size_t n,
                            const char *prompt, const char *answer);
ts_status ts_corpus_add_text(ts_corpus *c, int split, const char *prompt, const char *answer);
const ts_corpus_stats *ts_corpus_get_stats(const ts_corpus *c);

/* Sources whose train items can be repeated (ts_corpus_options.repeat). */
enum {
    TS_SRC_CIFAR10,
    TS_SRC_MNIST,
    TS_SRC_TWEMOJI,
    TS_SRC_FSDD,
    TS_SRC_SPEECH_COMMANDS,
    TS_SRC_ASTERISK,
    TS_SRC_ESPEAK, /* ts_corpus_add_spoken */
    TS_N_SOURCES
};
#define TS_MAX_REPEAT 64
/* "cifar10" "mnist" "twemoji" "fsdd" "speech_commands" "asterisk" "espeak-ng". */
const char *ts_corpus_source_name(int source);
/* TS_SRC_* for a name above, -1 for any other. */
int ts_corpus_source_from_name(const char *name);

/* Sources. Each takes the path of one data set as laid out in
 * ../shared/data (see each README) and a cap on examples (0: all). */
typedef struct {
    int max_per_source;     /* 0: all */
    int phrasings;          /* CIFAR-10/MNIST: captions per image (default 1) */
    const char *fsdd_val_speaker;  /* FSDD speaker held out (default "theo") */
    int sc_val_percent;     /* speech commands speakers held out (default 10) */
    int scenes, tones;      /* generated examples (train; val gets a tenth) */
    int mc_per_source;      /* generated multiple-choice questions per media source */
    /* The most options a generated question shows (4..TS_MC_MAX_OPTIONS;
     * default 4): 4 (or all of fewer classes), and above 4 a count drawn
     * per question from 4 up to it, so longer lists of options are met too. */
    int mc_options;
    /* Copies of each TRAIN item of a source (1..TS_MAX_REPEAT; default 1):
     * copy 0 is the original, copies 1.. are augmented variants drawn from
     * (seed, source, item, copy) with the same questions and answers.
     * Images: a shift of up to 2 pixels, plus a mirror image on odd copies
     * (CIFAR-10, Twemoji; never MNIST digits). Clips: speed 0.88-1.12x,
     * gain -6..+6 dB, a shift of up to 80 ms and, half the time, noise at
     * 10-30 dB SNR. Val items, scenes, tones and texts are never repeated;
     * the max_per_source cap counts originals. */
    int repeat[TS_N_SOURCES];
    /* Percent of the augmented clips also cut to the telephone band (nothing
     * above 4 kHz, as FSDD's 8 kHz recordings; default 0). */
    int narrowband;
    /* Noise mixed into augmented clips: the .flac/.wav files of this folder
     * (the speech commands' _background_noise_); NULL or none there: white. */
    const char *noise_dir;
} ts_corpus_options;
ts_corpus_options ts_corpus_default_options(void);

ts_status ts_corpus_add_cifar10(ts_corpus *c, const char *dir, const ts_corpus_options *o);
ts_status ts_corpus_add_mnist(ts_corpus *c, const char *dir, const ts_corpus_options *o);
ts_status ts_corpus_add_twemoji(ts_corpus *c, const char *dir, const ts_corpus_options *o);
ts_status ts_corpus_add_scenes(ts_corpus *c, const ts_corpus_options *o);
ts_status ts_corpus_add_tones(ts_corpus *c, const ts_corpus_options *o);
ts_status ts_corpus_add_fsdd(ts_corpus *c, const char *dir, const ts_corpus_options *o);
ts_status ts_corpus_add_speech_commands(ts_corpus *c, const char *dir, const ts_corpus_options *o);
/* sounds_dir: the Allison prompts; transcript: core-sounds-en.txt(.gz). */
ts_status ts_corpus_add_asterisk(ts_corpus *c, const char *sounds_dir, const char *transcript,
                                 const ts_corpus_options *o);
/* A folder written by tools/model_espeak.sh: index.tsv of "FILE<TAB>KIND<TAB>TEXT"
 * (KIND digit or word) next to the WAV files. */
ts_status ts_corpus_add_spoken(ts_corpus *c, const char *dir, const ts_corpus_options *o);
ts_status ts_corpus_add_scienceqa(ts_corpus *c, const char *problems_json,
                                  const ts_corpus_options *o);
/* WordNet data.* files: "WORD: GLOSS" as ("What does WORD mean?", GLOSS). */
ts_status ts_corpus_add_wordnet(ts_corpus *c, const char *dir, const ts_corpus_options *o);

/* An MNIST digit (rows x cols grey, 0 = background) padded with black to
 * S x S and repeated over RGB (DESIGN.md "Front ends"): S x S x 3 bytes. */
void ts_mnist_pad(const uint8_t *px, int rows, int cols, int S, uint8_t *rgb);

/* Writes the held-out evaluation set as files the commands read, with
 * out_dir/labels.tsv lines "TASK<TAB>FILE<TAB>EXPECTED": MNIST test digits
 * (32 x 32 PNG, padded as in training), CIFAR-10 test JPEGs, val scenes
 * (PNG, the exact caption), val beep clips (WAV, the count), the FSDD
 * held-out speaker and speech-commands val speakers (their own files; the
 * val noise slices as WAV). Data sets missing under data_dir are skipped.
 * max_per_task caps each task (0: all). */
ts_status ts_corpus_export_val(const char *data_dir, const char *out_dir,
                               const ts_corpus_options *o, uint64_t seed, int max_per_task);
/* 16-bit PCM mono WAV at 16 kHz, written atomically. */
ts_status ts_wav_write(const char *path, const float *pcm, size_t n);

/* ---- decoder training on shards ----------------------------------------------- */
typedef struct {
    const char *const *train; /* shard paths */
    int n_train;
    const char *val; /* NULL: none */
    int32_t pad_id;  /* <pad>: fills the end of a row (masked out) */
    /* the records' vocabulary: the turns of a record are laid out with
     * ts_fusion_layout (NULL: plain causal rows, positions 0..seq_len-1) */
    const ts_vocab *vocab;
    /* the VQ codebook (vocab->n_codes rows of codebook_dim floats), for
     * tie_codes and code_swap */
    const float *codebook;
    int codebook_dim;
    /* the media codes' embeddings tied to the codebook (ts_trainer_tie_codes) */
    bool tie_codes;
    /* The probability that a code of an image / of a clip in a train row is
     * swapped for one of its 3 nearest codebook neighbours among the codes
     * that modality uses in the train shards (fusion/code_swap.h); 0: none,
     * and the rows are those of a run without swaps. */
    float code_swap[2];
    int eval_every;  /* steps (0: 200) */
    int val_batches; /* batches of val records evaluated (0: 8), the same every time */
    const char *ckpt_path, *resume_path;
    double time_limit;
    int64_t stop_after; /* stop (with a checkpoint) after this step; 0: never */
    bool quiet;
} ts_shard_train_opts;
/* Trains m in place on batches of whole records packed into rows of
 * seq_len + 1 tokens (padding masked out). Checkpoints hold the step and the
 * data RNG, so a resumed run repeats the losses. */
ts_status ts_shard_train(ts_model *m, const ts_train_config *tc, ts_pool *pool,
                         const ts_shard_train_opts *o, ts_lm_train_result *res);

/* Rewrites a GGUF file with the decoder's matrices (every tensor of 2+
 * dimensions whose rows are a multiple of 32, VQ-VAE tensors excepted)
 * stored as dtype (q8_0, f16, bf16); keys are copied as they are. in and out
 * may be the same path (written atomically). */
ts_status ts_gguf_requantize(const char *in, const char *out, ts_dtype dtype);

/* ---- the runtime --------------------------------------------------------------- */
enum { TS_PART_TOKENIZER = 1, TS_PART_VQ = 2, TS_PART_DECODER = 4, TS_PART_ALL = 7 };
typedef struct ts_pipeline ts_pipeline;

/* Opens a model file and loads the parts asked for; a missing part fails
 * with TS_ERR_INPUT naming the file and every part it lacks. */
ts_status ts_pipeline_load(const char *path, unsigned parts, int threads, ts_pipeline **out);
void ts_pipeline_free(ts_pipeline *p);
const ts_vocab *ts_pipeline_vocab(const ts_pipeline *p);
ts_pool *ts_pipeline_pool(ts_pipeline *p);
/* Media encoded from now on carry `views` test-time views (1..TS_MAX_VIEWS;
 * a clip at most 4; TS_DEFAULT_VIEWS after ts_pipeline_load), and answers
 * about them are drawn from all views at once (fusion/views.h): a caption
 * or answer costs about views times the decoder's work. */
#define TS_MAX_VIEWS 9
#define TS_DEFAULT_VIEWS 9
void ts_pipeline_set_views(ts_pipeline *p, int views);
/* Clips encoded from now on that are quieter than level_floor (peak) are
 * brought up to it first (ts_audio_level_floor; 0: as recorded;
 * TS_LEVEL_FLOOR after ts_pipeline_load). */
void ts_pipeline_set_level_floor(ts_pipeline *p, float level_floor);

/* The default model: $TESSERA_MODEL, else models/tessera.gguf next to the
 * executable's folder (EXE/../models/, EXE/../share/tessera/). Fills buf and
 * returns TS_OK, or TS_ERR_INPUT naming where it looked. */
ts_status ts_default_model_path(char *buf, size_t cap);

/* Encoded media: kinds from content. */
typedef struct {
    ts_media *media; /* n of them, codes owned by this struct */
    int n;
} ts_media_set;
void ts_media_set_free(ts_media_set *s);
/* Reads and encodes files (images batched through the VQ encoder together,
 * files read in parallel on the pool), each in the pipeline's views. */
ts_status ts_pipeline_encode_files(ts_pipeline *p, const char *const *paths, int n,
                                   ts_media_set *out);

typedef struct {
    int max_tokens;    /* 0: 64 */
    ts_sampler sampler;
    double max_seconds;
    int beam; /* greedy (temperature 0) answers: > 1 searches a beam of this
                 width (ts_generator_beam, up to TS_MAX_BEAM), 0 or 1 decodes
                 token by token */
    const volatile sig_atomic_t *stop; /* may be NULL: when set (a signal
                 handler), a beam search gives up without an answer (token by
                 token, the text callback stops the answer) */
} ts_answer_opts;
/* Greedy token by token (streamed), 64 tokens. */
ts_answer_opts ts_answer_default_opts(void);
/* The beam width captions get by default (`caption`, and
 * ts_pipeline_caption without options): answers to questions stream token
 * by token unless asked for a beam. */
#define TS_CAPTION_BEAM 3

/* Called with each piece of answer text as it is made; return false to stop. */
typedef bool (*ts_text_cb)(const char *piece, size_t len, void *user);
/* Answers prompt about the media (in order) with the one template, each
 * token drawn from all the views the media carry. */
ts_status ts_pipeline_answer(ts_pipeline *p, const ts_media *media, int n_media,
                             const char *prompt, const ts_answer_opts *o, ts_text_cb cb,
                             void *user);
/* One caption per image, in order, the images encoded as one batch and the
 * captions made in parallel on the pool (o NULL: greedy with a beam of
 * TS_CAPTION_BEAM).
 * texts[i] is malloc'd; errors[i] (may be NULL array) gets a malloc'd
 * message for a file that failed (its caption is then NULL). */
ts_status ts_pipeline_caption(ts_pipeline *p, const char *const *paths, int n,
                              const ts_answer_opts *o, char ***texts, char ***errors);

#endif
