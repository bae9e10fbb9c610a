/* Image decoding, encoding and the TF-exact resize. The reference photo
 * checks need the darknet photos in $EL_DATA_DIR/darknet/ and ../shared/reference/aiy.json and
 * skip without them; everything else is generated here. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <jpeglib.h>
#include <png.h>

#include "edgelens/image.h"

/* ------------------------------------------------------------- helpers */

static el_image make_gradient(int w, int h)
{
    el_image img = {w, h, malloc((size_t)w * h * 3)};
    assert_non_null(img.rgb);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = img.rgb + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)(x * 255 / (w > 1 ? w - 1 : 1));
            p[1] = (uint8_t)(y * 255 / (h > 1 ? h - 1 : 1));
            p[2] = 128;
        }
    return img;
}

/* A JPEG of `ncomp` components in colour space `cs` built with libjpeg
 * directly (for grey and CMYK inputs el_image_encode_jpeg does not make). */
static unsigned char *raw_jpeg(int w, int h, int ncomp, J_COLOR_SPACE cs, const uint8_t *px, unsigned long *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    unsigned char *buf = NULL;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &buf, len);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = ncomp;
    c.in_color_space = cs;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 100, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(px + (size_t)c.next_scanline * w * ncomp);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return buf;
}

typedef struct membuf {
    unsigned char *data;
    size_t len, cap;
} membuf;

static void mem_write(png_structp png, png_bytep d, size_t n)
{
    membuf *m = png_get_io_ptr(png);
    if (m->len + n > m->cap) {
        m->cap = (m->len + n) * 2;
        m->data = realloc(m->data, m->cap);
        assert_non_null(m->data);
    }
    memcpy(m->data + m->len, d, n);
    m->len += n;
}

static void mem_flush(png_structp png) { (void)png; }

/* A PNG of the given libpng colour type / depth; rows are `bytes_per_row`
 * apart in px. */
static membuf make_png(int w, int h, int color_type, int depth, int interlace, const uint8_t *px, size_t bytes_per_row,
                       const png_color *palette, int npalette, const png_byte *trns, int ntrns)
{
    membuf m = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(png);
    assert_non_null(info);
    png_set_write_fn(png, &m, mem_write, mem_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color_type,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (palette) png_set_PLTE(png, info, palette, npalette);
    if (trns) png_set_tRNS(png, info, trns, ntrns, NULL);
    png_write_info(png, info);
    if (depth == 16) png_set_swap(png); /* px holds little-endian uint16 */
    png_bytep *rows = malloc(sizeof(png_bytep) * (size_t)h);
    for (int y = 0; y < h; y++) rows[y] = (png_bytep)(px + (size_t)y * bytes_per_row);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    return m;
}

static void assert_px(const el_image *img, int x, int y, int r, int g, int b)
{
    const uint8_t *p = img->rgb + ((size_t)y * img->width + x) * 3;
    if (p[0] != r || p[1] != g || p[2] != b)
        fail_msg("pixel (%d,%d) is %d,%d,%d, want %d,%d,%d", x, y, p[0], p[1], p[2], r, g, b);
}

/* --------------------------------------------------- reference photos */

static void test_reference_photos(void **state)
{
    (void)state;
    char jpath[1024], ipath[1024];
    if (!el_test_shared("reference/aiy.json", jpath, sizeof jpath)) skip();
    if (!el_test_data("darknet/dog.jpg", ipath, sizeof ipath)) skip();
    FILE *f = fopen(jpath, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    cJSON *root = cJSON_Parse(text);
    free(text);
    assert_non_null(root);
    const cJSON *images = cJSON_GetObjectItem(root, "images");
    int checked = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, images)
    {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(it, "image"));
        const char *want_dec = cJSON_GetStringValue(cJSON_GetObjectItem(it, "decoded_rgb_sha256"));
        const char *want_in = cJSON_GetStringValue(cJSON_GetObjectItem(it, "input_sha256"));
        assert_non_null(name);
        char rel[256];
        snprintf(rel, sizeof rel, "darknet/%s", name);
        if (!el_test_data(rel, ipath, sizeof ipath)) continue;
        el_image img, small;
        if (el_image_load(ipath, &img) != EL_OK) fail_msg("%s", el_last_error());
        assert_int_equal(img.width, (int)cJSON_GetNumberValue(cJSON_GetObjectItem(it, "width")));
        assert_int_equal(img.height, (int)cJSON_GetNumberValue(cJSON_GetObjectItem(it, "height")));
        char hex[65];
        el_test_sha256_hex(img.rgb, (size_t)img.width * img.height * 3, hex);
        if (strcmp(hex, want_dec) != 0) fail_msg("%s: decoded pixels %s, want %s", name, hex, want_dec);
        assert_int_equal(el_image_resize_bilinear(&img, 256, 256, &small), EL_OK);
        el_test_sha256_hex(small.rgb, 256 * 256 * 3, hex);
        if (strcmp(hex, want_in) != 0) fail_msg("%s: 256x256 input %s, want %s", name, hex, want_in);
        el_image_free(&img);
        el_image_free(&small);
        checked++;
    }
    cJSON_Delete(root);
    assert_int_equal(checked, 7);
}

/* --------------------------------------------------------------- JPEG */

static void test_jpeg_roundtrip(void **state)
{
    (void)state;
    el_image img = make_gradient(64, 48), back;
    unsigned char *jpg = NULL;
    size_t len = 0;
    assert_int_equal(el_image_encode_jpeg(&img, 95, &jpg, &len), EL_OK);
    assert_true(len > 100);
    assert_int_equal(el_image_decode(jpg, len, "mem.jpg", &back), EL_OK);
    assert_int_equal(back.width, 64);
    assert_int_equal(back.height, 48);
    int maxd = 0;
    for (size_t i = 0; i < 64 * 48 * 3; i++) {
        int d = abs((int)img.rgb[i] - (int)back.rgb[i]);
        if (d > maxd) maxd = d;
    }
    assert_true(maxd <= 8);
    el_image_free(&back);

    /* Via a file, too. */
    char dir[64], path[128];
    assert_non_null(el_test_tmpdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/out.jpg", dir);
    assert_int_equal(el_image_write_jpeg(path, &img, 80), EL_OK);
    assert_int_equal(el_image_load(path, &back), EL_OK);
    assert_int_equal(back.width, 64);
    el_image_free(&back);
    remove(path);
    remove(dir);

    assert_int_equal(el_image_encode_jpeg(&img, 0, &jpg, &len), EL_ERR_INVALID_ARG);
    assert_non_null(strstr(el_last_error(), "quality 0"));
    assert_int_equal(el_image_write_jpeg("/nonexistent-dir/x.jpg", &img, 80), EL_ERR_IO);
    free(jpg);
    el_image_free(&img);
}

static void test_jpeg_truncated_is_refused(void **state)
{
    (void)state;
    el_image img = make_gradient(128, 96), back = {0};
    unsigned char *jpg = NULL;
    size_t len = 0;
    assert_int_equal(el_image_encode_jpeg(&img, 90, &jpg, &len), EL_OK);
    /* Cut in the middle of the scan: libjpeg would fill the rest with grey and
     * only warn. */
    assert_int_equal(el_image_decode(jpg, len / 2, "cut.jpg", &back), EL_ERR_FORMAT);
    assert_non_null(strstr(el_last_error(), "cut.jpg: corrupt JPEG: "));
    assert_non_null(strstr(el_last_error(), "Premature end"));
    assert_null(back.rgb);
    /* Cut inside the headers. */
    assert_int_equal(el_image_decode(jpg, 40, "head.jpg", &back), EL_ERR_FORMAT);
    assert_non_null(strstr(el_last_error(), "head.jpg: corrupt JPEG: "));
    /* Only the magic. */
    assert_int_equal(el_image_decode(jpg, 3, NULL, &back), EL_ERR_FORMAT);
    assert_non_null(strstr(el_last_error(), "<memory>: corrupt JPEG"));
    /* Missing EOI only: the pixels are all there but the file is cut. */
    assert_int_equal(el_image_decode(jpg, len - 2, "noeoi.jpg", &back), EL_ERR_FORMAT);
    free(jpg);
    el_image_free(&img);
}

static void test_jpeg_too_many_pixels(void **state)
{
    (void)state;
    el_image img = make_gradient(16, 16), back = {0};
    unsigned char *jpg = NULL;
    size_t len = 0;
    assert_int_equal(el_image_encode_jpeg(&img, 90, &jpg, &len), EL_OK);
    /* Patch the SOF0 frame header to claim 65000x65000. */
    size_t i = 2;
    int patched = 0;
    while (i + 9 < len) {
        assert_int_equal(jpg[i], 0xff);
        int marker = jpg[i + 1];
        size_t seg = ((size_t)jpg[i + 2] << 8) | jpg[i + 3];
        if (marker == 0xc0) {
            jpg[i + 5] = jpg[i + 7] = 65000 >> 8;
            jpg[i + 6] = jpg[i + 8] = 65000 & 0xff;
            patched = 1;
            break;
        }
        i += 2 + seg;
    }
    assert_true(patched);
    assert_int_equal(el_image_decode(jpg, len, "huge.jpg", &back), EL_ERR_LIMIT);
    assert_non_null(strstr(el_last_error(), "65000x65000"));
    free(jpg);
    el_image_free(&img);
}

static void test_jpeg_grey_and_cmyk(void **state)
{
    (void)state;
    uint8_t grey[8 * 8];
    for (int i = 0; i < 64; i++) grey[i] = 200;
    unsigned long len = 0;
    unsigned char *jpg = raw_jpeg(8, 8, 1, JCS_GRAYSCALE, grey, &len);
    el_image img;
    assert_int_equal(el_image_decode(jpg, len, "grey.jpg", &img), EL_OK);
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++) assert_px(&img, x, y, 200, 200, 200);
    el_image_free(&img);
    free(jpg);

    /* Adobe-style (inverted) CMYK: c=255, m=0, y=255, k=255 is green... in
     * the inverted convention R = c*k/255 = 255, G = 0, B = 255 (magenta). */
    uint8_t cmyk[16 * 16 * 4];
    for (int i = 0; i < 16 * 16; i++) {
        cmyk[4 * i + 0] = 255;
        cmyk[4 * i + 1] = 0;
        cmyk[4 * i + 2] = 255;
        cmyk[4 * i + 3] = 255;
    }
    jpg = raw_jpeg(16, 16, 4, JCS_CMYK, cmyk, &len);
    assert_int_equal(el_image_decode(jpg, len, "cmyk.jpg", &img), EL_OK);
    const uint8_t *p = img.rgb + (8 * 16 + 8) * 3;
    assert_true(p[0] >= 250 && p[1] <= 5 && p[2] >= 250);
    el_image_free(&img);
    free(jpg);
}

/* ---------------------------------------------------------------- PNG */

static void test_png_variants(void **state)
{
    (void)state;
    el_image img;
    /* RGB 8-bit, interlaced. */
    uint8_t rgb[5 * 4 * 3];
    for (int i = 0; i < 5 * 4 * 3; i++) rgb[i] = (uint8_t)(i * 4);
    membuf m = make_png(5, 4, PNG_COLOR_TYPE_RGB, 8, 1, rgb, 15, NULL, 0, NULL, 0);
    assert_int_equal(el_image_decode(m.data, m.len, "rgb.png", &img), EL_OK);
    assert_int_equal(img.width, 5);
    assert_int_equal(img.height, 4);
    assert_memory_equal(img.rgb, rgb, sizeof rgb);
    el_image_free(&img);
    free(m.data);

    /* RGBA: alpha dropped, not composited. */
    uint8_t rgba[2 * 1 * 4] = {10, 20, 30, 0, 40, 50, 60, 255};
    m = make_png(2, 1, PNG_COLOR_TYPE_RGB_ALPHA, 8, 0, rgba, 8, NULL, 0, NULL, 0);
    assert_int_equal(el_image_decode(m.data, m.len, "rgba.png", &img), EL_OK);
    assert_px(&img, 0, 0, 10, 20, 30);
    assert_px(&img, 1, 0, 40, 50, 60);
    el_image_free(&img);
    free(m.data);

    /* Grey 16-bit: high byte kept. */
    uint16_t g16[3] = {0x1234, 0xff00, 0x00ff};
    m = make_png(3, 1, PNG_COLOR_TYPE_GRAY, 16, 0, (const uint8_t *)g16, 6, NULL, 0, NULL, 0);
    assert_int_equal(el_image_decode(m.data, m.len, "g16.png", &img), EL_OK);
    assert_px(&img, 0, 0, 0x12, 0x12, 0x12);
    assert_px(&img, 1, 0, 0xff, 0xff, 0xff);
    assert_px(&img, 2, 0, 0, 0, 0);
    el_image_free(&img);
    free(m.data);

    /* Grey + alpha. */
    uint8_t ga[4] = {77, 0, 99, 255};
    m = make_png(2, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, ga, 4, NULL, 0, NULL, 0);
    assert_int_equal(el_image_decode(m.data, m.len, "ga.png", &img), EL_OK);
    assert_px(&img, 0, 0, 77, 77, 77);
    assert_px(&img, 1, 0, 99, 99, 99);
    el_image_free(&img);
    free(m.data);

    /* 1-bit grey: 0/1 expands to 0/255. */
    uint8_t g1[1] = {0xa0}; /* 1,0,1,0 */
    m = make_png(4, 1, PNG_COLOR_TYPE_GRAY, 1, 0, g1, 1, NULL, 0, NULL, 0);
    assert_int_equal(el_image_decode(m.data, m.len, "g1.png", &img), EL_OK);
    assert_px(&img, 0, 0, 255, 255, 255);
    assert_px(&img, 1, 0, 0, 0, 0);
    el_image_free(&img);
    free(m.data);

    /* 4-bit palette with a tRNS entry (transparency dropped). */
    png_color pal[3] = {{255, 0, 0}, {0, 255, 0}, {1, 2, 3}};
    png_byte trns[1] = {0};
    uint8_t idx[2] = {0x01, 0x20}; /* 0,1,2,0 */
    m = make_png(4, 1, PNG_COLOR_TYPE_PALETTE, 4, 0, idx, 2, pal, 3, trns, 1);
    assert_int_equal(el_image_decode(m.data, m.len, "pal.png", &img), EL_OK);
    assert_px(&img, 0, 0, 255, 0, 0);
    assert_px(&img, 1, 0, 0, 255, 0);
    assert_px(&img, 2, 0, 1, 2, 3);
    assert_px(&img, 3, 0, 255, 0, 0);
    el_image_free(&img);
    free(m.data);
}

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return c ^ 0xffffffffu;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void test_png_hostile(void **state)
{
    (void)state;
    uint8_t rgb[16 * 16 * 3];
    for (size_t i = 0; i < sizeof rgb; i++) rgb[i] = (uint8_t)(i * 7);
    membuf m = make_png(16, 16, PNG_COLOR_TYPE_RGB, 8, 0, rgb, 48, NULL, 0, NULL, 0);
    el_image img = {0};
    /* Truncated inside the image data. */
    assert_int_equal(el_image_decode(m.data, m.len - 30, "cut.png", &img), EL_ERR_FORMAT);
    assert_non_null(strstr(el_last_error(), "cut.png: corrupt PNG: "));
    assert_null(img.rgb);
    /* Only the signature. */
    assert_int_equal(el_image_decode(m.data, 8, "sig.png", &img), EL_ERR_FORMAT);
    /* Bad CRC on IHDR. */
    uint8_t *bad = malloc(m.len);
    memcpy(bad, m.data, m.len);
    bad[29] ^= 0xff;
    assert_int_equal(el_image_decode(bad, m.len, "crc.png", &img), EL_ERR_FORMAT);
    /* IHDR claiming 20000x20000 (valid CRC): refused before allocating. */
    memcpy(bad, m.data, m.len);
    put_be32(bad + 16, 20000);
    put_be32(bad + 20, 20000);
    put_be32(bad + 29, crc32_of(bad + 12, 17));
    assert_int_equal(el_image_decode(bad, m.len, "huge.png", &img), EL_ERR_LIMIT);
    assert_non_null(strstr(el_last_error(), "20000x20000"));
    free(bad);
    free(m.data);
}

static void test_not_an_image(void **state)
{
    (void)state;
    el_image img;
    assert_int_equal(el_image_decode("GIF89a....", 10, "x.gif", &img), EL_ERR_UNSUPPORTED);
    assert_non_null(strstr(el_last_error(), "x.gif: not a JPEG or PNG image (starts with 47 49 46 38"));
    assert_int_equal(el_image_decode("", 0, "empty.jpg", &img), EL_ERR_FORMAT);
    assert_int_equal(el_image_load("/nonexistent/file.jpg", &img), EL_ERR_NOT_FOUND);
    assert_non_null(strstr(el_last_error(), "/nonexistent/file.jpg"));
    assert_int_equal(el_image_load("/tmp", &img), EL_ERR_IO);
}

/* ------------------------------------------------------------- resize */

static void test_resize_hand_computed(void **state)
{
    (void)state;
    /* 2x2 grey 2,2 / 4,4 to 3x3: rows at y = 0, 2/3, 4/3 -> 2, 3.33, 4. */
    uint8_t px[2 * 2 * 3];
    for (int i = 0; i < 6; i++) px[i] = 2;
    for (int i = 6; i < 12; i++) px[i] = 4;
    el_image src = {2, 2, px}, out;
    assert_int_equal(el_image_resize_bilinear(&src, 3, 3, &out), EL_OK);
    for (int x = 0; x < 3; x++) {
        assert_px(&out, x, 0, 2, 2, 2);
        assert_px(&out, x, 1, 3, 3, 3);
        assert_px(&out, x, 2, 4, 4, 4);
    }
    el_image_free(&out);

    /* 1x2 row 2,3 to width 4: x = 0, .5, 1, 1.5 -> 2, 2.5, 3, 3. Half rounds
     * away from zero (std::round), not to even: 2.5 -> 3. */
    uint8_t row[6] = {2, 2, 2, 3, 3, 3};
    el_image r = {2, 1, row};
    assert_int_equal(el_image_resize_bilinear(&r, 4, 1, &out), EL_OK);
    assert_px(&out, 0, 0, 2, 2, 2);
    assert_px(&out, 1, 0, 3, 3, 3);
    assert_px(&out, 2, 0, 3, 3, 3);
    assert_px(&out, 3, 0, 3, 3, 3);
    el_image_free(&out);

    /* Same size: identity. */
    el_image g = make_gradient(7, 5);
    assert_int_equal(el_image_resize_bilinear(&g, 7, 5, &out), EL_OK);
    assert_memory_equal(out.rgb, g.rgb, 7 * 5 * 3);
    el_image_free(&out);
    assert_int_equal(el_image_resize_bilinear(&g, 0, 5, &out), EL_ERR_INVALID_ARG);
    el_image_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_photos),
        cmocka_unit_test(test_jpeg_roundtrip),
        cmocka_unit_test(test_jpeg_truncated_is_refused),
        cmocka_unit_test(test_jpeg_too_many_pixels),
        cmocka_unit_test(test_jpeg_grey_and_cmyk),
        cmocka_unit_test(test_png_variants),
        cmocka_unit_test(test_png_hostile),
        cmocka_unit_test(test_not_an_image),
        cmocka_unit_test(test_resize_hand_computed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
