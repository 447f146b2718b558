/* Reading whole files (with a size limit), mapping them, writing outputs
 * through a temporary file that is renamed only when complete, and listing
 * a folder's names in one order on every system. */
#define _GNU_SOURCE
#include "tessera/core.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static ts_status open_regular(const char *path, int *fd_out, size_t *size_out) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ts_fail(TS_ERR_INPUT, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ts_fail(TS_ERR_INPUT, "%s: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return ts_fail(TS_ERR_INPUT, "%s: is a directory", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return ts_fail(TS_ERR_INPUT, "%s: not a regular file", path);
    }
    *fd_out = fd;
    *size_out = (size_t)st.st_size;
    return TS_OK;
}

ts_status ts_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *len) {
    if (!max_bytes) max_bytes = TS_MAX_FILE_BYTES;
    int fd;
    size_t size;
    ts_status s = open_regular(path, &fd, &size);
    if (s) return s;
    if (size > max_bytes) {
        close(fd);
        return ts_fail(TS_ERR_INPUT, "%s: file is %zu bytes, over the limit of %zu", path, size,
                       max_bytes);
    }
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) {
        close(fd);
        return ts_fail(TS_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, size);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int e = errno;
            free(buf);
            close(fd);
            return ts_fail(TS_ERR_INPUT, "%s: read failed: %s", path,
                           r < 0 ? strerror(e) : "file shrank while reading");
        }
        got += (size_t)r;
    }
    close(fd);
    *data = buf;
    *len = size;
    return TS_OK;
}

ts_status ts_map_file(const char *path, ts_mapped_file *out) {
    memset(out, 0, sizeof *out);
    int fd;
    size_t size;
    ts_status s = open_regular(path, &fd, &size);
    if (s) return s;
    if (size == 0) {
        close(fd);
        out->data = (const uint8_t *)"";
        return TS_OK;
    }
    void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (m == MAP_FAILED) return ts_fail(TS_ERR_INPUT, "%s: mmap failed: %s", path, strerror(e));
    out->data = m;
    out->len = size;
    out->map_ = m;
    return TS_OK;
}

void ts_unmap_file(ts_mapped_file *f) {
    if (f->map_) munmap(f->map_, f->len);
    memset(f, 0, sizeof *f);
}

ts_status ts_outfile_open(ts_outfile *o, const char *path) {
    memset(o, 0, sizeof *o);
    size_t n = strlen(path) + 32;
    o->path = strdup(path);
    o->tmp_path = malloc(n);
    if (!o->path || !o->tmp_path) {
        ts_outfile_abort(o);
        return ts_fail(TS_ERR_NOMEM, "%s: out of memory", path);
    }
    snprintf(o->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
    o->fp = fopen(o->tmp_path, "wb");
    if (!o->fp) {
        int e = errno;
        ts_outfile_abort(o);
        return ts_fail(TS_ERR_IO, "%s: cannot write: %s", path, strerror(e));
    }
    return TS_OK;
}

ts_status ts_outfile_commit(ts_outfile *o) {
    int bad = ferror(o->fp);
    bad |= fclose(o->fp) != 0;
    o->fp = NULL;
    if (bad) {
        int e = errno;
        ts_status s = ts_fail(TS_ERR_IO, "%s: write failed: %s", o->path, strerror(e));
        ts_outfile_abort(o);
        return s;
    }
    if (rename(o->tmp_path, o->path) != 0) {
        int e = errno;
        ts_status s = ts_fail(TS_ERR_IO, "%s: cannot rename into place: %s", o->path, strerror(e));
        ts_outfile_abort(o);
        return s;
    }
    free(o->path);
    free(o->tmp_path);
    memset(o, 0, sizeof *o);
    return TS_OK;
}

void ts_outfile_abort(ts_outfile *o) {
    if (o->fp) fclose(o->fp);
    if (o->tmp_path) unlink(o->tmp_path);
    free(o->path);
    free(o->tmp_path);
    memset(o, 0, sizeof *o);
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

ts_status ts_list_dir(const char *dir, const char *suffix, char ***names, int *n) {
    *names = NULL, *n = 0;
    DIR *d = opendir(dir);
    if (!d) return ts_fail(TS_ERR_INPUT, "%s: cannot open folder (%s)", dir, strerror(errno));
    size_t sl = strlen(suffix);
    int cap = 0;
    ts_status s = TS_OK;
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l < sl || strcmp(e->d_name + l - sl, suffix)) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            char **p = realloc(*names, sizeof *p * (size_t)cap);
            if (!p) {
                s = ts_fail(TS_ERR_NOMEM, "%s: out of memory listing the folder", dir);
                break;
            }
            *names = p;
        }
        if (!((*names)[*n] = strdup(e->d_name))) {
            s = ts_fail(TS_ERR_NOMEM, "%s: out of memory listing the folder", dir);
            break;
        }
        ++*n;
    }
    closedir(d);
    if (*n) qsort(*names, (size_t)*n, sizeof **names, cmp_name);
    return s;
}

void ts_free_names(char **names, int n) {
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}
