// expect: {"bytes":[104,195,169,240,159,152,128,239,191,189],"round":"hé😀","into":{"read":2,"written":3},"replaced":"a\ufffd\ufffd\ufffdb","stream":"€€","fatal":"TypeError"}
// TextEncoder/TextDecoder: UTF-8 bytes, a lone surrogate as U+FFFD, encodeInto stopping before
// a character that does not fit, maximal-subpart replacement, streaming across a split
// character, and fatal mode throwing a TypeError.
function main() {
    const enc = new TextEncoder();
    const dec = new TextDecoder();
    const bytes = enc.encode("hé😀\ud800");
    const round = dec.decode(enc.encode("hé😀"));
    const into = enc.encodeInto("hé😀", new Uint8Array(4));
    const replaced = dec.decode(new Uint8Array([0x61, 0xe0, 0x80, 0xbf, 0x62]));
    const s = new TextDecoder();
    const euro = [0xe2, 0x82, 0xac, 0xe2, 0x82, 0xac];
    let stream = "";
    for (const b of euro) stream += s.decode(new Uint8Array([b]), { stream: true });
    stream += s.decode();
    let fatal = "none";
    try {
        new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array([0xff]));
    } catch (e) {
        fatal = e.name;
    }
    return { bytes: Array.from(bytes), round, into: { read: into.read, written: into.written }, replaced, stream, fatal };
}
