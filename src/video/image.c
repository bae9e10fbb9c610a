/* Image files: JPEG (libjpeg-turbo) and PNG (libpng) to 8-bit RGB, JPEG
 * encoding, and TF-exact bilinear resizing.
 *
 * The JPEG decoder keeps libjpeg's default settings (islow DCT, fancy
 * upsampling) because those are what TensorFlow's DecodeJpeg and the
 * reference pixels use; any other setting changes pixel values. */
#include "edgelens/image.h"

#include "core/file.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include "ops/resize.h"

/* A file larger than this cannot be a sane image of at most
 * EL_IMAGE_MAX_PIXELS pixels (an uncompressed 16-bit RGBA PNG of that size
 * is 2 GiB; we refuse before reading that much). */
#define EL_IMAGE_MAX_FILE ((size_t)1 << 30)

static const char *el_src_name(const char *source) { return source ? source : "<memory>"; }

void el_image_free(el_image *img)
{
    if (!img) return;
    free(img->rgb);
    img->rgb = NULL;
    img->width = img->height = 0;
}

static el_status el_image_alloc(el_image *img, int64_t w, int64_t h, const char *src)
{
    if (w <= 0 || h <= 0)
        return el_error(EL_ERR_FORMAT, "%s: image has no pixels (%lldx%lld)", src, (long long)w, (long long)h);
    if (w > INT_MAX || h > INT_MAX || w * h > EL_IMAGE_MAX_PIXELS)
        return el_error(EL_ERR_LIMIT, "%s: image of %lldx%lld pixels exceeds the limit of %lld pixels", src,
                        (long long)w, (long long)h, (long long)EL_IMAGE_MAX_PIXELS);
    img->rgb = malloc((size_t)(w * h) * 3);
    if (!img->rgb)
        return el_error(EL_ERR_NOMEM, "%s: no memory for a %lldx%lld RGB image", src, (long long)w, (long long)h);
    img->width = (int)w;
    img->height = (int)h;
    return EL_OK;
}

/* ---------------------------------------------------------------- JPEG */

/* libjpeg calls error_exit on fatal errors and, by default, exit()s: ours
 * longjmps back with the message. All state that lives across setjmp is on
 * the heap (el_jpeg_dec / el_jpeg_enc), so nothing is left indeterminate by
 * the longjmp. */
typedef struct el_jpeg_err {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
    int finishing; /* all scanlines read; only trailing bytes remain */
} el_jpeg_err;

/* A progressive JPEG may declare any number of scans, each a full pass over
 * the coefficients: bound the work (libjpeg-turbo's advice for untrusted
 * input; real encoders write about 10). */
#define EL_JPEG_MAX_SCANS 1000

static void el_jpeg_error_exit(j_common_ptr cinfo)
{
    el_jpeg_err *e = (el_jpeg_err *)cinfo->err;
    cinfo->err->format_message(cinfo, e->msg);
    longjmp(e->jump, 1);
}

/* Warnings that say nothing about the pixels. Everything else libjpeg only
 * warns about (premature end of file, bad Huffman code, data segment cut
 * short...) means it substituted grey or garbage for missing data: refuse. */
static int el_jpeg_benign_warning(const el_jpeg_err *e, int code)
{
    switch (code) {
    case JWRN_JFIF_MAJOR:
    case JWRN_ADOBE_XFORM:
    case JWRN_BOGUS_ICC: return 1;
    case JWRN_EXTRANEOUS_DATA: return e->finishing; /* junk after the last scan */
    default: return 0;
    }
}

static void el_jpeg_emit_message(j_common_ptr cinfo, int level)
{
    el_jpeg_err *e = (el_jpeg_err *)cinfo->err;
    if (level >= 0) return; /* trace messages */
    if (el_jpeg_benign_warning(e, cinfo->err->msg_code)) return;
    cinfo->err->format_message(cinfo, e->msg);
    longjmp(e->jump, 1);
}

static void el_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void el_jpeg_setup_err(el_jpeg_err *e)
{
    jpeg_std_error(&e->pub);
    e->pub.error_exit = el_jpeg_error_exit;
    e->pub.emit_message = el_jpeg_emit_message;
    e->pub.output_message = el_jpeg_output_message;
}

typedef struct el_jpeg_dec {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_progress_mgr progress;
    el_jpeg_err err;
    el_image img;
    uint8_t *cmyk_row;
} el_jpeg_dec;

static void el_jpeg_progress(j_common_ptr cinfo)
{
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > EL_JPEG_MAX_SCANS) {
        el_jpeg_err *e = (el_jpeg_err *)cinfo->err;
        snprintf(e->msg, sizeof e->msg, "more than %d scans", EL_JPEG_MAX_SCANS);
        longjmp(e->jump, 1);
    }
}

/* Adobe CMYK/YCCK JPEGs store inverted ink values (libjpeg hands them out as
 * written): with c, m, y, k in that convention, R = c*k/255 and so on. */
static void el_cmyk_row_to_rgb(const uint8_t *cmyk, uint8_t *rgb, int w)
{
    for (int x = 0; x < w; x++, cmyk += 4, rgb += 3) {
        unsigned k = cmyk[3];
        rgb[0] = (uint8_t)((cmyk[0] * k + 127) / 255);
        rgb[1] = (uint8_t)((cmyk[1] * k + 127) / 255);
        rgb[2] = (uint8_t)((cmyk[2] * k + 127) / 255);
    }
}

static void el_jpeg_dec_free(el_jpeg_dec *d)
{
    jpeg_destroy_decompress(&d->cinfo);
    free(d->cmyk_row);
    el_image_free(&d->img);
    free(d);
}

static el_status el_jpeg_decode(const void *data, size_t size, const char *src, el_image *out)
{
    if (size > ULONG_MAX) return el_error(EL_ERR_LIMIT, "%s: JPEG too large", src);
    el_jpeg_dec *const d = calloc(1, sizeof *d);
    if (!d) return el_error(EL_ERR_NOMEM, "%s: no memory for a JPEG decoder", src);
    el_jpeg_setup_err(&d->err);
    d->cinfo.err = &d->err.pub;
    if (setjmp(d->err.jump)) {
        el_status s = el_error(EL_ERR_FORMAT, "%s: corrupt JPEG: %s", src, d->err.msg);
        el_jpeg_dec_free(d);
        return s;
    }
    j_decompress_ptr cinfo = &d->cinfo;
    jpeg_create_decompress(cinfo);
    d->progress.progress_monitor = el_jpeg_progress;
    cinfo->progress = &d->progress;
    jpeg_mem_src(cinfo, data, (unsigned long)size);
    jpeg_read_header(cinfo, TRUE);

    el_status s = el_image_alloc(&d->img, cinfo->image_width, cinfo->image_height, src);
    if (s != EL_OK) {
        el_jpeg_dec_free(d);
        return s;
    }
    int cmyk = cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK;
    /* Only the output colour space is set; DCT method and upsampling stay at
     * libjpeg's defaults (JDCT_ISLOW, fancy upsampling), as in TF. libjpeg
     * cannot convert CMYK to RGB itself. */
    cinfo->out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(cinfo);
    int w = d->img.width, h = d->img.height;
    if ((int)cinfo->output_width != w || (int)cinfo->output_height != h ||
        cinfo->output_components != (cmyk ? 4 : 3)) {
        s = el_error(EL_ERR_UNSUPPORTED, "%s: JPEG decodes to %ux%u with %d components, expected %dx%d RGB", src,
                     cinfo->output_width, cinfo->output_height, cinfo->output_components, w, h);
        el_jpeg_dec_free(d);
        return s;
    }
    if (cmyk && !(d->cmyk_row = malloc((size_t)w * 4))) {
        el_jpeg_dec_free(d);
        return el_error(EL_ERR_NOMEM, "%s: no memory for a CMYK row", src);
    }
    size_t stride = (size_t)w * 3;
    while (cinfo->output_scanline < cinfo->output_height) {
        JDIMENSION y = cinfo->output_scanline;
        JSAMPROW row = cmyk ? d->cmyk_row : d->img.rgb + (size_t)y * stride;
        if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
            /* Only a suspending source returns 0 lines; the memory source
             * never suspends. */
            el_jpeg_dec_free(d);
            return el_error(EL_ERR_FORMAT, "%s: corrupt JPEG: no data for row %u of %d", src, y, h);
        }
        if (cmyk) el_cmyk_row_to_rgb(d->cmyk_row, d->img.rgb + (size_t)y * stride, w);
    }
    d->err.finishing = 1;
    jpeg_finish_decompress(cinfo);
    *out = d->img;
    d->img.rgb = NULL;
    el_jpeg_dec_free(d);
    return EL_OK;
}

typedef struct el_jpeg_enc {
    struct jpeg_compress_struct cinfo;
    el_jpeg_err err;
    unsigned char *buf;
    unsigned long len;
} el_jpeg_enc;

el_status el_image_encode_jpeg(const el_image *img, int quality, unsigned char **out, size_t *size)
{
    if (!img || !img->rgb || !out || !size)
        return el_error(EL_ERR_INVALID_ARG, "el_image_encode_jpeg: NULL image or output");
    if (img->width <= 0 || img->height <= 0 || img->width > JPEG_MAX_DIMENSION || img->height > JPEG_MAX_DIMENSION)
        return el_error(EL_ERR_INVALID_ARG, "el_image_encode_jpeg: %dx%d cannot be stored as JPEG (1..%d per side)",
                        img->width, img->height, (int)JPEG_MAX_DIMENSION);
    if (quality < 1 || quality > 100)
        return el_error(EL_ERR_INVALID_ARG, "el_image_encode_jpeg: quality %d is not in 1..100", quality);

    el_jpeg_enc *const e = calloc(1, sizeof *e);
    if (!e) return el_error(EL_ERR_NOMEM, "el_image_encode_jpeg: no memory for an encoder");
    el_jpeg_setup_err(&e->err);
    e->cinfo.err = &e->err.pub;
    if (setjmp(e->err.jump)) {
        el_status s = el_error(EL_ERR_RUNTIME, "JPEG encoding failed: %s", e->err.msg);
        jpeg_destroy_compress(&e->cinfo);
        free(e->buf);
        free(e);
        return s;
    }
    j_compress_ptr cinfo = &e->cinfo;
    jpeg_create_compress(cinfo);
    /* libjpeg-turbo's memory destination malloc()s and grows the buffer and
     * keeps e->buf current, so it is always what to free. */
    jpeg_mem_dest(cinfo, &e->buf, &e->len);
    cinfo->image_width = (JDIMENSION)img->width;
    cinfo->image_height = (JDIMENSION)img->height;
    cinfo->input_components = 3;
    cinfo->in_color_space = JCS_RGB;
    jpeg_set_defaults(cinfo);
    jpeg_set_quality(cinfo, quality, TRUE);
    jpeg_start_compress(cinfo, TRUE);
    size_t stride = (size_t)img->width * 3;
    while (cinfo->next_scanline < cinfo->image_height) {
        JSAMPROW row = img->rgb + (size_t)cinfo->next_scanline * stride;
        jpeg_write_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_compress(cinfo);
    jpeg_destroy_compress(cinfo);
    *out = e->buf;
    *size = e->len;
    free(e);
    return EL_OK;
}

el_status el_image_write_jpeg(const char *path, const el_image *img, int quality)
{
    if (!path) return el_error(EL_ERR_INVALID_ARG, "el_image_write_jpeg: NULL path");
    unsigned char *buf = NULL;
    size_t len = 0;
    el_status s = el_image_encode_jpeg(img, quality, &buf, &len);
    if (s != EL_OK) return el_error_prefix(s, "%s: ", path);
    FILE *f = fopen(path, "wb");
    if (!f) {
        int e = errno;
        free(buf);
        return el_error(EL_ERR_IO, "%s: cannot create: %s", path, strerror(e));
    }
    size_t w = fwrite(buf, 1, len, f);
    int e = errno;
    int closed = fclose(f);
    free(buf);
    if (w != len || closed != 0)
        return el_error(EL_ERR_IO, "%s: write failed: %s", path, strerror(w != len ? e : errno));
    return EL_OK;
}

/* ----------------------------------------------------------------- PNG */

/* As for JPEG, everything that lives across libpng's longjmp is on the heap. */
typedef struct el_png_dec {
    const unsigned char *data;
    size_t size, pos;
    char msg[256];
    png_structp png;
    png_infop info;
    el_image img;
    png_bytep *rows;
} el_png_dec;

static void el_png_error(png_structp png, png_const_charp msg)
{
    el_png_dec *d = png_get_error_ptr(png);
    snprintf(d->msg, sizeof d->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void el_png_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static void el_png_read(png_structp png, png_bytep out, size_t n)
{
    el_png_dec *d = png_get_io_ptr(png);
    if (n > d->size - d->pos) png_error(png, "file is truncated");
    memcpy(out, d->data + d->pos, n);
    d->pos += n;
}

static void el_png_dec_free(el_png_dec *d)
{
    png_destroy_read_struct(&d->png, d->info ? &d->info : NULL, NULL);
    free(d->rows);
    el_image_free(&d->img);
    free(d);
}

static el_status el_png_decode(const void *data, size_t size, const char *src, el_image *out)
{
    el_png_dec *const d = calloc(1, sizeof *d);
    if (!d) return el_error(EL_ERR_NOMEM, "%s: no memory for a PNG decoder", src);
    d->data = data;
    d->size = size;
    d->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, d, el_png_error, el_png_warning);
    if (d->png) d->info = png_create_info_struct(d->png);
    if (!d->png || !d->info) {
        el_png_dec_free(d);
        return el_error(EL_ERR_NOMEM, "%s: cannot create a PNG decoder", src);
    }
    png_structp png = d->png;
    png_infop info = d->info;
    if (setjmp(png_jmpbuf(png))) {
        el_status s = el_error(EL_ERR_FORMAT, "%s: corrupt PNG: %s", src, d->msg);
        el_png_dec_free(d);
        return s;
    }
    png_set_read_fn(png, d, el_png_read);
    /* libpng's own bounds: sides up to the pixel limit, ancillary chunks
     * (text, ICC, ...) up to 8 MiB each. */
    png_set_user_limits(png, 1u << 28, 1u << 28);
    png_set_chunk_malloc_max(png, (png_alloc_size_t)8 << 20);
    png_read_info(png, info);

    el_status s = el_image_alloc(&d->img, png_get_image_width(png, info), png_get_image_height(png, info), src);
    if (s != EL_OK) {
        el_png_dec_free(d);
        return s;
    }
    int ct = png_get_color_type(png, info);
    /* Palette -> RGB, grey < 8 bits -> 8, tRNS -> alpha; then 16 -> 8 bits,
     * grey -> RGB, alpha dropped (as TF's DecodePng with channels=3). */
    png_set_expand(png);
    png_set_strip_16(png);
    if (!(ct & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int w = d->img.width, h = d->img.height;
    if (png_get_rowbytes(png, info) != (size_t)w * 3 || png_get_channels(png, info) != 3) {
        el_png_dec_free(d);
        return el_error(EL_ERR_UNSUPPORTED, "%s: PNG does not convert to 8-bit RGB", src);
    }
    if (!(d->rows = malloc(sizeof(png_bytep) * (size_t)h))) {
        el_png_dec_free(d);
        return el_error(EL_ERR_NOMEM, "%s: no memory for PNG row pointers", src);
    }
    for (int y = 0; y < h; y++) d->rows[y] = d->img.rgb + (size_t)y * (size_t)w * 3;
    png_read_image(png, d->rows);
    /* Checks the last data chunk's CRC and the IEND: a truncated file is an
     * error even when every row was present. */
    png_read_end(png, NULL);
    *out = d->img;
    d->img.rgb = NULL;
    el_png_dec_free(d);
    return EL_OK;
}

/* ---------------------------------------------------------------- entry */

el_status el_image_decode(const void *data, size_t size, const char *source, el_image *out)
{
    const char *src = el_src_name(source);
    if (!out) return el_error(EL_ERR_INVALID_ARG, "%s: NULL output image", src);
    out->width = out->height = 0;
    out->rgb = NULL;
    if (!data && size) return el_error(EL_ERR_INVALID_ARG, "%s: NULL data", src);
    const unsigned char *p = data;
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (size >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff) return el_jpeg_decode(data, size, src, out);
    if (size >= 8 && memcmp(p, png_sig, 8) == 0) return el_png_decode(data, size, src, out);
    if (size == 0) return el_error(EL_ERR_FORMAT, "%s: empty file, expected a JPEG or PNG image", src);
    char hex[3 * 8 + 1] = "";
    for (size_t i = 0; i < size && i < 8; i++) snprintf(hex + 3 * i, 4, "%02x ", p[i]);
    if (hex[0]) hex[strlen(hex) - 1] = '\0';
    return el_error(EL_ERR_UNSUPPORTED, "%s: not a JPEG or PNG image (starts with %s)", src, hex);
}

el_status el_image_load(const char *path, el_image *out)
{
    if (!path || !out) return el_error(EL_ERR_INVALID_ARG, "el_image_load: NULL path or output");
    out->width = out->height = 0;
    out->rgb = NULL;
    void *buf;
    size_t len;
    EL_TRY(el_file_read(path, EL_IMAGE_MAX_FILE, "an image file", &buf, &len));
    el_status s = el_image_decode(buf, len, path, out);
    free(buf);
    return s;
}

el_status el_image_resize_bilinear(const el_image *src, int width, int height, el_image *out)
{
    if (!src || !src->rgb || !out) return el_error(EL_ERR_INVALID_ARG, "el_image_resize_bilinear: NULL image");
    if (src->width <= 0 || src->height <= 0)
        return el_error(EL_ERR_INVALID_ARG, "el_image_resize_bilinear: source image is %dx%d", src->width,
                        src->height);
    if (width <= 0 || height <= 0)
        return el_error(EL_ERR_INVALID_ARG, "el_image_resize_bilinear: output size %dx%d is not positive", width,
                        height);
    el_image img = {0};
    EL_TRY(el_image_alloc(&img, width, height, "el_image_resize_bilinear"));
    el_resize_args a = {
        .in_dtype = EL_DT_UINT8, .in = src->rgb,
        .batch = 1, .in_h = src->height, .in_w = src->width, .channels = 3,
        .out_h = height, .out_w = width,
        .out_u8 = img.rgb,
    };
    el_status s = el_resize_bilinear_core(&a);
    if (s != EL_OK) {
        el_image_free(&img);
        return el_error_prefix(s, "el_image_resize_bilinear: ");
    }
    *out = img;
    return EL_OK;
}
