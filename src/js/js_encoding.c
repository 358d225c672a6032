/*
 * TextEncoder and TextDecoder (WHATWG Encoding), UTF-8 only, in C.
 *
 * Both globals are lazy (js_lazy.c): a call that never touches them pays for two accessor
 * properties; the classes are built in the context on first access.
 *
 * TextEncoder: encode(string) -> Uint8Array, encodeInto(string, Uint8Array) -> {read, written};
 * strings are converted as WebIDL USVStrings (a lone surrogate becomes U+FFFD).
 *
 * TextDecoder: the WHATWG UTF-8 decoder as a byte state machine (bytes needed/seen, the code
 * point so far and the bounds of the next continuation byte), which gives the "maximal subpart"
 * substitution: every maximal prefix of a valid sequence that cannot be completed becomes one
 * U+FFFD and the byte that broke it is decoded again. With {stream: true} the state carries over
 * to the next decode() (so a sequence may be split anywhere); a decode() without it flushes (an
 * unfinished sequence becomes U+FFFD, or a TypeError when fatal) and resets the decoder. The BOM
 * is dropped once at the start of a stream unless ignoreBOM. A fatal error resets the decoder.
 *
 * Input that is entirely valid UTF-8 and leaves no state behind goes straight from the caller's
 * buffer into JS_NewStringLen; otherwise a first pass computes the exact output size and a second
 * writes it into a buffer allocated through the JS context (the call's memory limit applies).
 *
 * Gas: every method charges NCSL__JS_GAS_HOST_CALL plus the bytes it reads, before the work.
 */
#include <string.h>

#include "js_lazy.h"

enum { CLS_ENCODER, CLS_DECODER, CLS_COUNT };
static const char *const g_names[CLS_COUNT] = {"TextEncoder", "TextDecoder"};
static JSClassID g_class_id[CLS_COUNT];
static JSClassID g_slot_id[CLS_COUNT]; /* per-context slot: the constructor, once built */

/* the label echoed in a RangeError is cut to this many bytes */
#define MAX_LABEL_ECHO 40

typedef struct decoder {
    bool fatal;
    bool ignore_bom;
    bool bom_seen;     /* the first code point of the stream was seen */
    bool do_not_flush; /* the last decode() had {stream: true} */
    /* UTF-8 decoder state (WHATWG Encoding 9.1.1) */
    uint8_t needed;
    uint8_t seen;
    uint8_t lower;
    uint8_t upper;
    uint32_t cp;
} decoder;

static void decoder_reset(decoder *d) {
    d->bom_seen = false;
    d->needed = 0;
    d->seen = 0;
    d->lower = 0x80;
    d->upper = 0xBF;
    d->cp = 0;
}

/* ------------------------------------------------------------------------- helpers */
static void decoder_finalizer(JSRuntime *rt, JSValue val) {
    js_free_rt(rt, JS_GetOpaque(val, g_class_id[CLS_DECODER]));
}

static const JSClassDef g_class_defs[CLS_COUNT] = {
    {.class_name = "TextEncoder"},
    {.class_name = "TextDecoder", .finalizer = decoder_finalizer},
};

static int charge(JSContext *ctx, size_t bytes) {
    return ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL + ncsl__js_gas_bytes(bytes));
}

static bool is_encoder(JSValueConst v) {
    return g_class_id[CLS_ENCODER] != 0 && JS_GetClassID(v) == g_class_id[CLS_ENCODER];
}

static decoder *decoder_get(JSContext *ctx, JSValueConst v, const char *what) {
    decoder *d = g_class_id[CLS_DECODER] ? JS_GetOpaque(v, g_class_id[CLS_DECODER]) : NULL;
    if (!d) {
        JS_ThrowTypeError(ctx, "%s called on an object that is not a TextDecoder", what);
    }
    return d;
}

/* A new object of class `cls` whose prototype is new_target.prototype (subclasses) or the
 * class's own. */
static JSValue new_instance(JSContext *ctx, JSValueConst new_target, int cls) {
    JSValue proto = JS_GetPropertyStr(ctx, new_target, "prototype");
    if (JS_IsException(proto)) {
        return proto;
    }
    if (!JS_IsObject(proto)) {
        JS_FreeValue(ctx, proto);
        proto = JS_GetClassProto(ctx, g_class_id[cls]);
    }
    JSValue obj = JS_NewObjectProtoClass(ctx, proto, g_class_id[cls]);
    JS_FreeValue(ctx, proto);
    return obj;
}

/* ------------------------------------------------------------------------- TextEncoder */
static JSValue encoder_ctor(JSContext *ctx, JSValueConst new_target, int argc, JSValueConst *argv) {
    (void)argc;
    (void)argv;
    if (charge(ctx, 0) < 0) {
        return JS_EXCEPTION;
    }
    return new_instance(ctx, new_target, CLS_ENCODER);
}

static JSValue encoder_encoding(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv,
                                int magic) {
    (void)argc;
    (void)argv;
    (void)magic;
    if (!is_encoder(this_val)) {
        return JS_ThrowTypeError(ctx, "TextEncoder.encoding called on an object that is not a "
                                      "TextEncoder");
    }
    return JS_NewString(ctx, "utf-8");
}

static JSValue encoder_encode(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    if (!is_encoder(this_val)) {
        return JS_ThrowTypeError(ctx, "TextEncoder.encode called on an object that is not a "
                                      "TextEncoder");
    }
    if (charge(ctx, 0) < 0) {
        return JS_EXCEPTION;
    }
    if (argc < 1 || JS_IsUndefined(argv[0])) {
        return ncsl__js_new_uint8_array_copy(ctx, NULL, 0);
    }
    ncsl__js_usv u;
    if (ncsl__js_usv_get(ctx, argv[0], &u) < 0) {
        return JS_EXCEPTION;
    }
    JSValue ret = JS_EXCEPTION;
    if (ncsl__js_gas_charge(ctx, ncsl__js_gas_bytes(u.len)) == 0) {
        ret = ncsl__js_new_uint8_array_copy(ctx, (const uint8_t *)u.s, u.len);
    }
    ncsl__js_usv_free(ctx, &u);
    return ret;
}

/* Length of the UTF-8 sequence that starts with lead byte `b` (the text is well formed). */
static size_t utf8_seq_len(uint8_t b) {
    return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
}

static JSValue encoder_encode_into(JSContext *ctx, JSValueConst this_val, int argc,
                                   JSValueConst *argv) {
    if (!is_encoder(this_val)) {
        return JS_ThrowTypeError(ctx, "TextEncoder.encodeInto called on an object that is not a "
                                      "TextEncoder");
    }
    if (charge(ctx, 0) < 0) {
        return JS_EXCEPTION;
    }
    if (argc < 2) {
        return JS_ThrowTypeError(ctx, "TextEncoder.encodeInto: 2 arguments required (source, "
                                      "destination)");
    }
    /* WebIDL order: convert the source (may run user code) before touching the destination */
    ncsl__js_usv u;
    if (ncsl__js_usv_get(ctx, argv[0], &u) < 0) {
        return JS_EXCEPTION;
    }
    JSValue ret = JS_EXCEPTION;
    if (JS_GetTypedArrayType(argv[1]) != JS_TYPED_ARRAY_UINT8) {
        JS_ThrowTypeError(ctx, "TextEncoder.encodeInto: argument 2 (destination) must be a "
                               "Uint8Array");
        goto out;
    }
    size_t cap = 0;
    uint8_t *dst = JS_GetUint8Array(ctx, &cap, argv[1]);
    if (!dst) {
        JS_FreeValue(ctx, JS_GetException(ctx));
        JS_ThrowTypeError(ctx, "TextEncoder.encodeInto: argument 2 (destination) is detached or "
                               "out of bounds");
        goto out;
    }
    /* the work is bounded by the smaller of the two */
    if (ncsl__js_gas_charge(ctx, ncsl__js_gas_bytes(u.len < cap ? u.len : cap)) < 0) {
        goto out;
    }
    size_t in = 0, written = 0;
    uint64_t read = 0;
    while (in < u.len) {
        size_t n = utf8_seq_len((uint8_t)u.s[in]);
        if (written + n > cap) {
            break;
        }
        memcpy(dst + written, u.s + in, n);
        written += n;
        in += n;
        read += n == 4 ? 2 : 1; /* UTF-16 code units */
    }
    JSValue obj = JS_NewObject(ctx);
    if (JS_IsException(obj) ||
        JS_DefinePropertyValueStr(ctx, obj, "read", JS_NewInt64(ctx, (int64_t)read),
                                  JS_PROP_C_W_E) < 0 ||
        JS_DefinePropertyValueStr(ctx, obj, "written", JS_NewInt64(ctx, (int64_t)written),
                                  JS_PROP_C_W_E) < 0) {
        JS_FreeValue(ctx, obj);
        goto out;
    }
    ret = obj;
out:
    ncsl__js_usv_free(ctx, &u);
    return ret;
}

static const JSCFunctionListEntry g_encoder_proto[] = {
    JS_CFUNC_DEF2("encode", 0, encoder_encode,
                  JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE | JS_PROP_ENUMERABLE),
    JS_CFUNC_DEF2("encodeInto", 2, encoder_encode_into,
                  JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE | JS_PROP_ENUMERABLE),
    JS_PROP_STRING_DEF("[Symbol.toStringTag]", "TextEncoder", JS_PROP_CONFIGURABLE),
};

/* ------------------------------------------------------------------------- TextDecoder */
/* the WHATWG labels of UTF-8 */
static const char *const g_utf8_labels[] = {
    "unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8", "x-unicode20utf8",
};

static bool is_ascii_ws(char c) {
    return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' ';
}

static bool label_is_utf8(const char *s, size_t len) {
    while (len > 0 && is_ascii_ws(s[0])) {
        s++;
        len--;
    }
    while (len > 0 && is_ascii_ws(s[len - 1])) {
        len--;
    }
    for (size_t i = 0; i < NCSL_ARRAY_LEN(g_utf8_labels); i++) {
        const char *l = g_utf8_labels[i];
        if (strlen(l) != len) {
            continue;
        }
        size_t j = 0;
        while (j < len) {
            char c = s[j];
            if (c >= 'A' && c <= 'Z') {
                c = (char)(c - 'A' + 'a');
            }
            if (c != l[j]) {
                break;
            }
            j++;
        }
        if (j == len) {
            return true;
        }
    }
    return false;
}

/* Reads boolean member `name` of a WebIDL dictionary argument (undefined/null: all false). */
static int dict_bool(JSContext *ctx, JSValueConst dict, const char *name, bool *out) {
    *out = false;
    if (JS_IsUndefined(dict) || JS_IsNull(dict)) {
        return 0;
    }
    JSValue v = JS_GetPropertyStr(ctx, dict, name);
    if (JS_IsException(v)) {
        return -1;
    }
    int b = JS_ToBool(ctx, v);
    JS_FreeValue(ctx, v);
    if (b < 0) {
        return -1;
    }
    *out = b != 0;
    return 0;
}

static bool dict_ok(JSValueConst v) {
    return JS_IsUndefined(v) || JS_IsNull(v) || JS_IsObject(v);
}

static JSValue decoder_ctor(JSContext *ctx, JSValueConst new_target, int argc, JSValueConst *argv) {
    JSValue label_str = JS_UNDEFINED, obj = JS_UNDEFINED;
    const char *label = NULL;
    size_t label_len = 0;
    bool fatal = false, ignore_bom = false;

    if (charge(ctx, 0) < 0) {
        return JS_EXCEPTION;
    }
    /* WebIDL: convert every argument (label, then options' members in order) before the
     * constructor steps check the label */
    if (argc > 0 && !JS_IsUndefined(argv[0])) {
        label_str = JS_ToString(ctx, argv[0]);
        if (JS_IsException(label_str)) {
            goto fail;
        }
        label = JS_ToCStringLen(ctx, &label_len, label_str);
        if (!label) {
            goto fail;
        }
    }
    JSValueConst opts = argc > 1 ? argv[1] : JS_UNDEFINED;
    if (!dict_ok(opts)) {
        JS_ThrowTypeError(ctx, "TextDecoder: argument 2 (options) must be an object");
        goto fail;
    }
    if (dict_bool(ctx, opts, "fatal", &fatal) < 0 ||
        dict_bool(ctx, opts, "ignoreBOM", &ignore_bom) < 0) {
        goto fail;
    }
    if (label && !label_is_utf8(label, label_len)) {
        size_t n = label_len > MAX_LABEL_ECHO ? MAX_LABEL_ECHO : label_len;
        while (n > 0 && n < label_len && ((unsigned char)label[n] & 0xC0) == 0x80) {
            n--; /* do not cut a UTF-8 sequence */
        }
        JS_ThrowRangeError(ctx,
                           "TextDecoder: argument 1 (label) \"%.*s%s\" is not a supported "
                           "encoding (only UTF-8 is available)",
                           (int)n, label, n < label_len ? "..." : "");
        goto fail;
    }
    obj = new_instance(ctx, new_target, CLS_DECODER);
    if (JS_IsException(obj)) {
        goto fail;
    }
    decoder *d = js_mallocz(ctx, sizeof(*d));
    if (!d) {
        goto fail;
    }
    d->fatal = fatal;
    d->ignore_bom = ignore_bom;
    decoder_reset(d);
    JS_SetOpaque(obj, d);
    if (label) {
        JS_FreeCString(ctx, label);
    }
    JS_FreeValue(ctx, label_str);
    return obj;
fail:
    if (label) {
        JS_FreeCString(ctx, label);
    }
    JS_FreeValue(ctx, label_str);
    JS_FreeValue(ctx, obj);
    return JS_EXCEPTION;
}

enum { DEC_ENCODING, DEC_FATAL, DEC_IGNORE_BOM };

static JSValue decoder_prop(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv,
                            int magic) {
    (void)argc;
    (void)argv;
    static const char *const what[] = {"TextDecoder.encoding", "TextDecoder.fatal",
                                       "TextDecoder.ignoreBOM"};
    decoder *d = decoder_get(ctx, this_val, what[magic]);
    if (!d) {
        return JS_EXCEPTION;
    }
    switch (magic) {
    case DEC_FATAL:
        return JS_NewBool(ctx, d->fatal);
    case DEC_IGNORE_BOM:
        return JS_NewBool(ctx, d->ignore_bom);
    default:
        return JS_NewString(ctx, "utf-8");
    }
}

/* Appends code point `cp` as UTF-8 at out[*o] (out NULL: only counts). */
static void emit(uint8_t *out, size_t *o, uint32_t cp) {
    if (cp < 0x80) {
        if (out) {
            out[*o] = (uint8_t)cp;
        }
        *o += 1;
    } else if (cp < 0x800) {
        if (out) {
            out[*o] = (uint8_t)(0xC0 | (cp >> 6));
            out[*o + 1] = (uint8_t)(0x80 | (cp & 0x3F));
        }
        *o += 2;
    } else if (cp < 0x10000) {
        if (out) {
            out[*o] = (uint8_t)(0xE0 | (cp >> 12));
            out[*o + 1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
            out[*o + 2] = (uint8_t)(0x80 | (cp & 0x3F));
        }
        *o += 3;
    } else {
        if (out) {
            out[*o] = (uint8_t)(0xF0 | (cp >> 18));
            out[*o + 1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
            out[*o + 2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
            out[*o + 3] = (uint8_t)(0x80 | (cp & 0x3F));
        }
        *o += 4;
    }
}

/* Emits a decoded code point, dropping a BOM at the start of the stream. */
static void emit_cp(decoder *d, uint8_t *out, size_t *o, uint32_t cp) {
    if (!d->bom_seen) {
        d->bom_seen = true;
        if (cp == 0xFEFF && !d->ignore_bom) {
            return;
        }
    }
    emit(out, o, cp);
}

/*
 * Runs the UTF-8 decoder over in[0..n) from state *d (updated), then flushes unless `stream`.
 * Writes the output to `out` (NULL: only counts) and returns its size in *olen. Returns -1 at
 * the first error when d->fatal (the state is then unspecified).
 */
static int decode_run(decoder *d, const uint8_t *in, size_t n, bool stream, uint8_t *out,
                      size_t *olen) {
    size_t o = 0;
    size_t i = 0;
    while (i < n) {
        uint8_t b = in[i];
        if (d->needed == 0) {
            if (b < 0x80) {
                if (!d->bom_seen) {
                    emit_cp(d, out, &o, b);
                    i++;
                    continue;
                }
                /* a run of ASCII */
                size_t j = i + 1;
                while (j < n && in[j] < 0x80) {
                    j++;
                }
                if (out) {
                    memcpy(out + o, in + i, j - i);
                }
                o += j - i;
                i = j;
                continue;
            }
            if (b >= 0xC2 && b <= 0xDF) {
                d->needed = 1;
                d->cp = b & 0x1F;
            } else if (b >= 0xE0 && b <= 0xEF) {
                if (b == 0xE0) {
                    d->lower = 0xA0;
                } else if (b == 0xED) {
                    d->upper = 0x9F;
                }
                d->needed = 2;
                d->cp = b & 0x0F;
            } else if (b >= 0xF0 && b <= 0xF4) {
                if (b == 0xF0) {
                    d->lower = 0x90;
                } else if (b == 0xF4) {
                    d->upper = 0x8F;
                }
                d->needed = 3;
                d->cp = b & 0x07;
            } else {
                if (d->fatal) {
                    return -1;
                }
                emit_cp(d, out, &o, 0xFFFD);
            }
            i++;
            continue;
        }
        if (b < d->lower || b > d->upper) {
            /* the sequence so far is a maximal subpart: one U+FFFD, then b again */
            d->needed = 0;
            d->seen = 0;
            d->cp = 0;
            d->lower = 0x80;
            d->upper = 0xBF;
            if (d->fatal) {
                return -1;
            }
            emit_cp(d, out, &o, 0xFFFD);
            continue;
        }
        d->lower = 0x80;
        d->upper = 0xBF;
        d->cp = (d->cp << 6) | (b & 0x3F);
        d->seen++;
        i++;
        if (d->seen == d->needed) {
            uint32_t cp = d->cp;
            d->needed = 0;
            d->seen = 0;
            d->cp = 0;
            emit_cp(d, out, &o, cp);
        }
    }
    if (!stream && d->needed != 0) {
        d->needed = 0;
        d->seen = 0;
        d->cp = 0;
        d->lower = 0x80;
        d->upper = 0xBF;
        if (d->fatal) {
            return -1;
        }
        emit_cp(d, out, &o, 0xFFFD);
    }
    *olen = o;
    return 0;
}

void ncsl__js_utf8_decode_replace(const uint8_t *in, size_t n, uint8_t *out, size_t *olen) {
    decoder d = {.ignore_bom = true}; /* "without BOM": a leading U+FEFF is kept */
    decoder_reset(&d);
    decode_run(&d, in, n, false, out, olen); /* not fatal: cannot fail */
}

enum { SRC_NONE, SRC_BUFFER, SRC_TYPED, SRC_VIEW };

/* The bytes of a BufferSource (kind from the type check); a detached buffer gives no bytes, as
 * WebIDL's "get a copy of the bytes held by the buffer source" does. Call only after every
 * conversion that may run user code: the pointer is valid until JS runs again. */
static int source_bytes(JSContext *ctx, JSValueConst v, int kind, const uint8_t **p, size_t *n) {
    *p = NULL;
    *n = 0;
    if (kind == SRC_NONE) {
        return 0;
    }
    if (kind == SRC_BUFFER) {
        size_t len = 0;
        uint8_t *data = JS_GetArrayBuffer(ctx, &len, v);
        if (!data) {
            JS_FreeValue(ctx, JS_GetException(ctx)); /* detached */
            return 0;
        }
        *p = data;
        *n = len;
        return 0;
    }
    size_t off = 0, len = 0;
    JSValue buf = JS_UNDEFINED;
    if (kind == SRC_TYPED) {
        buf = JS_GetTypedArrayBuffer(ctx, v, &off, &len, NULL);
        if (JS_IsException(buf)) {
            JS_FreeValue(ctx, JS_GetException(ctx)); /* detached or out of bounds */
            return 0;
        }
    } else {
        /* no C API for DataView: its getters (user code could have replaced them, so the
         * result is bounds-checked against the buffer below) */
        int64_t o = 0, l = 0;
        JSValue vo = JS_UNDEFINED, vl = JS_UNDEFINED;
        buf = JS_GetPropertyStr(ctx, v, "buffer");
        if (JS_IsException(buf)) {
            return -1;
        }
        vo = JS_GetPropertyStr(ctx, v, "byteOffset");
        vl = JS_IsException(vo) ? JS_UNDEFINED : JS_GetPropertyStr(ctx, v, "byteLength");
        int bad = JS_IsException(vo) || JS_IsException(vl) || JS_ToInt64(ctx, &o, vo) < 0 ||
                  JS_ToInt64(ctx, &l, vl) < 0;
        JS_FreeValue(ctx, vo);
        JS_FreeValue(ctx, vl);
        if (bad) {
            JS_FreeValue(ctx, buf);
            if (ncsl__js_call_is_doomed(ctx)) {
                return -1;
            }
            JS_FreeValue(ctx, JS_GetException(ctx)); /* detached: byteOffset throws */
            return 0;
        }
        if (o < 0 || l < 0) {
            JS_FreeValue(ctx, buf);
            JS_ThrowTypeError(ctx, "TextDecoder.decode: argument 1 is an inconsistent DataView");
            return -1;
        }
        off = (size_t)o;
        len = (size_t)l;
    }
    size_t blen = 0;
    uint8_t *data = JS_GetArrayBuffer(ctx, &blen, buf);
    JS_FreeValue(ctx, buf);
    if (!data) {
        if (ncsl__js_call_is_doomed(ctx)) {
            return -1;
        }
        JS_FreeValue(ctx, JS_GetException(ctx)); /* detached */
        return 0;
    }
    if (off > blen || len > blen - off) {
        JS_ThrowTypeError(ctx, "TextDecoder.decode: argument 1 is an inconsistent DataView");
        return -1;
    }
    *p = data + off;
    *n = len;
    return 0;
}

static JSValue decoder_decode(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    decoder *d = decoder_get(ctx, this_val, "TextDecoder.decode");
    if (!d || charge(ctx, 0) < 0) {
        return JS_EXCEPTION;
    }
    JSValueConst input = argc > 0 ? argv[0] : JS_UNDEFINED;
    JSValueConst opts = argc > 1 ? argv[1] : JS_UNDEFINED;
    int kind = SRC_NONE;
    if (JS_IsUndefined(input)) {
        kind = SRC_NONE;
    } else if (JS_IsArrayBuffer(input)) {
        kind = SRC_BUFFER;
    } else if (JS_GetTypedArrayType(input) >= 0) {
        kind = SRC_TYPED;
    } else if (JS_IsDataView(input)) {
        kind = SRC_VIEW;
    } else {
        size_t len = 0;
        /* a SharedArrayBuffer (no predicate in the C API) */
        if (JS_IsObject(input) && JS_GetArrayBuffer(ctx, &len, input)) {
            kind = SRC_BUFFER;
        } else {
            if (JS_IsObject(input)) {
                JS_FreeValue(ctx, JS_GetException(ctx));
            }
            return JS_ThrowTypeError(ctx, "TextDecoder.decode: argument 1 must be an "
                                          "ArrayBuffer, a view of one or undefined");
        }
    }
    if (!dict_ok(opts)) {
        return JS_ThrowTypeError(ctx, "TextDecoder.decode: argument 2 (options) must be an "
                                      "object");
    }
    bool stream = false;
    if (dict_bool(ctx, opts, "stream", &stream) < 0) {
        return JS_EXCEPTION;
    }
    const uint8_t *p = NULL;
    size_t n = 0;
    if (source_bytes(ctx, input, kind, &p, &n) < 0) {
        return JS_EXCEPTION;
    }
    /* from here no JS runs until the string exists: p stays valid */
    if (ncsl__js_gas_charge(ctx, ncsl__js_gas_bytes(n)) < 0) {
        return JS_EXCEPTION;
    }
    if (!d->do_not_flush) {
        decoder_reset(d);
    }
    d->do_not_flush = stream;
    if (d->needed == 0 && ncsl_utf8_valid(p, n)) {
        size_t skip = 0;
        if (n > 0 && !d->bom_seen) {
            d->bom_seen = true;
            if (!d->ignore_bom && n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
                skip = 3;
            }
        }
        return JS_NewStringLen(ctx, (const char *)p + skip, n - skip);
    }
    decoder probe = *d;
    size_t olen = 0;
    if (decode_run(&probe, p, n, stream, NULL, &olen) < 0) {
        decoder_reset(d);
        d->do_not_flush = false;
        return JS_ThrowTypeError(ctx, "TextDecoder.decode: the data is not valid UTF-8 (fatal "
                                      "is set)");
    }
    uint8_t *out = js_malloc(ctx, olen ? olen : 1);
    if (!out) {
        return JS_EXCEPTION;
    }
    size_t olen2 = 0;
    decode_run(d, p, n, stream, out, &olen2); /* same input and state: same result */
    JSValue str = JS_NewStringLen(ctx, (const char *)out, olen2);
    js_free(ctx, out);
    return str;
}

static const JSCFunctionListEntry g_decoder_proto[] = {
    JS_CFUNC_DEF2("decode", 0, decoder_decode,
                  JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE | JS_PROP_ENUMERABLE),
    JS_PROP_STRING_DEF("[Symbol.toStringTag]", "TextDecoder", JS_PROP_CONFIGURABLE),
};

/* ------------------------------------------------------------------------- lazy globals */
/* The constructor of class `cls` in this context, built on first use (new reference). */
static JSValue build_class(JSContext *ctx, int cls) {
    static const struct {
        const JSCFunctionListEntry *list;
        int count;
        JSCFunction *ctor;
    } defs[CLS_COUNT] = {
        {g_encoder_proto, (int)NCSL_ARRAY_LEN(g_encoder_proto), (JSCFunction *)encoder_ctor},
        {g_decoder_proto, (int)NCSL_ARRAY_LEN(g_decoder_proto), (JSCFunction *)decoder_ctor},
    };
    if (ncsl__js_slot_ensure(ctx, &g_slot_id[cls], g_names[cls]) < 0) {
        return JS_EXCEPTION;
    }
    JSValue ctor = ncsl__js_slot_get(ctx, g_slot_id[cls]);
    if (JS_IsObject(ctor)) {
        return ctor;
    }
    JS_FreeValue(ctx, ctor);
    if (ncsl__js_class_ensure(ctx, &g_class_id[cls], &g_class_defs[cls]) < 0) {
        return JS_EXCEPTION;
    }
    JSValue proto = JS_NewObject(ctx);
    if (JS_IsException(proto)) {
        return proto;
    }
    int r = JS_SetPropertyFunctionList(ctx, proto, defs[cls].list, defs[cls].count);
    if (r == 0 && cls == CLS_ENCODER) {
        r = ncsl__js_define_getter(ctx, proto, "encoding", encoder_encoding, 0);
    } else if (r == 0) {
        r = ncsl__js_define_getter(ctx, proto, "encoding", decoder_prop, DEC_ENCODING);
        r = r < 0 ? r : ncsl__js_define_getter(ctx, proto, "fatal", decoder_prop, DEC_FATAL);
        r = r < 0 ? r
                  : ncsl__js_define_getter(ctx, proto, "ignoreBOM", decoder_prop, DEC_IGNORE_BOM);
    }
    if (r < 0) {
        JS_FreeValue(ctx, proto);
        return JS_EXCEPTION;
    }
    ctor = JS_NewCFunction2(ctx, defs[cls].ctor, g_names[cls], 0, JS_CFUNC_constructor, 0);
    if (JS_IsException(ctor) || JS_SetConstructor(ctx, ctor, proto) < 0) {
        JS_FreeValue(ctx, ctor);
        JS_FreeValue(ctx, proto);
        return JS_EXCEPTION;
    }
    JS_SetClassProto(ctx, g_class_id[cls], proto); /* takes proto */
    ncsl__js_slot_set(ctx, g_slot_id[cls], JS_DupValue(ctx, ctor));
    return ctor;
}

static JSValue lazy_get(JSContext *ctx, JSValueConst this_val, int magic) {
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL) < 0) {
        return JS_EXCEPTION;
    }
    return ncsl__js_lazy_resolved(ctx, this_val, g_names[magic], build_class(ctx, magic));
}

static JSValue lazy_set(JSContext *ctx, JSValueConst this_val, JSValueConst v, int magic) {
    return ncsl__js_lazy_assigned(ctx, this_val, g_names[magic], v);
}

int ncsl__js_encoding_init(JSContext *ctx, JSValue global) {
    for (int i = 0; i < CLS_COUNT; i++) {
        if (ncsl__js_lazy_define(ctx, global, g_names[i], lazy_get, lazy_set, i) < 0) {
            return -1;
        }
    }
    return 0;
}
