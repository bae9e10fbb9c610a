/* edgelens images: decoded 8-bit RGB pixels. */
#ifndef EDGELENS_IMAGE_H
#define EDGELENS_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "edgelens/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Interleaved RGB, row-major, width*height*3 bytes, owned by the image
 * (malloc'd; release with el_image_free). */
typedef struct el_image {
    int width;
    int height;
    uint8_t *rgb;
} el_image;

/* Decode a JPEG (libjpeg-turbo, default settings: islow DCT, fancy
 * upsampling) or PNG (libpng) file, chosen by its magic bytes. Grey, grey +
 * alpha, palette, 16-bit and alpha images become 8-bit RGB (alpha dropped).
 * Bounded: images over EL_IMAGE_MAX_PIXELS are refused. */
#define EL_IMAGE_MAX_PIXELS ((int64_t)1 << 28)
el_status el_image_load(const char *path, el_image *out);
el_status el_image_decode(const void *data, size_t size, const char *source, el_image *out);

/* Encode as baseline JPEG (quality 1..100). *out is malloc'd. */
el_status el_image_encode_jpeg(const el_image *img, int quality, unsigned char **out, size_t *size);
el_status el_image_write_jpeg(const char *path, const el_image *img, int quality);

/* Resize with TensorFlow's ResizeBilinear semantics (align_corners=false,
 * half_pixel_centers=false), each value rounded to nearest as TF does when
 * casting the float result back to uint8 after tf.round. */
el_status el_image_resize_bilinear(const el_image *src, int width, int height, el_image *out);

void el_image_free(el_image *img);

#ifdef __cplusplus
}
#endif
#endif
